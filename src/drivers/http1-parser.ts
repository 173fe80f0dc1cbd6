import {
  COLON,
  COMMA,
  CR,
  equalsLower,
  forEachToken,
  Http1Framing,
  HTTP_1_PREFIX,
  isOws,
  LF,
  parseChunkSize,
  parseDecimal,
  readConnectionToken,
  SP,
  TOKEN_CHUNKED,
} from '../http1-syntax.js';

/**
 * Incremental HTTP/1.1 response parser, one per connection, reused for every response on it.
 *
 * Bytes may arrive split at any point and several responses may arrive in one chunk. The parser reads the
 * Buffer directly: no strings, no per-response objects; the status is an integer. It only interprets what a
 * load generator needs: the status code, the framing (Content-Length, Transfer-Encoding: chunked with
 * extensions and trailers, or read-until-close) and whether the connection stays open (`Connection`).
 * Interim 1xx responses are skipped; 204 and 304 carry no body, nor does any response while `bodiless` is set
 * (the caller sets it before sending a HEAD request).
 *
 * Contract: `execute()` calls `onParsedResponse` once per complete response, in order, and `onParseError`
 * once on malformed input, after which the parser ignores input until `reset()`. Either callback may call
 * `reset()` (e.g. to drop the connection); `execute()` then stops reading the rest of that chunk.
 */
export interface Http1ParserHandler {
  /** A complete response. `keepAlive` false: the server closes the connection after it. */
  onParsedResponse(status: number, keepAlive: boolean): void;
  onParseError(): void;
}

// States. Line states read up to LF (a lone LF is accepted as a line end, a CR before it is dropped).
const S_STATUS = 0; // line: status line (empty lines before it are skipped)
const S_HEADER = 1; // line: header field or the empty line ending the head
const S_CHUNK_SIZE = 2; // line: chunk size [; extensions]
const S_CHUNK_DATA_END = 3; // line: the empty line after chunk data
const S_TRAILER = 4; // line: trailer field or the empty line ending the message
const S_BODY_LENGTH = 5; // `remaining` body bytes (Content-Length)
const S_CHUNK_DATA = 6; // `remaining` bytes of the current chunk
const S_BODY_EOF = 7; // body runs until the server closes
const S_DEAD = 8; // malformed input seen; waiting for reset()

/** Longest line (status, header, chunk size, trailer) and longest head accepted. */
export const MAX_LINE_BYTES = 16 * 1024;
export const MAX_HEAD_BYTES = 64 * 1024;
/** Chunk sizes with more hex digits than this (beyond 2^52) are malformed. */
const MAX_CHUNK_SIZE_DIGITS = 13;

const NAME_CONTENT_LENGTH = Buffer.from('content-length', 'latin1');
const NAME_TRANSFER_ENCODING = Buffer.from('transfer-encoding', 'latin1');
const NAME_CONNECTION = Buffer.from('connection', 'latin1');

/*
 * Why the chunked decoding is not one class shared with the echo's request parser: only the chunk-size line
 * is read the same way (parseChunkSize in src/http1-syntax.ts). The states around it differ in substance —
 * here chunk data is skipped and lines are limited one by one (MAX_LINE_BYTES) with the trailers counted into
 * the head; the echo hands every data piece to its sink, counts each section with its line ends against its
 * own limit, answers errors with a status, and may stop mid-stream for the caller to resume.
 */

export class Http1ResponseParser {
  private readonly handler: Http1ParserHandler;
  /** The response being awaited answers a HEAD request: no body, whatever its framing says. Kept by reset(). */
  bodiless = false;
  private state = S_STATUS;
  /** Bumped by reset(): lets execute() notice a reset made from inside a callback. */
  private generation = 0;

  // Partial line carried over between chunks. Grown on demand (rarely), so idle connections stay small.
  private scratch: Buffer = Buffer.allocUnsafe(256);
  private partialLen = 0;

  // The message being parsed.
  private status = 0;
  private headBytes = 0;
  /** Version, Content-Length, Transfer-Encoding and Connection of the current response. */
  private readonly framing = new Http1Framing();
  private keepAlive = true;
  private remaining = 0;

