import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFLECTED_HEADERS } from '../../src/protocols.js';
import {
  HttpRequestParser,
  MAX_HEAD_BYTES,
  METHOD_GET,
  METHOD_HEAD,
  type HttpRequestSink,
  type RequestHead,
} from '../../src/workloads/http-server-parser.js';

interface ParsedRequest {
  method: number;
  minorVersion: number;
  query: string;
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  upgradeWebsocket: boolean;
  connectionUpgrade: boolean;
  expectContinue: boolean;
  websocketKey: string;
  websocketVersion: number;
  websocketProtocol: string;
  reflected: [string, string][];
  body: string;
}

/** Records what the parser reports, as plain data to compare. */
class Recorder implements HttpRequestSink {
  readonly requests: ParsedRequest[] = [];
  readonly errors: number[] = [];
  private current: ParsedRequest | undefined;
  private bodyParts: Buffer[] = [];

  onRequestHead(head: RequestHead): boolean {
    const reflected: [string, string][] = [];
    for (let i = 0; i < head.reflectCount; i++) {
      const [name, start, end] = [head.reflectEntries[3 * i]!, head.reflectEntries[3 * i + 1]!, head.reflectEntries[3 * i + 2]!];
      reflected.push([REFLECTED_HEADERS[name]!, head.reflectValues.bytes.toString('latin1', start, end)]);
    }
    this.current = {
      method: head.method,
      minorVersion: head.minorVersion,
      query: head.query.bytes.toString('latin1', 0, head.query.length),
      contentLength: head.contentLength,
      chunked: head.chunked,
      keepAlive: head.keepAlive,
      upgradeWebsocket: head.upgradeWebsocket,
      connectionUpgrade: head.connectionUpgrade,
      expectContinue: head.expectContinue,
      websocketKey: head.websocketKey.bytes.toString('latin1', 0, head.websocketKey.length),
      websocketVersion: head.websocketVersion,
      websocketProtocol: head.websocketProtocol.bytes.toString('latin1', 0, head.websocketProtocol.length),
      reflected,
      body: '',
    };
    this.bodyParts = [];
    return true;
  }

  onRequestBody(chunk: Buffer, start: number, end: number): void {
    this.bodyParts.push(Buffer.from(chunk.subarray(start, end)));
  }

  onRequestComplete(): boolean {
    const current = this.current!;
    current.body = Buffer.concat(this.bodyParts).toString('latin1');
    this.requests.push(current);
    return true;
  }

  onRequestError(status: number): void {
    this.errors.push(status);
  }
}

function parseAll(bytes: Buffer, cuts: number[] = []): Recorder {
  const recorder = new Recorder();
  const parser = new HttpRequestParser(recorder);
  let from = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
    // Each piece is its own Buffer, as socket reads are.
    const piece = Buffer.from(bytes.subarray(from, cut));
    expect(parser.execute(piece, 0)).toBe(piece.length);
    from = cut;
  }
  return recorder;
}

const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const token = fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,12}$/);

