import type { MethodDefinition } from '@grpc/grpc-js';
import { ECHO_STREAM_PATH, ECHO_UNARY_PATH, type EchoRequest } from '../echo-proto.js';

/**
 * The gRPC echo's wire codec, by hand instead of protobufjs (proto/echo.proto is the contract and stays as
 * it is; clients keep using the generated one). EchoRequest is three fields and EchoReply one, so decoding
 * is a loop over tags and encoding one allocation: protobufjs builds a Reader, a Writer with an operation
 * list and intermediate objects per message, which showed up as most of the gRPC echo's own garbage.
 * The server hands grpc-js the encoded reply as a Buffer (identity response serializer).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** A truncated or malformed message; grpc-js ends the call with INTERNAL, as for a protobufjs decode error. */
class EchoDecodeError extends Error {
  constructor(what: string) {
    super(`meshbench echo: malformed EchoRequest (${what})`);
    this.name = 'EchoDecodeError';
  }
}

/** Decodes an EchoRequest; `payload` is a view of `bytes` (no copy), as protobufjs gives for `bytes: Buffer`. */
export function decodeEchoRequest(bytes: Buffer): EchoRequest {
  const request: EchoRequest = { payload: EMPTY, response_size: 0, delay_ms: 0 };
  let at = 0;
  while (at < bytes.length) {
    const key = readVarint(bytes, at);
    at = varintEnd;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === WIRE_VARINT) {
      const value = readVarint(bytes, at);
      at = varintEnd;
      if (field === 2) request.response_size = value;
      else if (field === 3) request.delay_ms = value;
    } else if (wire === WIRE_LENGTH) {
      const length = readVarint(bytes, at);
      at = varintEnd;
      if (at + length > bytes.length) throw new EchoDecodeError('length past the end');
      if (field === 1) request.payload = bytes.subarray(at, at + length);
      at += length;
    } else if (wire === WIRE_FIXED64) {
      at += 8;
    } else if (wire === WIRE_FIXED32) {
      at += 4;
    } else {
      throw new EchoDecodeError(`wire type ${wire}`);
    }
  }
  if (at > bytes.length) throw new EchoDecodeError('truncated');
  return request;
}

const EMPTY = Buffer.alloc(0);
/** Where the last readVarint() stopped; a module variable so reading a varint returns no pair object. */
let varintEnd = 0;

/** A varint's low 32 bits as an unsigned number (uint32 fields; longer varints are truncated as protobuf does). */
function readVarint(bytes: Buffer, start: number): number {
  let value = 0;
  let at = start;
  for (let shift = 0; ; shift += 7) {
    if (at >= bytes.length) throw new EchoDecodeError('truncated varint');
    const byte = bytes[at++]!;
    if (shift < 32) value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
    if (shift >= 63) throw new EchoDecodeError('varint too long');
  }
  varintEnd = at;
  return value % 2 ** 32;
}

/** Encodes EchoReply { payload } (an empty payload encodes as the empty message, as proto3 does). */
export function encodeEchoReply(payload: Buffer): Buffer {
  const length = payload.length;
  if (length === 0) return EMPTY;
  let lengthBytes = 1;
  while (length >= 2 ** (7 * lengthBytes)) lengthBytes++;
  const out = Buffer.allocUnsafe(1 + lengthBytes + length);
  out[0] = (1 << 3) | WIRE_LENGTH;
  let rest = length;
  let at = 1;
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  payload.copy(out, at);
  return out;
}

function identity(bytes: Buffer): Buffer {
  return bytes;
}

function unused(): never {
  throw new Error('meshbench echo: the server-side echo definition is not for clients');
}

/** The Echo service for the server: hand codec in, pre-encoded replies out. */
export const ECHO_SERVER_DEFINITION: {
  Echo: MethodDefinition<EchoRequest, Buffer>;
  EchoStream: MethodDefinition<EchoRequest, Buffer>;
} = {
  Echo: {
    path: ECHO_UNARY_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: unused,
    requestDeserialize: decodeEchoRequest,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
  EchoStream: {
    path: ECHO_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: unused,
    requestDeserialize: decodeEchoRequest,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
