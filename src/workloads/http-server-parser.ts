import {
  COLON,
  COMMA,
  CR,
  equalsLower,
  forEachToken,
  HTTP_1_PREFIX,
  isOws,
  LF,
  parseChunkSize,
  parseDecimal,
  readConnectionToken,
  SP,
  TOKEN_CHUNKED,
} from '../http1-syntax.js';
import { REFLECTED_HEADERS } from '../protocols.js';
import { ByteBuffer } from './bytes.js';
import { MAX_REFLECTED_LINES, METHOD_GET, METHOD_HEAD, RequestHead } from './http-request-head.js';

export { METHOD_GET, METHOD_HEAD, METHOD_OTHER, RequestHead } from './http-request-head.js';

/**
 * Incremental HTTP/1.x request parser for the echo, one per connection, reused for every request on it
 * (the server-side sibling of src/drivers/http1-parser.ts).
 *
 * Bytes may arrive split at any point and several requests may arrive in one chunk (pipelining). The
 * parser reads the Buffer in place and keeps only what the echo answers with, copied into buffers it owns:
 * the query bytes, the framing (Content-Length, or Transfer-Encoding: chunked with extensions and
 * trailers), Connection tokens, Expect: 100-continue, the websocket handshake headers and the values of
 * the reflected headers. No strings and no objects per request; errors build their message string.
 *
 * Contract: `execute()` calls the sink, in order, `onRequestHead` once per request, `onRequestBody` for each
 * body piece (chunked framing removed; the bytes are only valid during the call), and `onRequestComplete`.
 * Either of the first and last may return false to stop: `execute()` then returns the offset just past what
 * was consumed (past the head, or past the whole request), and the caller resumes with the rest later (a
 * delayed reply) or hands it to another protocol (a websocket upgrade). Malformed input calls
 * `onRequestError` once (400; 431 for a head over MAX_HEAD_BYTES) and the parser ignores all further input.
 */
export interface HttpRequestSink {
  onRequestHead(head: RequestHead): boolean;
  onRequestBody(chunk: Buffer, start: number, end: number): void;
  onRequestComplete(head: RequestHead): boolean;
  onRequestError(status: number, message: string): void;
}

/** Largest request head (request line + headers), and largest trailer section, accepted. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Chunk sizes with more hex digits than this are malformed (2^48 bytes is beyond any limit we enforce). */
const MAX_CHUNK_SIZE_DIGITS = 12;

const S_REQUEST_LINE = 0;
const S_HEADER = 1;
const S_BODY_LENGTH = 2; // `remaining` bytes of a Content-Length body
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4; // `remaining` bytes of the current chunk
const S_CHUNK_DATA_END = 5; // the empty line after chunk data
const S_TRAILER = 6;
const S_DEAD = 7; // after malformed input
const S_STOPPED = 8; // the sink stopped at a head (upgrade, refusal): the rest of the input is not HTTP

const QUESTION = 63;
const HASH = 35;

const H_CONTENT_LENGTH = 0;
const H_TRANSFER_ENCODING = 1;
const H_CONNECTION = 2;
const H_UPGRADE = 3;
const H_EXPECT = 4;
const H_WS_KEY = 5;
const H_WS_VERSION = 6;
const H_WS_PROTOCOL = 7;
const H_REFLECT_BASE = 8;

/** Header names the echo reads, bucketed by length so a lookup compares against one or two words. */
const NAMES_BY_LENGTH: { word: Buffer; id: number }[][] = [];
[
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'expect',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  ...REFLECTED_HEADERS,
].forEach((name, id) => (NAMES_BY_LENGTH[name.length] ??= []).push({ word: Buffer.from(name, 'latin1'), id }));

const WORD_GET = Buffer.from('GET', 'latin1');
const WORD_HEAD = Buffer.from('HEAD', 'latin1');
const WORD_UPGRADE = Buffer.from('upgrade', 'latin1');
const WORD_WEBSOCKET = Buffer.from('websocket', 'latin1');
const WORD_100_CONTINUE = Buffer.from('100-continue', 'latin1');

/** RFC 9110 tchar: the bytes a method or header name may hold. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/*
 * Why the chunked decoding is not one class shared with the generator's response parser: only the
 * chunk-size line is read the same way (parseChunkSize in src/http1-syntax.ts). Here every data piece goes to
 * the sink, each section (head, chunk-size line, trailers) is counted with its line ends against
 * MAX_HEAD_BYTES, errors are answered with a status and a message, and the sink may stop mid-stream; the
 * generator skips data, limits lines one by one and only reports that the input was malformed.
 */

export class HttpRequestParser {
  readonly head = new RequestHead();
  private state = S_REQUEST_LINE;
  /** A line split across chunks; grown on demand (rarely), so idle connections stay small. */
  private readonly partial = new ByteBuffer(128);
  /** Bytes of the current head, trailer section or chunk-size line, against MAX_HEAD_BYTES. */
  private sectionBytes = 0;
  private remaining = 0;