/** A request in wire form, and the framing it uses. */
const requestArb = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'PATCH'),
    path: fc.stringMatching(/^\/[a-z0-9/]{0,12}$/),
    query: fc.option(fc.stringMatching(/^[a-zA-Z0-9=&]{0,20}$/), { nil: undefined }),
    reflected: fc.array(fc.tuple(fc.constantFrom(...REFLECTED_HEADERS), headerValue, fc.boolean()), { maxLength: 4 }),
    extra: fc.array(fc.tuple(token, headerValue), { maxLength: 3 }),
    body: fc.string({ maxLength: 300 }),
    chunked: fc.boolean(),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 6 }),
    close: fc.boolean(),
  })
  .map((r) => {
    const body = Buffer.from(r.body, 'latin1');
    const lines = [`${r.method} ${r.path}${r.query === undefined ? '' : '?' + r.query} HTTP/1.1`, 'Host: example'];
    for (const [name, value, upper] of r.reflected) lines.push(`${upper ? name.toUpperCase() : name}:  ${value} `);
    for (const [name, value] of r.extra) lines.push(`x-${name}: ${value}`);
    if (r.close) lines.push('Connection: close');
    let framed: Buffer;
    if (r.chunked) {
      lines.push('Transfer-Encoding: chunked');
      const parts: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < body.length; i++) {
        const size = Math.min(r.chunkSizes[i % r.chunkSizes.length]!, body.length - at);
        parts.push(Buffer.from(`${size.toString(16)}${i % 2 === 1 ? ';ext=1' : ''}\r\n`), body.subarray(at, at + size), Buffer.from('\r\n'));
        at += size;
      }
      parts.push(Buffer.from('0\r\nx-trailer: t\r\n\r\n'));
      framed = Buffer.concat(parts);
    } else {
      if (body.length > 0) lines.push(`Content-Length: ${body.length}`);
      framed = body;
    }
    const wire = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), framed]);
    const expected = {
      reflected: r.reflected.map(([name, value]) => [name, value] as [string, string]),
      body: body.toString('latin1'),
      query: r.query ?? '',
      keepAlive: !r.close,
    };
    return { wire, expected };
  });

