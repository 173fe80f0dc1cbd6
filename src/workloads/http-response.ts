import { STATUS_CODES } from 'node:http';
import { REFLECTED_HEADERS } from '../protocols.js';
import type { ByteBuffer } from './bytes.js';
import type { RequestHead } from './http-request-head.js';
import { REFLECTED_RESPONSE_NAMES } from './reflect.js';

/**
 * Response heads for the raw-socket echo, written as bytes into a connection's reused output buffer: the
 * status line and fixed header lines are prebuilt; only Content-Length and the reflected values are
 * copied per response. Every response carries Date (RFC 9110 §6.6.1), refreshed once a second.
 */

/** Keep-alive generous enough to outlive the load's idle gaps and typical proxy idle timeouts (60 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

const CRLF = latin1('\r\n');
const KEEP_ALIVE = latin1(`Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n`);
const CLOSE = latin1('Connection: close\r\n');
const CONTENT_LENGTH = latin1('Content-Length: ');
const TEXT_PLAIN = latin1('Content-Type: text/plain; charset=utf-8\r\n');
const REFLECTED_NAME_BYTES: readonly Buffer[] = REFLECTED_RESPONSE_NAMES.map((name) => latin1(`${name}: `));
const LIST_SEPARATOR = latin1(', ');
/** Sent before reading a body the client holds back for it (RFC 9110 §10.1.1). */
export const CONTINUE_100 = latin1('HTTP/1.1 100 Continue\r\n\r\n');

const statusLines: (Buffer | undefined)[] = [];

/** `HTTP/1.1 <status> <reason>\r\n`, built once per status. */
export function statusLine(status: number): Buffer {
  let line = statusLines[status];
  if (line === undefined) {
    line = latin1(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
    statusLines[status] = line;
  }
  return line;
}

/** `Date: <IMF-fixdate>\r\n`; rewritten in place by the clock, so responses copy it without a string. */
const dateLine = Buffer.alloc('Date: Tue, 01 Dec 2026 00:00:00 GMT\r\n'.length);
let dateClock: NodeJS.Timeout | undefined;

function refreshDate(): void {
  dateLine.write(`Date: ${new Date().toUTCString()}\r\n`, 0, 'latin1');
}

/** Starts the once-a-second Date refresh (idempotent; the timer never keeps the process alive). */
export function startDateClock(): void {
  if (dateClock !== undefined) return;
  refreshDate();
  dateClock = setInterval(refreshDate, 1000);
  dateClock.unref();
}

/** Appends a complete response head (ending with the empty line) to `out`. */
export function writeResponseHead(out: ByteBuffer, status: number, keepAlive: boolean, contentLength: number, textBody: boolean, head: RequestHead | null): void {
  out.appendAll(statusLine(status));
  out.appendAll(dateLine);
  out.appendAll(keepAlive ? KEEP_ALIVE : CLOSE);
  if (contentLength >= 0) {
    out.appendAll(CONTENT_LENGTH);
    out.appendDecimal(contentLength);
    out.appendAll(CRLF);
  }
  if (textBody) out.appendAll(TEXT_PLAIN);
  if (head !== null) writeReflectedHeaders(out, head);
  out.appendAll(CRLF);
}

/**
 * Appends `x-echo-<name>: <value>\r\n` for every reflected header the request carried, in REFLECTED_HEADERS
 * order; a header sent on several lines is joined with ", " as HTTP folds it (as src/workloads/reflect.ts).
 */
export function writeReflectedHeaders(out: ByteBuffer, head: RequestHead): void {
  const count = head.reflectCount;
  if (count === 0) return;
  const entries = head.reflectEntries;
  const values = head.reflectValues.bytes;
  for (let name = 0; name < REFLECTED_HEADERS.length; name++) {
    let seen = false;
    for (let i = 0; i < count; i++) {
      if (entries[3 * i] !== name) continue;
      out.appendAll(seen ? LIST_SEPARATOR : (REFLECTED_NAME_BYTES[name] as Buffer));
      out.append(values, entries[3 * i + 1]!, entries[3 * i + 2]!);
      seen = true;
    }
    if (seen) out.appendAll(CRLF);
  }
}
