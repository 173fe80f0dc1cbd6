import type { SidecarPlacement } from '../../config/schema.js';
import { SERVER_NAME, SERVER_SPIFFE_ID } from './pki.js';

/**
 * Renders the two HAProxy configurations of the local sidecar pair (pure functions of a plan):
 *
 *   client → A (client sidecar, clear text) ══mTLS══▶ B (server sidecar) → echo
 *
 * http mode (Istio-like, L7): A has ONE clear-text `mode http` port; HAProxy detects the HTTP/2
 * prior-knowledge preface itself, so HTTP/1.1, h2c gRPC and websocket upgrades share it. A→B is TLS with
 * a client certificate, ALPN h2,http/1.1, and a hostname check of B's certificate (sni + verifyhost). B
 * requires a client certificate from the run CA, replaces any inbound x-forwarded-client-cert with one built
 * from the verified certificate (as Istio's sidecar does), and routes gRPC (content-type application/grpc)
 * over h2 to the echo's gRPC port, everything else to its HTTP port.
 *
 * tcp mode (ambient-like, L4): each echo port gets its own tunnel A→B (`mode tcp`), so nothing can be added
 * to requests; mTLS is still required and verified.
 *
 * Placement (env.sidecars, as Istio's benchmark): `both` is the pair above; `client-only` runs A alone, which
 * balances over the echoes in clear text; `server-only` runs B alone, binding clear text (a client without a
 * sidecar has no certificate). Neither can prove mTLS, so in http mode the one sidecar adds `via: 1.1 <role>`
 * (RFC 9110), which the echo reflects as proof that the request passed it.
 *
 * Both: no logging on the data path, one thread each, explicit maxconn, long timeouts for streams and
 * websockets (`timeout tunnel`), never `daemon` (the processes are our children; we own their lifetime).
 */

export type SidecarMode = 'http' | 'tcp';

export interface SidecarPlan {
  mode: SidecarMode;
  /** Which sidecars run (default both): see above. */
  placement?: SidecarPlacement;
  /** Ports A listens on. In http mode only `http` is used: one port carries every protocol. */
  clientPorts: { http: number; grpc: number };
  /** Ports B listens on (mTLS). In http mode only `http` is used. */
  serverPorts: { http: number; grpc: number };
  /**
   * The echo replicas behind B, balanced round-robin (per request in http mode, per connection in tcp mode):
   * the same processes the unmeshed variant reaches directly (local/index.ts says why).
   */
  echoes: readonly { host: string; httpPort: number; grpcPort: number }[];
  /** Address both sidecars bind to. */
  bindHost: string;
  files: {
    caFile: string;
    serverPem: string;
    clientPem: string;
    /** Map of client certificate SHA-256 (lower hex) → SPIFFE URI, for xfcc's URI field. */
    identitiesMap: string;
  };
  /** Global and per-frontend connection limit. */
  maxconn: number;
  /**
   * Each sidecar's admin socket, which hands its listening sockets to a new process (`expose-fd listeners`):
   * a hitless reload (`haproxy -x <socket> -sf <old pid>`) then never closes a listening socket, so no
   * connection is refused or reset while the processes swap. Absent: no socket.
   */
  sockets?: { client: string; server: string };
}

export const DEFAULT_MAXCONN = 9000;
/** Streams and websockets may live for a whole round; HAProxy must not cut them. */
export const LONG_TIMEOUT = '1h';
export const XFCC = 'x-forwarded-client-cert';
/** How long a sidecar replaced by a hitless reload may go on serving its connections (`hard-stop-after`). */
export const DRAIN_AFTER_RELOAD = '5s';

/** How many distinct listening ports a mode needs (A's and B's). */
export function portsNeeded(mode: SidecarMode): number {
  return mode === 'http' ? 2 : 4;
}

/** The sidecars a plan runs, and the one the client reaches first (whose ports are the meshed target). */
export function sidecarsOf(plan: SidecarPlan): { client: boolean; server: boolean; entry: 'client' | 'server' } {
  const placement = plan.placement ?? 'both';
  return { client: placement !== 'server-only', server: placement !== 'client-only', entry: placement === 'server-only' ? 'server' : 'client' };
}

/** The `via` a lone sidecar adds (http mode): the proof that a request passed it. */
export function viaOf(role: 'client' | 'server'): string {
  return `1.1 ${role}-sidecar`;
}