  constructor(private readonly sink: HttpRequestSink) {}

  /** Parses chunk[start..]; returns how far it got (chunk.length unless a sink callback stopped it). */
  execute(chunk: Buffer, start: number): number {
    let at = start;
    const end = chunk.length;
    while (at < end) {
      const state = this.state;
      if (state === S_BODY_LENGTH || state === S_CHUNK_DATA) {
        const take = Math.min(this.remaining, end - at);
        this.sink.onRequestBody(chunk, at, at + take);
        at += take;
        this.remaining -= take;
        if (this.remaining > 0) continue;
        if (state === S_CHUNK_DATA) this.state = S_CHUNK_DATA_END;
        else if (!this.complete()) return at;
        continue;
      }
      if (state === S_DEAD || state === S_STOPPED) return end;
      const lf = chunk.indexOf(LF, at);
      const lineEnd = lf === -1 ? end : lf;
      this.sectionBytes += lineEnd - at + 1;
      if (this.sectionBytes > MAX_HEAD_BYTES) {
        this.fail(431, `request head over ${MAX_HEAD_BYTES} bytes`);
        return end;
      }
      if (lf === -1) {
        this.partial.append(chunk, at, end);
        return end;
      }
      let line: Buffer = chunk;
      let lineStart = at;
      let lineStop = lf;
      if (this.partial.length > 0) {
        this.partial.append(chunk, at, lf);
        line = this.partial.bytes;
        lineStart = 0;
        lineStop = this.partial.length;
      }
      at = lf + 1;
      if (lineStop > lineStart && line[lineStop - 1] === CR) lineStop--;
      const go = this.onLine(line, lineStart, lineStop);
      this.partial.length = 0;
      if (!go) return this.state === S_DEAD ? end : at;
    }
    return at;
  }

  /** One line (CRLF or a lone LF stripped). Returns false to stop execute(). */
  private onLine(line: Buffer, start: number, end: number): boolean {
    switch (this.state) {
      case S_REQUEST_LINE:
        if (start === end) return true; // RFC 9112 §2.2: ignore empty lines before a request
        this.head.reset();
        if (!this.parseRequestLine(line, start, end)) return false;
        this.state = S_HEADER;
        return true;
      case S_HEADER:
        if (start === end) return this.headDone();
        return this.parseHeader(line, start, end);
      case S_CHUNK_SIZE:
        return this.onChunkSize(line, start, end);
      case S_CHUNK_DATA_END:
        if (start !== end) return this.fail(400, 'chunk data not followed by CRLF');
        this.state = S_CHUNK_SIZE;
        this.sectionBytes = 0;
        return true;
      default: // S_TRAILER: trailer fields are read past, the empty line ends the request
        if (start !== end) return true;
        return this.complete();
    }
  }

  private parseRequestLine(line: Buffer, start: number, end: number): boolean {
    let at = start;
    while (at < end && TOKEN[line[at]!] === 1) at++;
    if (at === start || line[at] !== SP) return this.fail(400, 'malformed request line (method)');
    const head = this.head;
    // Methods are case-sensitive (RFC 9110 §9.1).
    if (at - start === 3 && line.compare(WORD_GET, 0, 3, start, at) === 0) head.method = METHOD_GET;
    else if (at - start === 4 && line.compare(WORD_HEAD, 0, 4, start, at) === 0) head.method = METHOD_HEAD;
    const targetStart = ++at;
    let queryStart = -1;
    let queryEnd = -1;
    for (; at < end; at++) {
      const b = line[at]!;
      if (b <= SP || b === 127) break;
      if (b === QUESTION && queryStart === -1) queryStart = at + 1;
      else if (b === HASH && queryStart !== -1 && queryEnd === -1) queryEnd = at;
    }
    if (at === targetStart || line[at] !== SP) return this.fail(400, 'malformed request line (target)');
    if (queryStart !== -1) head.query.append(line, queryStart, queryEnd === -1 ? at : queryEnd);
    at++;
    const minor = line[at + 7];
    if (end - at !== 8 || line.compare(HTTP_1_PREFIX, 0, 7, at, at + 7) !== 0 || (minor !== 48 && minor !== 49)) {
      return this.fail(400, 'unsupported HTTP version (HTTP/1.0 and HTTP/1.1 only)');
    }
    head.minorVersion = minor - 48;
    return true;
  }

