import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Http1ResponseParser, MAX_LINE_BYTES, type Http1ParserHandler } from '../../src/drivers/http1-parser.js';

/** Records what the parser reported: `200`, `200!` (keep-alive false) or `error`. */
class Recorder implements Http1ParserHandler {
  readonly events: string[] = [];
  onParsedResponse(status: number, keepAlive: boolean): void {
    this.events.push(keepAlive ? String(status) : `${status}!`);
  }
  onParseError(): void {
    this.events.push('error');
  }
}

function parse(chunks: readonly (string | Buffer)[], eof = false): string[] {
  const recorder = new Recorder();
  const parser = new Http1ResponseParser(recorder);
  for (const chunk of chunks) parser.execute(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  if (eof) parser.finish();
  return recorder.events;
}

/** Every split of `text` into single bytes gives the same result as the whole. */
function parseBytewise(text: string, eof = false): string[] {
  return parse([...text], eof);
}

const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

describe('Http1ResponseParser — table', () => {
  const cases: { name: string; input: string; eof?: boolean; expected: string[] }[] = [
    { name: 'content-length body', input: ok, expected: ['200'] },
    { name: 'two responses in one chunk', input: ok + ok, expected: ['200', '200'] },
    { name: 'empty body', input: 'HTTP/1.1 204 No Content\r\n\r\n', expected: ['204'] },
    { name: '304 without body despite length', input: 'HTTP/1.1 304 NM\r\nContent-Length: 10\r\n\r\n', expected: ['304'] },
    { name: 'content-length 0', input: 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', expected: ['200'] },
    { name: 'no reason phrase', input: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', expected: ['200'] },
    { name: 'status 500', input: 'HTTP/1.1 500 Internal\r\nContent-Length: 2\r\n\r\nno', expected: ['500'] },
    { name: 'bare LF line ends', input: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', expected: ['200'] },
    {
      name: 'chunked with extensions and trailers',
      input:
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value\r\nhello\r\n1A ; x="y"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\nx-other: 2\r\n\r\n',
      expected: ['200'],
    },
    {
      name: 'chunked wins over content-length',
      input: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      expected: ['200'],
    },
    { name: 'connection: close', input: 'HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n', expected: ['200!'] },
    {
      name: 'connection token list',
      input: 'HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n',
      expected: ['200!'],
    },
    { name: 'HTTP/1.0 default close', input: 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', expected: ['200!'] },
    {
      name: 'HTTP/1.0 keep-alive',
      input: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n',
      expected: ['200'],
    },
    { name: 'interim 100 skipped', input: 'HTTP/1.1 100 Continue\r\n\r\n' + ok, expected: ['200'] },
    { name: 'body until close', input: 'HTTP/1.1 200 OK\r\n\r\nsome body', eof: true, expected: ['200!'] },
    { name: 'body until close, no eof yet', input: 'HTTP/1.1 200 OK\r\n\r\nsome body', expected: [] },
    { name: 'non-chunked transfer-encoding reads to close', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz', eof: true, expected: ['200!'] },
    { name: 'obs-fold ignored', input: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n', expected: ['200'] },
    { name: 'incomplete body', input: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', expected: [] },
    // malformed
    { name: 'not HTTP', input: 'HTXP/1.1 200 OK\r\n\r\n', expected: ['error'] },
    { name: 'HTTP/2 status line', input: 'HTTP/2 200 OK\r\n\r\n', expected: ['error'] },
    { name: 'status not a number', input: 'HTTP/1.1 2x0 OK\r\n\r\n', expected: ['error'] },
    { name: 'status too long', input: 'HTTP/1.1 2000 OK\r\n\r\n', expected: ['error'] },
    { name: 'header without colon', input: 'HTTP/1.1 200 OK\r\nnocolon\r\n\r\n', expected: ['error'] },
    { name: 'space before colon', input: 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n', expected: ['error'] },
    { name: 'bad content-length', input: 'HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n', expected: ['error'] },
    {
      name: 'conflicting content-lengths',
      input: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      expected: ['error'],
    },
    {
      name: 'bad chunk size',
      input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      expected: ['error'],
    },
    {
      name: 'chunk data longer than its size',
      input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
      expected: ['error'],
    },
    { name: 'unexpected 101', input: 'HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n\r\n', expected: ['error'] },
    { name: 'error reported once, then silence', input: 'garbage\r\n' + ok, expected: ['error'] },
  ];

  for (const c of cases) {
    it(`${c.name} (whole)`, () => expect(parse([c.input], c.eof)).toEqual(c.expected));
    it(`${c.name} (byte by byte)`, () => expect(parseBytewise(c.input, c.eof)).toEqual(c.expected));
  }

  it('rejects a line longer than MAX_LINE_BYTES, split or not', () => {
    const long = `HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(MAX_LINE_BYTES)}\r\n\r\n`;
    expect(parse([long])).toEqual(['error']);
    expect(parse([long.slice(0, 100), long.slice(100)])).toEqual(['error']);
  });

  it('reset() forgets a partial response and a previous error', () => {
    const recorder = new Recorder();
    const parser = new Http1ResponseParser(recorder);
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'));
    parser.reset();
    parser.execute(Buffer.from(ok)); // parsed from its first byte: the partial header line is gone
    parser.execute(Buffer.from('junk\r\n'));
    parser.reset();
    parser.execute(Buffer.from(ok));
    expect(recorder.events).toEqual(['200', 'error', '200']);
  });

  it('reads only buf[0, end) of a reused read buffer, and keeps a partial line across reuse', () => {
    // The driver reads every socket into one buffer: stale bytes after `end` must not be parsed, and a
    // line split across reads must survive the buffer being overwritten by the next read.
    const recorder = new Recorder();
    const parser = new Http1ResponseParser(recorder);
    const shared = Buffer.alloc(256, 'Z');
    const put = (text: string): number => shared.write(text, 0, 'latin1');
    const cut = ok.indexOf('Length') + 3;
    parser.execute(shared, put(ok.slice(0, cut)));
    shared.fill('Z');
    parser.execute(shared, put(ok.slice(cut)));
    parser.execute(shared, put(ok));
    expect(recorder.events).toEqual(['200', '200']);
  });

  it('stops reading the chunk when a callback resets the parser', () => {
    const events: number[] = [];
    const parser: Http1ResponseParser = new Http1ResponseParser({
      onParsedResponse(status) {
        events.push(status);
        parser.reset();
      },
      onParseError() {
        events.push(-1);
      },
    });
    parser.execute(Buffer.from(ok + ok));
    expect(events).toEqual([200]);
  });
});

// ---- property-based ---------------------------------------------------------------------------------

interface ResponseSpec {
  status: number;
  chunked: boolean;
  body: Uint8Array;
  chunkSizes: number[];
  extension: boolean;
  trailers: boolean;
  upperCaseNames: boolean;
  close: boolean;
}

const responseArb: fc.Arbitrary<ResponseSpec> = fc.record({
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  chunked: fc.boolean(),
  body: fc.uint8Array({ maxLength: 300 }),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
  extension: fc.boolean(),
  trailers: fc.boolean(),
  upperCaseNames: fc.boolean(),
  close: fc.boolean(),
});

function serialize(r: ResponseSpec, last: boolean): Buffer {
  const name = (n: string): string => (r.upperCaseNames ? n.toUpperCase() : n);
  const close = r.close && last ? `${name('Connection')}: close\r\n` : '';
  const body = Buffer.from(r.body);
  if (!r.chunked) {
    const head = `HTTP/1.1 ${r.status} Reason\r\nX-Filler: a:b\r\n${name('Content-Length')}: ${body.length}\r\n${close}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }
  const parts: Buffer[] = [
    Buffer.from(`HTTP/1.1 ${r.status} Reason\r\n${name('Transfer-Encoding')}: chunked\r\n${close}\r\n`, 'latin1'),
  ];
  let offset = 0;
  let i = 0;
  while (offset < body.length) {
    const size = Math.min(r.chunkSizes[i % r.chunkSizes.length] ?? 1, body.length - offset);
    parts.push(Buffer.from(`${size.toString(16)}${r.extension ? ';ext=1' : ''}\r\n`, 'latin1'));
    parts.push(body.subarray(offset, offset + size), Buffer.from('\r\n'));
    offset += size;
    i++;
  }
  parts.push(Buffer.from(`0\r\n${r.trailers ? 'x-trailer: v\r\n' : ''}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

/** How to cut the wire bytes: at fractional positions, or into pieces of `every` bytes. */
type Cuts = number[] | { every: number };

function split(bytes: Buffer, cuts: Cuts): Buffer[] {
  if (!Array.isArray(cuts)) {
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += cuts.every) pieces.push(bytes.subarray(i, i + cuts.every));
    return pieces;
  }
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const cutsArb: fc.Arbitrary<Cuts> = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
  fc.record({ every: fc.integer({ min: 1, max: 7 }) }),
);

describe('Http1ResponseParser — properties', () => {
  it('reports exactly the responses sent, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(responseArb, { minLength: 1, maxLength: 6 }), cutsArb, (responses, cuts) => {
        const wire = Buffer.concat(responses.map((r, i) => serialize(r, i === responses.length - 1)));
        const expected = responses.map((r, i) =>
          r.close && i === responses.length - 1 ? `${r.status}!` : String(r.status),
        );
        expect(parse(split(wire, cuts))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('reports an error (and nothing else) for input that does not start with a status line', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), cutsArb, (garbage, cuts) => {
        const bytes = Buffer.concat([Buffer.from(garbage), Buffer.from('\r\n\r\n')]);
        // Empty lines before a status line are tolerated, so start with something else.
        fc.pre(garbage[0] !== 10 && garbage[0] !== 13 && !bytes.toString('latin1').startsWith('HTTP/1.'));
        expect(parse(split(bytes, cuts))).toEqual(['error']);
      }),
      { numRuns: 300 },
    );
  });

  it('reports the valid responses before a corrupted chunk size, then an error', () => {
    fc.assert(
      fc.property(fc.array(responseArb, { maxLength: 3 }), cutsArb, (responses, cuts) => {
        const valid = responses.map((r) => ({ ...r, close: false }));
        const bad = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ng0\r\n', 'latin1');
        const wire = Buffer.concat([...valid.map((r) => serialize(r, false)), bad]);
        expect(parse(split(wire, cuts))).toEqual([...valid.map((r) => String(r.status)), 'error']);
      }),
      { numRuns: 300 },
    );
  });
});
