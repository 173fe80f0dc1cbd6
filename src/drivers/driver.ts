import type { Protocol } from '../protocols.js';

/**
 * The one driver interface. A driver speaks one protocol to one target; the load loop (src/load) owns
 * timing, scheduling and recording, the driver owns bytes on the wire.
 *
 * Contract (the hot path: no per-request allocation in send/onResponse):
 * - `connect(index, sink)` opens logical connection `index` (a TCP connection for HTTP/1.1 and websocket,
 *   a bidi stream for gRPC streaming, a channel slot for unary) and resolves once it can send.
 * - `send()` starts exactly one request/message; the loop never calls it while one is outstanding on that
 *   connection. Exactly one of `sink.onResponse(index)` or `sink.onError(index, kind)` follows, later,
 *   never synchronously inside `send()`.
 * - `abort()` drops the outstanding request (the loop calls it on timeout); the driver reports nothing for
 *   the dropped request and must accept `send()` again afterwards, reconnecting if it had to tear the
 *   connection down. A connection that broke reconnects by itself on the next `send()`; if it cannot, that
 *   send ends in `onError(index, 'connect')`.
 * - `close()` tears the connection down; no sink call follows.
 */
export interface DriverConnection {
  send(): void;
  abort(): void;
  close(): Promise<void>;
}

export type ErrorKind =
  | 'connect' // could not (re)connect
  | 'reset' // connection closed or reset mid-request
  | 'timeout' // no response within timeoutMs (reported by the load loop, not the driver)
  | 'status' // error status: HTTP >= 400 (2xx and 3xx count as responses), gRPC status != OK
  | 'protocol' // malformed response, unexpected frame, echoed payload mismatch
  | 'other';

export const ERROR_KINDS: readonly ErrorKind[] = ['connect', 'reset', 'timeout', 'status', 'protocol', 'other'];

/** A fresh count of zero errors of every kind. */
export function zeroErrors(): Record<ErrorKind, number> {
  return Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>;
}

/** All errors of every kind (a kind missing from a parsed document counts 0). */
export function sumErrors(errors: Readonly<Record<ErrorKind, number>>): number {
  let total = 0;
  for (const kind of ERROR_KINDS) total += errors[kind] ?? 0;
  return total;
}

export interface CompletionSink {
  onResponse(index: number): void;
  onError(index: number, kind: ErrorKind): void;
}

export interface DriverOptions {
  /** http://host:port/path for http1, host:port (or grpc://host:port) for gRPC, ws://host:port/path for websocket. */
  target: string;
  /** Request body / message size in bytes (0 allowed for http1 GET). */
  payloadBytes: number;
  /** Extra request headers (e.g. traceparent), sent with every request (or at stream/upgrade time). */
  headers: Readonly<Record<string, string>>;
}

export interface Driver {
  readonly protocol: Protocol;
  connect(index: number, sink: CompletionSink): Promise<DriverConnection>;
  /** Releases shared resources (e.g. gRPC channels) after all connections are closed. */
  close(): Promise<void>;
}

/** What a probe saw: the response headers (or gRPC metadata), lower-cased names, first value each. */
export interface ProbeResult {
  status: number | string;
  headers: Record<string, string>;
}

export interface DriverModule {
  create(options: DriverOptions): Driver;
  /**
   * One request with `headers`, outside any load, returning what came back. Used to prove a path
   * (mTLS marker headers reflected by the echo) and to check a target is reachable before load starts.
   * Rejects with the underlying error when the target does not answer within timeoutMs.
   */
  probe(options: DriverOptions, timeoutMs: number): Promise<ProbeResult>;
}
