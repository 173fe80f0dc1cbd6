import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshbenchError } from '../errors.js';
import { CHAIN_HEADER, REFLECT_PREFIX } from '../protocols.js';
import { reflectHeaders } from './reflect.js';

/**
 * A relay: a service in the middle of a call chain (env.hops), as a real service calling the next one would be.
 * Each request it takes (HTTP/1.1, any method and path) becomes a new request to the next hop over its own
 * keep-alive pool; the answer goes back with the next hop's status and body. One relay process listens on one
 * port per route (`to`), so the local env can route both variants through the same process — the unmeshed port
 * to the next hop directly, the meshed one to the next hop's client sidecar — and they differ by the path alone.
 *
 * Forwarded: the end-to-end headers a service propagates (trace context, x-request-id, content-type, ...); not
 * the hop-by-hop ones, and not the mesh markers a sidecar sets for its own hop (x-forwarded-client-cert,
 * l5d-client-id, via): each hop must prove its own path. The reply carries the relay's own reflected headers
 * (what reached this hop, as the echo reflects) and `x-echo-chain`: how every hop from here on was reached,
 * comma-separated, first hop first — `mtls` (a verified client certificate arrived), `sidecar` (a sidecar
 * without mTLS: `via`), `direct`.
 */

export type HopMark = 'mtls' | 'sidecar' | 'direct';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and what the relay sets itself. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
/** Set by a sidecar for the hop it proxies; a relay never passes them on. */
export const HOP_MARKERS = ['x-forwarded-client-cert', 'l5d-client-id', 'via'] as const;
const UPSTREAM_TIMEOUT_MS = 30_000;

/** How a hop was reached, from the headers that arrived there (`prefix` '' for a request, 'x-echo-' for a reflection). */
export function hopMark(headers: Readonly<Record<string, unknown>>, prefix = ''): HopMark {
  const has = (name: string): boolean => {
    const value = headers[prefix + name];
    return typeof value === 'string' ? value !== '' : Array.isArray(value) && value.length > 0;
  };
  if (has('x-forwarded-client-cert') || has('l5d-client-id')) return 'mtls';
  return has('via') ? 'sidecar' : 'direct';
}

/** The chain from this hop on: own mark, then the next hop's chain (a relay's) or mark (the echo's reflection). */
export function chainOf(own: HopMark, downstream: IncomingHttpHeaders): string {
  const rest = downstream[CHAIN_HEADER];
  return `${own}, ${typeof rest === 'string' && rest !== '' ? rest : hopMark(downstream, REFLECT_PREFIX)}`;
}

export function forwardedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_FORWARDED.has(name) || (HOP_MARKERS as readonly string[]).includes(name)) continue;
    out[name] = value;
  }
  return out;
}

export interface Relay {
  host: string;
  /** The port of each route, in the order of `to`. */
  ports: number[];
  /** Stops listening and drops every connection, both sides. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts one listening port per `to` entry: the next hop's http://host:port (the path is ignored: each request
 * keeps its own), or several, comma-separated — the replicas of the next hop, taken in turn per request.
 */
export async function startRelay(host: string, to: readonly string[]): Promise<Relay> {
  // noDelay: a request goes out as head and body writes; Nagle would hold the body for the peer's delayed ACK.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', noDelay: true });
  const servers = to.map((route) => {
    const nexts = route.split(',').map((url) => {
      const next = URL.canParse(url) ? new URL(url) : null;
      if (next?.protocol !== 'http:') throw new MeshbenchError('MB_BAD_ARGUMENT', `relay: --to ${url} is not an http:// URL; the relay forwards HTTP/1.1 in clear text (sidecars add TLS)`);
      return next;
    });
    let turn = 0;
    const server = createServer({ keepAliveTimeout: 300_000, noDelay: true }, (req, res) => forward(agent, nexts[turn++ % nexts.length] as URL, req, res));
    server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    return server;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all(servers.map((s) => closeServer(s))).then(() => agent.destroy()));
  try {
    const ports: number[] = [];
    for (const server of servers) ports.push(await listen(server, host));
    return { host, ports, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function forward(agent: Agent, next: URL, req: IncomingMessage, res: ServerResponse): void {
  const own = hopMark(req.headers);
  const upstream = request(
    { agent, host: next.hostname, port: next.port, method: req.method, path: req.url, headers: forwardedHeaders(req.headers), timeout: UPSTREAM_TIMEOUT_MS },
    (answer) => {
      const headers: string[] = reflectHeaders(req.headers);
      const type = answer.headers['content-type'];
      if (type !== undefined) headers.push('content-type', type);
      const length = answer.headers['content-length'];
      if (length !== undefined) headers.push('content-length', length);
      headers.push(CHAIN_HEADER, chainOf(own, answer.headers));
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${UPSTREAM_TIMEOUT_MS} ms`)));
  upstream.on('error', (err) => {
    if (res.headersSent) return void res.destroy();
    const body = `meshbench relay: the next hop ${next.host} failed: ${err.message}\n`;
    res.writeHead(502, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  req.pipe(upstream);
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new MeshbenchError('MB_ENV_FAILED', `relay: cannot listen on ${host} (${err.message}); check --host is an address of this machine`, { cause: err })));
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * `meshbench relay`: starts the relay, hands `write` one line once listening —
 *   {"event":"listening","host":"127.0.0.1","ports":[41234,41235]}
 * — and resolves once SIGTERM, SIGINT or `signal` stopped it (nothing here exits the process).
 */
export async function runRelayProcess(host: string, to: readonly string[], write: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const relay = await startRelay(host, to);
  let onStop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, onStop);
  signal?.addEventListener('abort', onStop, { once: true });
  try {
    if (signal?.aborted !== true) {
      write(JSON.stringify({ event: 'listening', host: relay.host, ports: relay.ports }));
      await stopped;
    }
  } finally {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.off(name, onStop);
    await relay.close();
  }
}