  constructor(handler: Http1ParserHandler) {
    this.handler = handler;
  }

  /** Forget everything (partial lines, message state, a previous error). */
  reset(): void {
    this.generation++;
    this.state = S_STATUS;
    this.partialLen = 0;
    this.resetMessage();
  }

  /**
   * The server closed its side. A response delimited by the close completes here (returns true); anything
   * else in flight is left as is, for the caller to count as a reset.
   */
  finish(): boolean {
    if (this.state !== S_BODY_EOF) return false;
    this.complete();
    return true;
  }

  /**
   * Parses buf[0, end). The bytes are read during the call only (a partial line is copied), so the caller
   * may reuse `buf` for the next read — the driver reads every socket of a thread into one buffer.
   */
  execute(buf: Uint8Array, end: number = buf.length): void {
    const gen = this.generation;
    let pos = 0;
    while (pos < end) {
      const state = this.state;
      if (state === S_BODY_LENGTH || state === S_CHUNK_DATA) {
        const avail = end - pos;
        if (avail < this.remaining) {
          this.remaining -= avail;
          return;
        }
        pos += this.remaining;
        this.remaining = 0;
        if (state === S_CHUNK_DATA) {
          this.state = S_CHUNK_DATA_END;
          continue;
        }
        this.complete();
        if (gen !== this.generation) return;
        continue;
      }
      if (state === S_BODY_EOF || state === S_DEAD) return;

      let lf = pos;
      while (lf < end && buf[lf] !== LF) lf++;
      const len = lf - pos;
      if (this.partialLen + len > MAX_LINE_BYTES) return this.fail();
      if (lf === end) {
        this.appendPartial(buf, pos, end);
        return;
      }
      let line = buf;
      let ls = pos;
      let le = lf;
      if (this.partialLen > 0) {
        this.appendPartial(buf, pos, lf);
        line = this.scratch;
        ls = 0;
        le = this.partialLen;
        this.partialLen = 0;
      }
      pos = lf + 1;
      if (le > ls && line[le - 1] === CR) le--;
      if (!this.onLine(line, ls, le)) return this.fail();
      if (gen !== this.generation) return;
    }
  }

