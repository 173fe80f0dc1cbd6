/**
 * A growable byte accumulator, reused for every message on a connection: the HTTP echo's request body and
 * response bytes, the websocket echo's message payload and outgoing frames. Appends copy; nothing here
 * allocates unless the accumulator has to grow, so a steady stream of small messages allocates nothing.
 */
export class ByteBuffer {
  bytes: Buffer;
  length = 0;

  constructor(private readonly initialBytes: number) {
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Makes room for `more` bytes past `length` (doubling, so appends stay amortised O(1)). */
  reserve(more: number): void {
    const needed = this.length + more;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  append(src: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    copyBytes(src, start, end, this.bytes, this.length);
    this.length += count;
  }

  /** Appends a prebuilt byte string (header names, fixed lines). */
  appendAll(src: Uint8Array): void {
    this.reserve(src.length);
    this.bytes.set(src, this.length);
    this.length += src.length;
  }

  appendByte(byte: number): void {
    this.reserve(1);
    this.bytes[this.length++] = byte;
  }

  /** Appends a non-negative integer in decimal, without a string. */
  appendDecimal(value: number): void {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.reserve(digits);
    let at = this.length + digits;
    this.length = at;
    let rest = value;
    do {
      this.bytes[--at] = 48 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
  }

  /** Appends an ASCII/latin1 string (error messages, not the hot path). */
  appendLatin1(text: string): void {
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, 'latin1');
  }

  /**
   * Hands the current contents away (for a write that keeps the Buffer) and starts afresh at the initial
   * size. Used for large payloads, so a connection does not keep a 16 MiB buffer after one large message.
   */
  detach(): Buffer {
    const taken = this.bytes.subarray(0, this.length);
    this.bytes = Buffer.allocUnsafe(this.initialBytes);
    this.length = 0;
    return taken;
  }

  /** Empties it; drops a buffer that grew large so one big message does not pin memory. */
  clear(): void {
    this.length = 0;
    if (this.bytes.length > RETAINED_FACTOR * this.initialBytes) this.bytes = Buffer.allocUnsafe(this.initialBytes);
  }
}

/** A buffer grown past this many times its initial size is dropped when emptied. */
const RETAINED_FACTOR = 64;
/** Below this, a byte loop beats `set(subarray())`, which allocates a view per call. */
const LOOP_COPY_MAX_BYTES = 512;

/** Copies src[start, end) to target at `at`; allocation-free for small copies (the per-message case). */
export function copyBytes(src: Uint8Array, start: number, end: number, target: Uint8Array, at: number): void {
  if (end - start <= LOOP_COPY_MAX_BYTES) {
    for (let i = start; i < end; i++) target[at++] = src[i]!;
  } else {
    target.set(src.subarray(start, end), at);
  }
}
