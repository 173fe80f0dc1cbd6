/**
 * Limits and the shared response filler for the echo workloads (HTTP, websocket, gRPC).
 */

/** Largest request body / message and largest `size` / `response_size` the echo serves: 16 MiB. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
/** Largest `delayMs` / `delay_ms` the echo honours. */
export const MAX_DELAY_MS = 60_000;

const FILL_BYTE = 0x78; // 'x': printable, so a sized response is readable when debugging with curl
let filler: Buffer = Buffer.alloc(0);

/**
 * `sizeBytes` filler bytes (0 <= sizeBytes <= MAX_PAYLOAD_BYTES), as a view of one shared buffer that grows
 * to the next power of two when a larger size is asked for. The contents never change, so views handed to
 * sockets stay valid while they are written.
 */
export function fillerBytes(sizeBytes: number): Buffer {
  if (sizeBytes > filler.length) {
    let length = Math.max(4096, filler.length);
    while (length < sizeBytes) length *= 2;
    filler = Buffer.alloc(Math.min(length, MAX_PAYLOAD_BYTES), FILL_BYTE);
  }
  return filler.subarray(0, sizeBytes);
}