  private appendPartial(buf: Uint8Array, start: number, end: number): void {
    const need = this.partialLen + (end - start);
    if (need > this.scratch.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_LINE_BYTES, Math.max(need, this.scratch.length * 2)));
      this.scratch.copy(grown, 0, 0, this.partialLen);
      this.scratch = grown;
    }
    // A byte loop: Buffer#copy allocates a view per call, and partial lines are short.
    const scratch = this.scratch;
    for (let i = start, j = this.partialLen; i < end; i++, j++) scratch[j] = buf[i]!;
    this.partialLen = need;
  }

  /** One line without its line end. False: malformed. May call complete() (and so the handler) last. */
  private onLine(buf: Uint8Array, start: number, end: number): boolean {
    switch (this.state) {
      case S_STATUS:
        if (start === end) return true; // tolerated empty line between messages
        this.headBytes = end - start;
        return this.parseStatusLine(buf, start, end);
      case S_HEADER:
        this.headBytes += end - start;
        if (this.headBytes > MAX_HEAD_BYTES) return false;
        if (start === end) return this.endOfHead();
        return this.parseHeader(buf, start, end);
      case S_CHUNK_SIZE:
        return this.onChunkSize(buf, start, end);
      case S_CHUNK_DATA_END:
        if (start !== end) return false;
        this.state = S_CHUNK_SIZE;
        return true;
      case S_TRAILER:
        this.headBytes += end - start;
        if (this.headBytes > MAX_HEAD_BYTES) return false;
        if (start === end) this.complete();
        return true; // trailer fields are not interpreted
      default:
        return false;
    }
  }

  /** `HTTP/1.x SSS[ reason]` */
  private parseStatusLine(buf: Uint8Array, start: number, end: number): boolean {
    if (end - start < 12) return false;
    for (let i = 0; i < HTTP_1_PREFIX.length; i++) if (buf[start + i] !== HTTP_1_PREFIX[i]) return false;
    const minor = buf[start + 7]! - 48;
    if (minor < 0 || minor > 9 || buf[start + 8] !== SP) return false;
    let status = 0;
    for (let i = start + 9; i < start + 12; i++) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) return false;
      status = status * 10 + d;
    }
    if (status < 100 || (end > start + 12 && buf[start + 12] !== SP)) return false;
    this.status = status;
    this.framing.minorVersion = minor;
    this.state = S_HEADER;
    return true;
  }

  private parseHeader(buf: Uint8Array, start: number, end: number): boolean {
    const first = buf[start]!;
    if (isOws(first)) return true; // obs-fold continuation: only ever of a field we ignore, or harmless
    let colon = start;
    while (colon < end && buf[colon] !== COLON) {
      const b = buf[colon]!;
      if (b <= SP || b === 127) return false; // no whitespace or controls in a field name
      colon++;
    }
    if (colon === end || colon === start) return false;
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && isOws(buf[vs])) vs++;
    while (ve > vs && isOws(buf[ve - 1])) ve--;

    const framing = this.framing;
    if (equalsLower(buf, start, colon, NAME_CONTENT_LENGTH)) {
      // At most 15 digits, so always exact in a double.
      const n = parseDecimal(buf, vs, ve);
      if (n < 0 || (framing.contentLength >= 0 && framing.contentLength !== n)) return false;
      framing.contentLength = n;
    } else if (equalsLower(buf, start, colon, NAME_TRANSFER_ENCODING)) {
      // The final coding decides: chunked, or (for a response) the body runs until close. Read leniently (a
      // suffix after a comma or OWS): unlike the echo, a generator has no smuggling to refuse.
      framing.transferEncoding = true;
      const ts = ve - TOKEN_CHUNKED.length;
      framing.chunked =
        ts >= vs &&
        equalsLower(buf, ts, ve, TOKEN_CHUNKED) &&
        (ts === vs || buf[ts - 1] === COMMA || isOws(buf[ts - 1]));
    } else if (equalsLower(buf, start, colon, NAME_CONNECTION)) {
      forEachToken(buf, vs, ve, framing, readConnectionToken);
    }
    return true;
  }

  private endOfHead(): boolean {
    const status = this.status;
    if (status < 200) {
      if (status === 101) return false; // we never ask to switch protocols
      this.state = S_STATUS; // interim response: the real one follows
      this.resetMessage();
      return true;
    }
    const framing = this.framing;
    this.keepAlive = framing.keepAlive;
    if (status === 204 || status === 304 || this.bodiless) {
      this.complete();
    } else if (framing.transferEncoding) {
      if (framing.chunked) {
        this.state = S_CHUNK_SIZE;
      } else {
        this.keepAlive = false;
        this.state = S_BODY_EOF;
      }
    } else if (framing.contentLength === 0) {
      this.complete();
    } else if (framing.contentLength > 0) {
      this.remaining = framing.contentLength;
      this.state = S_BODY_LENGTH;
    } else {
      this.keepAlive = false;
      this.state = S_BODY_EOF;
    }
    return true;
  }

  /** `hex[ OWS][; ext...]` */
  private onChunkSize(buf: Uint8Array, start: number, end: number): boolean {
    const size = parseChunkSize(buf, start, end, MAX_CHUNK_SIZE_DIGITS);
    if (size < 0) return false;
    if (size === 0) {
      this.state = S_TRAILER;
    } else {
      this.remaining = size;
      this.state = S_CHUNK_DATA;
    }
    return true;
  }

  private complete(): void {
    const status = this.status;
    const keepAlive = this.keepAlive;
    this.state = S_STATUS;
    this.resetMessage();
    this.handler.onParsedResponse(status, keepAlive);
  }

  private fail(): void {
    this.state = S_DEAD;
    this.partialLen = 0;
    this.handler.onParseError();
  }

  private resetMessage(): void {
    this.status = 0;
    this.headBytes = 0;
    this.framing.reset();
    this.keepAlive = true;
    this.remaining = 0;
  }
}
