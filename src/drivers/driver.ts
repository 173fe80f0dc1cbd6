import type { Protocol } from '../protocols.js';
import type { TrafficMix } from './mix.js';

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
  /**
   * Connection churn (http1): drop the current transport so that the next send() opens a new one — paying every
   * handshake a new connection pays — and calls `sink.onConnected` when it is up. Absent: the driver cannot churn.
   */
  renew?(): void;
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
  /** A (re)connect of connection `index` completed (TCP, and TLS for a secure target). */
  onConnected?(index: number): void;
}

/**
 * TLS of a target (https://, wss://, grpcs://). PEM text, not paths: the options cross to worker threads as
 * plain data, and a file that cannot be read fails at the CLI or the scenario, before any load.
 */
export interface TlsOptions {
  /** CA certificates to trust instead of the system's (--cacert). */
  ca?: string;
  /** A client certificate (chain) and its private key (--cert/--key), for targets that require one. */
  cert?: string;
  key?: string;
  /** Do not verify the server's certificate (--insecure). Recorded wherever a result is. */
  insecure?: boolean;
}

/**
 * One request of a weighted mix (http1). Every request of a mix goes to the target's origin (scheme, host,
 * port): the connections are the target's, and a request picks only what travels on them.
 */
export interface RequestMix {
  /** Path and query, e.g. /api/items?page=2. */
  path: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  /** Body bytes; absent: none. */
  body?: Uint8Array;
  /** Relative share of the requests (a whole number ≥ 1). */
  weight: number;
}

export interface DriverOptions {
  /**
   * http://host:port/path (or https://) for http1, host:port (grpc://host:port, or grpcs://host:port over TLS) for
   * gRPC, ws://host:port/path (or wss://) for websocket.
   */
  target: string;
  /** Request body / message size in bytes (0 allowed for http1 GET); used when `body` is absent. */
  payloadBytes: number;
  /** Extra request headers (e.g. traceparent), sent with every request (or at stream/upgrade time). */
  headers: Readonly<Record<string, string>>;
  /** TLS options for https://, wss:// and grpcs:// targets. */
  tls?: TlsOptions;
  /** http1: the method; default POST with a body, GET without. */
  method?: string;
  /** The request body (http1) or message (websocket) instead of `payloadBytes` bytes of 'x'. */
  body?: Uint8Array;
  /** http1: requests chosen by weight instead of the one `target`/`method`/`body` describe (same origin as target). */
  requests?: readonly RequestMix[];
  /** http1: the statuses that count as success, e.g. "2xx", "200,204", "200-299,404" (default "2xx,3xx"). */
  expectStatus?: string;
  /**
   * Check every reply against the echo's semantics (websocket: the reply has the message's size). On by default;
   * off for targets that are not meshbench's echo (`meshbench load`), where any reply completes a message.
   */
  echoCheck?: boolean;
  /** gRPC: any service from its .proto instead of the echo (ghz-like). */
  grpcCall?: GrpcCallOptions;
  /** http1, http2: drawn payload and response sizes and a fresh traceparent per request (mix.ts). */
  mix?: TrafficMix;
  /** http2: concurrent streams per HTTP/2 connection (logical connections share one in groups of this many). Default 1. */
  streamsPerConnection?: number;
}

/** A gRPC method of any service, loaded from its .proto at run time (no compile step). */
export interface GrpcCallOptions {
  /** The .proto text is read from this file (proto-loader resolves imports relative to it and `importPaths`). */
  protoFile: string;
  importPaths: readonly string[];
  /** package.Service/Method */
  call: string;
  /** The request message as JSON (proto3 JSON mapping as protobufjs reads it). */
  dataJson: string;
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
