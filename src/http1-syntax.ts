/**
 * HTTP/1.1 syntax at the byte level, shared by the load generator's response parser
 * (src/drivers/http1-parser.ts) and the echo's request parser (src/workloads/http-server-parser.ts).
 *
 * Only what both sides read the same way lives here: byte constants, token compares, OWS, decimal and hex
 * numbers, the chunk-size line, comma-separated token lists, and the framing facts every message head carries
 * (version, Content-Length, Transfer-Encoding, Connection). Everything works on a Buffer in place — no
 * strings, no objects per call — so both parsers' hot paths stay allocation-free. Imports nothing.
 */

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HT = 9;
export const COLON = 58;
export const COMMA = 44;
export const SEMICOLON = 59;

/** `HTTP/1.` — the first seven bytes of a status line and of a request line's version. */
export const HTTP_1_PREFIX = Buffer.from('HTTP/1.', 'latin1');
export const TOKEN_CHUNKED = Buffer.from('chunked', 'latin1');
export const TOKEN_CLOSE = Buffer.from('close', 'latin1');
export const TOKEN_KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');

/**
 * Case-insensitive compare of buf[start, end) with `word`, which must be lower-case tchars (no SP, no
 * controls).
 */
export function equalsLower(buf: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const b = buf[start + i]!;
    // `| 0x20` lower-cases letters; it also maps control bytes onto printable ones (CR 0x0d onto '-'), so
    // exclude those. SP could never match a tchar anyway.
    if (b <= SP || (b | 0x20) !== word[i]) return false;
  }
  return true;
}

/** OWS: SP or HTAB. `undefined` (past the end of a buffer) is not. */
export function isOws(b: number | undefined): boolean {
  return b === SP || b === HT;
}

/** The value of a hex digit, or -1. */
export function hexValue(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  const l = b | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** A decimal integer of 1 to 15 digits (exact in a double) in buf[start, end), or -1. */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number {
  if (start === end || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = buf[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * A chunk-size line without its line end, `hex[ OWS][; ext...]` (extensions are not interpreted): the size,
 * or -1 when there are no digits, more than `maxDigits`, or something other than `;` after them.
 * `maxDigits` is each parser's own limit (≤ 13, so the size stays exact in a double).
 */
export function parseChunkSize(buf: Uint8Array, start: number, end: number, maxDigits: number): number {
  let size = 0;
  let at = start;
  for (; at < end; at++) {
    const digit = hexValue(buf[at]!);
    if (digit < 0) break;
    size = size * 16 + digit;
  }
  const digits = at - start;
  while (at < end && isOws(buf[at])) at++;
  if (digits === 0 || digits > maxDigits || (at < end && buf[at] !== SEMICOLON)) return -1;
  return size;
}

/**
 * Calls `handler(target, buf, s, e)` for each comma-separated element of buf[start, end), OWS trimmed (empty
 * elements included). `handler` should be a module-level function, so no closure is made per call.
 */
export function forEachToken<T>(
  buf: Uint8Array,
  start: number,
  end: number,
  target: T,
  handler: (target: T, buf: Uint8Array, start: number, end: number) => void,
): void {
  let at = start;
  while (at < end) {
    let tokenEnd = at;
    while (tokenEnd < end && buf[tokenEnd] !== COMMA) tokenEnd++;
    let s = at;
    let e = tokenEnd;
    while (s < e && isOws(buf[s])) s++;
    while (e > s && isOws(buf[e - 1])) e--;
    handler(target, buf, s, e);
    at = tokenEnd + 1;
  }
}

/**
 * The framing facts of one message head, as both parsers record them; reused (reset()) for every message.
 * How a parser turns them into a body length differs (a response may run until close, a request may not), so
 * that decision stays with each parser.
 */
export class Http1Framing {
  /** The x of HTTP/1.x. */
  minorVersion = 1;
  /** -1: no Content-Length header. */
  contentLength = -1;
  transferEncoding = false;
  /** Transfer-Encoding's last coding is chunked. */
  chunked = false;
  connectionClose = false;
  connectionKeepAlive = false;

  /** RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`. */
  get keepAlive(): boolean {
    if (this.connectionClose) return false;
    return this.minorVersion >= 1 || this.connectionKeepAlive;
  }

  reset(): void {
    this.minorVersion = 1;
    this.contentLength = -1;
    this.transferEncoding = false;
    this.chunked = false;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
  }
}

/** Records a `close` or `keep-alive` Connection token; false for any other token. */
export function readConnectionToken(framing: Http1Framing, buf: Uint8Array, start: number, end: number): boolean {
  if (equalsLower(buf, start, end, TOKEN_CLOSE)) framing.connectionClose = true;
  else if (equalsLower(buf, start, end, TOKEN_KEEP_ALIVE)) framing.connectionKeepAlive = true;
  else return false;
  return true;
}
