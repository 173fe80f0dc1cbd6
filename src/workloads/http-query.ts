import { parseDecimal } from '../http1-syntax.js';
import { MAX_DELAY_MS, MAX_PAYLOAD_BYTES } from './limits.js';

/**
 * The echo's query parameters (all optional, unknown ones ignored), read from the raw query bytes without
 * strings or URL objects; only a bad value builds its error message.
 *   size=N     reply with N filler bytes instead of the body (0..16 MiB)
 *   delayMs=N  reply N ms after the request body has arrived (0..60000)
 *   status=N   reply with status N (200..599)
 *   serviceUs=N one worker per echo process: such requests are served one at a time, N µs each (serial.ts) —
 *              a target whose capacity is known, 1e6 / N req/s per process (0..60 s)
 */
export interface EchoParams {
  /** -1 = echo the body; otherwise reply with this many filler bytes. */
  sizeBytes: number;
  delayMs: number;
  status: number;
  /** 0 = off; else this request takes its turn at the process's one worker for this many µs. */
  serviceUs: number;
}

const AMPERSAND = 38;
const EQUALS = 61;
const KEY_SIZE = Buffer.from('size', 'latin1');
const KEY_DELAY_MS = Buffer.from('delayMs', 'latin1');
const KEY_STATUS = Buffer.from('status', 'latin1');
const KEY_SERVICE_US = Buffer.from('serviceUs', 'latin1');

/**
 * Reads size / delayMs / status / serviceUs from query[0, length) into `params` (left untouched for absent keys).
 * Returns null, or a message saying which parameter is wrong and what it accepts.
 */
export function parseEchoQuery(query: Buffer, length: number, params: EchoParams): string | null {
  let at = 0;
  while (at < length) {
    let end = at;
    while (end < length && query[end] !== AMPERSAND) end++;
    let eq = at;
    while (eq < end && query[eq] !== EQUALS) eq++;
    if (eq < end) {
      if (isKey(query, at, eq, KEY_SIZE)) {
        params.sizeBytes = parseUint(query, eq + 1, end, MAX_PAYLOAD_BYTES);
        if (params.sizeBytes < 0) return badParam(query, eq, end, 'size', `an integer 0..${MAX_PAYLOAD_BYTES}`);
      } else if (isKey(query, at, eq, KEY_DELAY_MS)) {
        params.delayMs = parseUint(query, eq + 1, end, MAX_DELAY_MS);
        if (params.delayMs < 0) return badParam(query, eq, end, 'delayMs', `an integer 0..${MAX_DELAY_MS}`);
      } else if (isKey(query, at, eq, KEY_STATUS)) {
        params.status = parseUint(query, eq + 1, end, 599);
        if (params.status < 200) return badParam(query, eq, end, 'status', 'an integer 200..599');
      } else if (isKey(query, at, eq, KEY_SERVICE_US)) {
        params.serviceUs = parseUint(query, eq + 1, end, MAX_DELAY_MS * 1000);
        if (params.serviceUs < 0) return badParam(query, eq, end, 'serviceUs', `an integer 0..${MAX_DELAY_MS * 1000}`);
      }
    }
    at = end + 1;
  }
  return null;
}

function isKey(query: Buffer, start: number, end: number, key: Buffer): boolean {
  return end - start === key.length && query.compare(key, 0, key.length, start, end) === 0;
}

/** The decimal integer in query[from, to), or -1 when it is empty, not all digits, or above max. */
function parseUint(query: Buffer, from: number, to: number, max: number): number {
  if (to - from > 10) return -1;
  const value = parseDecimal(query, from, to);
  return value > max ? -1 : value;
}

function badParam(query: Buffer, eq: number, end: number, name: string, accepts: string): string {
  return `meshbench echo: query parameter ${name} must be ${accepts}, got "${query.toString('latin1', eq + 1, end)}"`;
}