describe('HttpRequestParser', () => {
  it('split anywhere, pipelined requests parse the same as in one piece', () => {
    fc.assert(
      fc.property(
        fc.array(requestArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (requests, cutSeeds) => {
          const wire = Buffer.concat(requests.map((r) => r.wire));
          const whole = parseAll(wire);
          expect(whole.errors).toEqual([]);
          expect(whole.requests.map((r) => ({ reflected: r.reflected, body: r.body, query: r.query, keepAlive: r.keepAlive }))).toEqual(
            requests.map((r) => r.expected),
          );
          const split = parseAll(wire, cutSeeds.map((seed) => seed % (wire.length + 1)));
          expect(split.requests).toEqual(whole.requests);
          expect(split.errors).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('byte-at-a-time parses the same as in one piece', () => {
    const wire = Buffer.from(
      'POST /a?size=3 HTTP/1.1\r\nTraceparent: 00-1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
        'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    );
    const cuts = Array.from({ length: wire.length }, (_, i) => i);
    expect(parseAll(wire, cuts).requests).toEqual(parseAll(wire).requests);
  });

  const headCases: { name: string; wire: string; want: Partial<ParsedRequest> }[] = [
    { name: 'GET', wire: 'GET / HTTP/1.1\r\n\r\n', want: { method: METHOD_GET, keepAlive: true, contentLength: -1 } },
    { name: 'HEAD', wire: 'HEAD / HTTP/1.1\r\n\r\n', want: { method: METHOD_HEAD } },
    { name: 'lower-case get is another method', wire: 'get / HTTP/1.1\r\n\r\n', want: { method: 2 } },
    { name: 'HTTP/1.0 closes by default', wire: 'GET / HTTP/1.0\r\n\r\n', want: { minorVersion: 0, keepAlive: false } },
    { name: 'HTTP/1.0 keep-alive', wire: 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', want: { keepAlive: true } },
    { name: 'Connection: close', wire: 'GET / HTTP/1.1\r\nconnection: foo, CLOSE\r\n\r\n', want: { keepAlive: false } },
    { name: 'query stops at #', wire: 'GET /p?size=1#frag HTTP/1.1\r\n\r\n', want: { query: 'size=1' } },
    { name: 'bare LF line ends', wire: 'GET / HTTP/1.1\nx-request-id: r\n\n', want: { reflected: [['x-request-id', 'r']] } },
    { name: 'empty lines before a request', wire: '\r\n\r\nGET / HTTP/1.1\r\n\r\n', want: { method: METHOD_GET } },
    { name: 'Expect: 100-continue', wire: 'POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n', want: { expectContinue: true } },
    { name: 'same Content-Length twice', wire: 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx', want: { body: 'x' } },
    { name: 'gzip, chunked', wire: 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', want: { chunked: true } },
    {
      name: 'websocket handshake',
      wire: 'GET /ws HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: k==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n',
      want: { upgradeWebsocket: true, connectionUpgrade: true, websocketKey: 'k==', websocketVersion: 13, websocketProtocol: 'chat' },
    },
  ];

  it.each(headCases)('head: $name', ({ wire, want }) => {
    const recorder = parseAll(Buffer.from(wire, 'latin1'));
    expect(recorder.errors).toEqual([]);
    expect(recorder.requests).toHaveLength(1);
    expect(recorder.requests[0]).toMatchObject(want);
  });

  const errorCases: { name: string; wire: string; status: number }[] = [
    { name: 'no version', wire: 'GET /\r\n\r\n', status: 400 },
    { name: 'HTTP/2 preface', wire: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 400 },
    { name: 'two spaces', wire: 'GET  / HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'space before colon', wire: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: 400 },
    { name: 'obs-fold', wire: 'GET / HTTP/1.1\r\nx-a: 1\r\n  2\r\n\r\n', status: 400 },
    { name: 'bad Content-Length', wire: 'POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n', status: 400 },
    { name: 'negative Content-Length', wire: 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', status: 400 },
    { name: 'conflicting Content-Length', wire: 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', status: 400 },
    { name: 'CL with chunked', wire: 'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', status: 400 },
    { name: 'TE not ending in chunked', wire: 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', status: 400 },
    { name: 'bad chunk size', wire: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', status: 400 },
    { name: 'chunk data too long', wire: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n', status: 400 },
    { name: 'NUL in a value', wire: 'GET / HTTP/1.1\r\nx-a: a\0b\r\n\r\n', status: 400 },
    { name: 'head over the limit', wire: `GET / HTTP/1.1\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, status: 431 },
    { name: 'endless head without a line end', wire: 'GET / HTTP/1.1\r\nx-big: ' + 'a'.repeat(MAX_HEAD_BYTES + 10), status: 431 },
  ];

  it.each(errorCases)('error: $name → $status, once, then input is ignored', ({ wire, status }) => {
    const bytes = Buffer.from(wire + 'GET / HTTP/1.1\r\n\r\n', 'latin1');
    for (const cuts of [[], [7, 20, 40]]) {
      const recorder = parseAll(bytes, cuts);
      expect(recorder.errors).toEqual([status]);
      expect(recorder.requests).toEqual([]);
    }
  });

  it('a sink returning false stops after the request, and execute() resumes from there', () => {
    const recorder = new Recorder();
    const pausing: HttpRequestSink = {
      onRequestHead: (head) => recorder.onRequestHead(head),
      onRequestBody: (chunk, start, end) => recorder.onRequestBody(chunk, start, end),
      onRequestComplete: () => {
        recorder.onRequestComplete();
        return false;
      },
      onRequestError: (status) => recorder.onRequestError(status),
    };
    const parser = new HttpRequestParser(pausing);
    const wire = Buffer.from('POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET /?x HTTP/1.1\r\n\r\n');
    const first = parser.execute(wire, 0);
    expect(first).toBe(wire.indexOf('GET'));
    expect(parser.execute(wire, first)).toBe(wire.length);
    expect(recorder.requests.map((r) => [r.body, r.query])).toEqual([
      ['ab', ''],
      ['', 'x'],
    ]);
  });

  it('a sink stopping at a head (an upgrade) gets the offset just past it: the rest is not HTTP', () => {
    const recorder = new Recorder();
    const parser = new HttpRequestParser({ ...bind(recorder), onRequestHead: () => false });
    const wire = Buffer.from('GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x82\x85frame');
    expect(parser.execute(wire, 0)).toBe(wire.indexOf('\x82'));
    const next = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(parser.execute(next, 0)).toBe(next.length); // ignored from then on
    expect(recorder.requests).toEqual([]);
  });
});

function bind(recorder: Recorder): HttpRequestSink {
  return {
    onRequestHead: (head) => recorder.onRequestHead(head),
    onRequestBody: (chunk, start, end) => recorder.onRequestBody(chunk, start, end),
    onRequestComplete: () => recorder.onRequestComplete(),
    onRequestError: (status) => recorder.onRequestError(status),
  };
}
