/** The protocols meshbench drives. One driver per protocol (src/drivers/). http2: HTTP/2 without gRPC (h2c, or h2 over TLS). */
export const PROTOCOLS = ['http1', 'grpc-bidi', 'grpc-unary', 'websocket', 'http2'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * The variants a run compares. `unmeshed` is the baseline; every other variant is judged against it.
 * The list is open so later environments can add e.g. `client-sidecar`, `server-sidecar`, `ambient`.
 */
export type VariantName = string;
export const BASELINE_VARIANT = 'unmeshed';
export const MESHED_VARIANT = 'meshed';

/**
 * Headers the echo workloads reflect back, so a client can prove which path a request took.
 * Lower-case, as HTTP/2 and Node's http module present them.
 */
export const REFLECTED_HEADERS = [
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'x-request-id',
  'x-forwarded-client-cert',
  'l5d-client-id',
  // A proxy on the path (RFC 9110 §7.6.3): the local sidecars of a one-sided placement (env.sidecars) add it.
  'via',
] as const;

/** Prefix under which the echo reflects a received header: `x-echo-<header>`. */
export const REFLECT_PREFIX = 'x-echo-';

/**
 * A call chain's reply (src/workloads/relay.ts): how every hop from the first relay on was reached, comma-separated,
 * first hop first — `mtls`, `sidecar` (a proxy without mTLS) or `direct`.
 */
export const CHAIN_HEADER = 'x-echo-chain';