/** A config-level word in double quotes: backslash, double quote and `$` (env expansion) escaped. */
function q(value: string): string {
  return '"' + value.replace(/[\\"$]/g, (c) => '\\' + c) + '"';
}

/** A string argument inside a sample expression, e.g. map(<file>): quoted again for the argument parser. */
function sampleArg(value: string): string {
  return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

function header(plan: SidecarPlan, role: 'client' | 'server'): string[] {
  const socket = plan.sockets?.[role];
  return [
    `# meshbench ${role} sidecar (${plan.mode} mode) — generated per run; do not edit`,
    'global',
    `    maxconn ${plan.maxconn}`,
    '    nbthread 1',
    ...(socket === undefined ? [] : [
      `    stats socket ${q(socket)} mode 600 level admin expose-fd listeners`,
      // After a reload the old process serves its connections at most this long (Istio's default drain duration):
      // a long-lived stream would otherwise keep the old generation — and its certificates — forever.
      `    hard-stop-after ${DRAIN_AFTER_RELOAD}`,
    ]),
    // No `daemon`, no `log`: we run in the foreground as a child and keep the data path free of logging.
    '    ssl-default-bind-options ssl-min-ver TLSv1.2',
    '    ssl-default-server-options ssl-min-ver TLSv1.2',
    '    ssl-server-verify required',
    // Envoy allows (practically) unbounded streams per h2 connection; HAProxy's default of 100 would
    // queue gRPC streams beyond 100 per connection.
    '    tune.h2.max-concurrent-streams 1000',
    '',
    'defaults',
    `    mode ${plan.mode}`,
    `    maxconn ${plan.maxconn}`,
    '    timeout connect 5s',
    `    timeout client ${LONG_TIMEOUT}`,
    `    timeout server ${LONG_TIMEOUT}`,
    `    timeout tunnel ${LONG_TIMEOUT}`,
    ...(plan.mode === 'http' ? ['    timeout http-request 30s', '    timeout http-keep-alive 5m'] : []),
    '    timeout client-fin 5s',
    '    timeout server-fin 5s',
    '',
  ];
}

/** A's server line toward B: client certificate, trust only the run CA, check B's identity. */
function mtlsServer(plan: SidecarPlan, port: number): string {
  const alpn = plan.mode === 'http' ? ' alpn h2,http/1.1' : '';
  return (
    `    server server-sidecar ${plan.bindHost}:${port} ssl crt ${q(plan.files.clientPem)} ca-file ${q(plan.files.caFile)}` +
    ` verify required verifyhost ${SERVER_NAME} sni str(${SERVER_NAME})${alpn}`
  );
}

/** B's TLS bind: server certificate, client certificate required and verified against the run CA. */
function mtlsBind(plan: SidecarPlan, port: number): string {
  const alpn = plan.mode === 'http' ? ' alpn h2,http/1.1' : '';
  return `    bind ${plan.bindHost}:${port} ssl crt ${q(plan.files.serverPem)} ca-file ${q(plan.files.caFile)} verify required${alpn}`;
}

/** The client sidecar (A). */
export function renderClientSidecar(plan: SidecarPlan): string {
  if (!sidecarsOf(plan).server) return renderLoneSidecar(plan, 'client');
  const lines = header(plan, 'client');
  if (plan.mode === 'http') {
    lines.push(
      'frontend outbound',
      `    bind ${plan.bindHost}:${plan.clientPorts.http}`,
      `    maxconn ${plan.maxconn}`,
      '    default_backend server-sidecar',
      '',
      'backend server-sidecar',
      mtlsServer(plan, plan.serverPorts.http),
    );
  } else {
    for (const kind of ['http', 'grpc'] as const) {
      lines.push(
        `listen outbound-${kind}`,
        `    bind ${plan.bindHost}:${plan.clientPorts[kind]}`,
        `    maxconn ${plan.maxconn}`,
        mtlsServer(plan, plan.serverPorts[kind]),
        '',
      );
    }
  }
  return lines.join('\n').trimEnd() + '\n';
}

/**
 * The server sidecar (B). xfcc in Istio's shape: By=<own identity>;Hash=<sha256 of the client cert>;
 * Subject="<client DN>";URI=<client SPIFFE id>. HAProxy 2.6 cannot read a SAN URI, so the URI comes from the
 * identities map keyed by the verified certificate's hash (omitted for a certificate not in the map).
 */
export function renderServerSidecar(plan: SidecarPlan): string {
  if (!sidecarsOf(plan).client) return renderLoneSidecar(plan, 'server');
  const lines = header(plan, 'server');
  if (plan.mode === 'http') {
    const base = `By=${SERVER_SPIFFE_ID};Hash=%[var(txn.peer_hash)];Subject=\\"%[ssl_c_s_dn(,0,rfc2253)]\\"`;
    lines.push(
      'frontend inbound',
      mtlsBind(plan, plan.serverPorts.http),
      `    maxconn ${plan.maxconn}`,
      // A client must not be able to forge the proof: drop whatever came in, then state what we verified.
      `    http-request del-header ${XFCC}`,
      '    http-request set-var(txn.peer_hash) ssl_c_der,sha2(256),hex,lower',
      `    http-request set-var(txn.peer_uri) ${q(`var(txn.peer_hash),map(${sampleArg(plan.files.identitiesMap)})`)}`,
      `    http-request set-header ${XFCC} "${base};URI=%[var(txn.peer_uri)]" if { var(txn.peer_uri) -m found }`,
      `    http-request set-header ${XFCC} "${base}" unless { var(txn.peer_uri) -m found }`,
      ...echoBackends(plan),
    );
  } else {
    for (const kind of ['http', 'grpc'] as const) lines.push(...tcpToEchoes(plan, `inbound-${kind}`, mtlsBind(plan, plan.serverPorts[kind]), kind));
  }
  return lines.join('\n').trimEnd() + '\n';
}

function echoServers(plan: SidecarPlan, port: (e: SidecarPlan['echoes'][number]) => number, options = ''): string[] {
  return plan.echoes.map((e, i) => `    server echo${i + 1} ${e.host}:${port(e)}${options}`);
}

/** The end of an http-mode frontend toward the echoes: gRPC to their gRPC ports over h2, the rest to HTTP. */
function echoBackends(plan: SidecarPlan): string[] {
  return [
    '    acl grpc req.hdr(content-type) -m beg application/grpc',
    '    use_backend echo-grpc if grpc',
    '    default_backend echo-http',
    '',
    'backend echo-http',
    '    balance roundrobin',
    ...echoServers(plan, (e) => e.httpPort),
    '',
    'backend echo-grpc',
    '    balance roundrobin',
    // gRPC needs HTTP/2 upstream; without `proto h2` HAProxy would speak HTTP/1.1 to the gRPC server.
    ...echoServers(plan, (e) => e.grpcPort, ' proto h2'),
  ];
}

/** A tcp-mode proxy of one echo port kind, balancing connections over the echoes. */
function tcpToEchoes(plan: SidecarPlan, name: string, bind: string, kind: 'http' | 'grpc'): string[] {
  return [`listen ${name}`, bind, `    maxconn ${plan.maxconn}`, '    balance roundrobin', ...echoServers(plan, (e) => (kind === 'http' ? e.httpPort : e.grpcPort)), ''];
}

/**
 * A one-sided placement's only sidecar: clear text in, clear text to the echoes (no peer to do mTLS with), on
 * the ports of its role; in http mode it strips any inbound mesh marker and adds its `via`.
 */
function renderLoneSidecar(plan: SidecarPlan, role: 'client' | 'server'): string {
  const lines = header(plan, role);
  const ports = role === 'client' ? plan.clientPorts : plan.serverPorts;
  if (plan.mode === 'http') {
    lines.push(
      `frontend ${role === 'client' ? 'outbound' : 'inbound'}`,
      `    bind ${plan.bindHost}:${ports.http}`,
      `    maxconn ${plan.maxconn}`,
      `    http-request del-header ${XFCC}`,
      `    http-request set-header via ${q(viaOf(role))}`,
      ...echoBackends(plan),
    );
  } else {
    for (const kind of ['http', 'grpc'] as const) lines.push(...tcpToEchoes(plan, `${role === 'client' ? 'outbound' : 'inbound'}-${kind}`, `    bind ${plan.bindHost}:${ports[kind]}`, kind));
  }
  return lines.join('\n').trimEnd() + '\n';
}