  private parseHeader(line: Buffer, start: number, end: number): boolean {
    let at = start;
    while (at < end && TOKEN[line[at]!] === 1) at++;
    if (at === start || line[at] !== COLON) return this.fail(400, 'malformed header line');
    const id = lookupName(line, start, at);
    let valueStart = at + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && isOws(line[valueStart])) valueStart++;
    while (valueEnd > valueStart && isOws(line[valueEnd - 1])) valueEnd--;
    for (let i = valueStart; i < valueEnd; i++) {
      const b = line[i]!;
      if (b === 0 || b === CR) return this.fail(400, 'invalid byte in a header value');
    }
    if (id >= 0) return this.onKnownHeader(id, line, valueStart, valueEnd);
    return true;
  }

  private onKnownHeader(id: number, line: Buffer, start: number, end: number): boolean {
    const head = this.head;
    switch (id) {
      case H_CONTENT_LENGTH: {
        const length = parseDecimal(line, start, end);
        if (length < 0) return this.fail(400, 'invalid Content-Length');
        if (head.contentLength !== -1 && head.contentLength !== length) return this.fail(400, 'conflicting Content-Length headers');
        head.contentLength = length;
        return true;
      }
      case H_TRANSFER_ENCODING: {
        // The last coding decides (RFC 9112 §6.3); a later header line overrides an earlier one. Read strictly
        // (the whole last comma-separated element), unlike the generator: a lenient read here is a smuggling hole.
        let last = end;
        while (last > start && line[last - 1] !== COMMA) last--;
        let tokenStart = last;
        while (tokenStart < end && isOws(line[tokenStart])) tokenStart++;
        head.transferEncoding = true;
        head.chunked = equalsLower(line, tokenStart, end, TOKEN_CHUNKED);
        return true;
      }
      case H_CONNECTION:
      case H_UPGRADE:
        forEachToken(line, start, end, head, id === H_CONNECTION ? onConnectionToken : onUpgradeToken);
        return true;
      case H_EXPECT:
        head.expectContinue = equalsLower(line, start, end, WORD_100_CONTINUE);
        return true;
      case H_WS_KEY:
        head.websocketKey.length = 0;
        head.websocketKey.append(line, start, end);
        return true;
      case H_WS_VERSION:
        head.websocketVersion = parseDecimal(line, start, end);
        return true;
      case H_WS_PROTOCOL: {
        if (head.websocketProtocol.length > 0) return true;
        let tokenEnd = start;
        while (tokenEnd < end && line[tokenEnd] !== COMMA && !isOws(line[tokenEnd])) tokenEnd++;
        head.websocketProtocol.append(line, start, tokenEnd);
        return true;
      }
      default: {
        if (head.reflectCount === MAX_REFLECTED_LINES) return true;
        const entry = 3 * head.reflectCount++;
        head.reflectEntries[entry] = id - H_REFLECT_BASE;
        head.reflectEntries[entry + 1] = head.reflectValues.length;
        head.reflectValues.append(line, start, end);
        head.reflectEntries[entry + 2] = head.reflectValues.length;
        return true;
      }
    }
  }

  private headDone(): boolean {
    const head = this.head;
    if (head.transferEncoding) {
      // Both framings at once is a request-smuggling shape (RFC 9112 §6.1); a non-chunked coding cannot be delimited.
      if (head.contentLength !== -1) return this.fail(400, 'both Transfer-Encoding and Content-Length');
      if (!head.chunked) return this.fail(400, 'Transfer-Encoding must end with chunked');
    }
    this.sectionBytes = 0;
    if (!this.sink.onRequestHead(head)) {
      this.state = S_STOPPED;
      return false;
    }
    if (head.chunked) {
      this.state = S_CHUNK_SIZE;
      return true;
    }
    if (head.contentLength > 0) {
      this.state = S_BODY_LENGTH;
      this.remaining = head.contentLength;
      return true;
    }
    return this.complete();
  }

  private onChunkSize(line: Buffer, start: number, end: number): boolean {
    const size = parseChunkSize(line, start, end, MAX_CHUNK_SIZE_DIGITS);
    if (size < 0) return this.fail(400, 'malformed chunk size');
    this.sectionBytes = 0;
    if (size === 0) {
      this.state = S_TRAILER;
      return true;
    }
    this.state = S_CHUNK_DATA;
    this.remaining = size;
    return true;
  }

  private complete(): boolean {
    this.state = S_REQUEST_LINE;
    this.sectionBytes = 0;
    return this.sink.onRequestComplete(this.head);
  }

  private fail(status: number, reason: string): false {
    this.state = S_DEAD;
    this.sink.onRequestError(status, `meshbench echo: ${reason}`);
    return false;
  }
}

function lookupName(line: Buffer, start: number, end: number): number {
  const candidates = NAMES_BY_LENGTH[end - start];
  if (candidates === undefined) return -1;
  for (const { word, id } of candidates) if (equalsLower(line, start, end, word)) return id;
  return -1;
}

function onConnectionToken(head: RequestHead, line: Uint8Array, start: number, end: number): void {
  if (!readConnectionToken(head, line, start, end) && equalsLower(line, start, end, WORD_UPGRADE)) head.connectionUpgrade = true;
}

function onUpgradeToken(head: RequestHead, line: Uint8Array, start: number, end: number): void {
  // "websocket" may carry a version suffix in theory ("websocket/13"); browsers and ws send it bare.
  if (equalsLower(line, start, end, WORD_WEBSOCKET)) head.upgradeWebsocket = true;
}
