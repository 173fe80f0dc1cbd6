import { randomBytes } from 'node:crypto';

/**
 * A fresh W3C trace context per request (`traceparent: 00-<32 hex trace id>-<16 hex span id>-01`), written in
 * place into a prepared request: random ids from a xorshift128 generator per thread (seeded from the OS once),
 * hex digits written byte by byte — no string, no Buffer, no object per request. Not cryptographic: trace ids
 * must be unique in practice, not unguessable (2^128 − 1 period; a 128-bit trace id is never all zeros because
 * xorshift128's state never is).
 */

export const TRACEPARENT = 'traceparent';
/** The length of a traceparent value, and a placeholder of that length serialized into prepared requests. */
export const TRACEPARENT_LENGTH = 55;
export const TRACEPARENT_PLACEHOLDER = '00-' + '0'.repeat(32) + '-' + '0'.repeat(16) + '-01';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** The generator's state in a typed array: 32-bit words stay unboxed (a module-level number above 2^31 would not). */
const state = new Uint32Array(randomBytes(16).buffer.slice(0, 16));
state[0] = (state[0] as number) | 1;

/** The next 32 random bits (xorshift128, Marsaglia 2003). */
function next32(): number {
  let t = state[0] as number;
  t ^= t << 11;
  state[0] = state[1] as number;
  state[1] = state[2] as number;
  const s3 = state[3] as number;
  state[2] = s3;
  state[3] = s3 ^ (s3 >>> 19) ^ (t ^ (t >>> 8));
  return state[3] as number;
}

function writeHex(buffer: Uint8Array, at: number, words: number): void {
  for (let w = 0; w < words; w++) {
    const v = next32();
    for (let k = 0; k < 8; k++) buffer[at + w * 8 + k] = HEX[(v >>> (28 - 4 * k)) & 15] as number;
  }
}

/** Writes a fresh trace id and span id over the traceparent value at buffer[at, at + 55). */
export function writeTraceparent(buffer: Uint8Array, at: number): void {
  writeHex(buffer, at + 3, 4);
  writeHex(buffer, at + 36, 2);
}

/** A fresh traceparent as a string (for drivers whose client takes headers as strings). */
export function freshTraceparent(scratch: Buffer): string {
  scratch.write(TRACEPARENT_PLACEHOLDER, 0, 'latin1');
  writeTraceparent(scratch, 0);
  return scratch.toString('latin1', 0, TRACEPARENT_LENGTH);
}
