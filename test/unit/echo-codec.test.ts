import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEchoRequest, encodeEchoReply } from '../../src/workloads/echo-codec.js';
import { loadEchoProto } from '../../src/echo-proto.js';

/** The hand codec against the protobufjs one that clients use (proto/echo.proto). */
describe('echo codec', () => {
  const service = loadEchoProto().service;

  it('decodes whatever protobufjs encodes as an EchoRequest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1), (payload, size, delay) => {
        const request = { payload: Buffer.from(payload), response_size: size, delay_ms: delay };
        const decoded = decodeEchoRequest(service.Echo.requestSerialize(request));
        expect(decoded.response_size).toBe(size);
        expect(decoded.delay_ms).toBe(delay);
        expect(Buffer.compare(decoded.payload, request.payload)).toBe(0);
      }),
    );
  });

  it('encodes replies protobufjs decodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), (payload) => {
        const reply = service.EchoStream.responseDeserialize(encodeEchoReply(Buffer.from(payload)));
        expect(Buffer.compare(reply.payload, Buffer.from(payload))).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    { name: 'unknown fields are skipped', bytes: [0x20, 0x05, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x01, 0x41], payload: 'A' },
    { name: 'empty message', bytes: [], payload: '' },
  ])('$name', ({ bytes, payload }) => {
    expect(decodeEchoRequest(Buffer.from(bytes)).payload.toString()).toBe(payload);
  });

  it.each([
    { name: 'length past the end', bytes: [0x0a, 0x05, 0x41] },
    { name: 'truncated varint', bytes: [0x10, 0x80] },
    { name: 'wire type 3', bytes: [0x0b] },
  ])('malformed: $name throws', ({ bytes }) => {
    expect(() => decodeEchoRequest(Buffer.from(bytes))).toThrow(/malformed EchoRequest/);
  });
});
