import { writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { MeshbenchError } from '../errors.js';
import type {
  CompletionSink,
  Driver,
  DriverConnection,
  DriverModule,
  DriverOptions,
  ErrorKind,
  ProbeResult,
  TlsOptions,
} from './driver.js';
import { Http1ResponseParser, type Http1ParserHandler } from './http1-parser.js';
import { requestPool, weightedOrder } from './mix.js';
import { DEFAULT_EXPECT_STATUS, isExpectedStatus, parseExpectStatus } from './status.js';
import { parseTarget, tlsConnectOptions } from './target.js';
import { freshTraceparent, TRACEPARENT, TRACEPARENT_LENGTH, TRACEPARENT_PLACEHOLDER, writeTraceparent } from './traceparent.js';

/**
 * HTTP/1.1 on raw sockets. Requests are serialized once at create() and the same Buffers are written for
 * every request (a weighted mix: one Buffer per request of the mix, walked in a precomputed order); each
 * connection owns one reused response parser. See driver.ts for the contract.
 *
 * Reads on plain TCP bypass the socket's Readable stream: `onread` makes libuv read into one buffer per
 * thread (shared by all connections — each read is parsed synchronously in its callback), so a response
 * costs no Buffer, no 'data' event and no stream bookkeeping. TLS sockets read through 'data' as usual.
 *
 * Connection semantics the load loop can rely on:
 * - connect() resolves when the TCP (or TLS) connection is up; it rejects with the socket error if it
 *   cannot connect. Later failures are reported per send.
 * - A response with `Connection: close` (or delimited by the close) completes normally; the socket is
 *   dropped and the next send() reconnects. A socket that closes while a request is outstanding reports
 *   'reset' ('connect' if it never connected); the next send() reconnects.
 * - A status outside `expectStatus` (default 2xx and 3xx) reports 'status' (the connection is kept); malformed
 *   bytes report 'protocol' and drop it.
 * - https:// connects with node:tls (the options of `tls`); the plain-TCP fast paths below are untouched by it.
 */

/** Request headers the driver owns; an extra header with one of these names is a configuration error. */
const RESERVED = new Set(['content-length', 'transfer-encoding', 'connection']);

interface Endpoint {
  host: string;
  port: number;
  /** node:tls options of an https:// target (server name, CAs, client certificate); null: plain TCP. */
  tls: tls.ConnectionOptions | null;
}

const parseHttpTarget = (target: string, protocol: 'http1' | 'http2' = 'http1'): URL => parseTarget(target, protocol, ['http:', 'https:'], 'http://host:port/path (or https://)');

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function endpointOf(url: URL, options: TlsOptions | undefined): Endpoint {
  const secure = url.protocol === 'https:';
  const host = hostOf(url);
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  return { host, port, tls: secure ? { ...tlsConnectOptions(host, options), ALPNProtocols: ['http/1.1'] } : null };
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** One serialized request, whether its response has no body (HEAD), and where its traceparent value is (-1: none). */
interface PreparedRequest {
  bytes: Buffer;
  bodiless: boolean;
  traceAt: number;
}

/** The whole request, head and body, as one Buffer. `url` gives path, query and Host. */
function serialize(url: URL, method: string, headers: Readonly<Record<string, string>>, body: Uint8Array): Buffer {
  if (!TOKEN.test(method)) throw new MeshbenchError('MB_BAD_ARGUMENT', `method "${method}" is not an HTTP method (token characters only, e.g. GET, POST, PATCH)`);
  let host = url.host;
  let extra = '';
  let contentType = false;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) {
      throw new MeshbenchError('MB_BAD_ARGUMENT', `header "${name}" is set by the http1 driver; remove it from headers`);
    }
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) {
      throw new MeshbenchError('MB_BAD_ARGUMENT', `header "${name}" has an invalid name or a line break in its value`);
    }
    if (lower === 'host') host = value;
    else extra += `${name}: ${value}\r\n`;
    if (lower === 'content-type') contentType = true;
  }
  // A body, or a method whose servers expect a length even when it is 0.
  const withLength = body.length > 0 || method === 'POST' || method === 'PUT' || method === 'PATCH';
  const head =
    `${method} ${url.pathname}${url.search} HTTP/1.1\r\n` +
    `Host: ${host}\r\n` +
    'Connection: keep-alive\r\n' +
    (body.length > 0 && !contentType ? 'Content-Type: application/octet-stream\r\n' : '') +
    (withLength ? `Content-Length: ${body.length}\r\n` : '') +
    extra +
    '\r\n';
  const headBytes = Buffer.byteLength(head, 'latin1');
  const request = Buffer.allocUnsafe(headBytes + body.length);
  request.write(head, 0, 'latin1');
  request.set(body, headBytes);
  return request;
}

/** The body of the single request: `body`, else payloadBytes of 'x'. */
function bodyOf(options: DriverOptions): Uint8Array {
  return options.body ?? Buffer.alloc(options.payloadBytes, 0x78);
}

/** The method of the single request: explicit, else POST with a body and GET without. */
function methodOf(options: DriverOptions, body: Uint8Array): string {
  return options.method ?? (body.length > 0 ? 'POST' : 'GET');
}

/** One request of a load, before serialization. */
export interface RequestParts {
  url: URL;
  method: string;
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
  weight: number;
}

/**
 * The requests of a load: the single one `options` describe, or each of its mix (paths on the target's origin);
 * under a traffic mix (`options.mix`), its pool, one request per slot (mix.ts).
 */
export function requestsOf(options: DriverOptions, protocol: 'http1' | 'http2' = 'http1'): RequestParts[] {
  const target = parseHttpTarget(options.target, protocol);
  let parts: RequestParts[];
  if (options.requests === undefined || options.requests.length === 0) {
    const body = bodyOf(options);
    parts = [{ url: target, method: methodOf(options, body), headers: options.headers, body, weight: 1 }];
  } else {
    parts = options.requests.map((r) => {
      if (!r.path.startsWith('/')) throw new MeshbenchError('MB_BAD_ARGUMENT', `request path "${r.path}" must start with "/"`);
      return { url: new URL(r.path, target), method: r.method, headers: { ...options.headers, ...r.headers }, body: r.body ?? new Uint8Array(0), weight: r.weight };
    });
  }
  const mix = options.mix;
  if (mix === undefined) return parts;
  const pooled = parts.map((r) => ({ path: r.url.pathname + r.url.search, method: r.method, body: r.body, headers: mix.traceparent === true ? { ...r.headers, [TRACEPARENT]: TRACEPARENT_PLACEHOLDER } : r.headers }));
  return requestPool(pooled, parts.map((r) => r.weight), mix).map((r) => ({ url: new URL(r.path, target), method: r.method, headers: r.headers, body: r.body, weight: 1 }));
}

const TRACE_LINE = Buffer.from(`\r\n${TRACEPARENT}: ${TRACEPARENT_PLACEHOLDER}\r\n`, 'latin1');

/** Every request a connection sends, and the order it sends them in (one slot per unit of weight; a mix's pool in order). */
export function prepareRequests(options: DriverOptions): { requests: PreparedRequest[]; order: Uint16Array } {
  const parts = requestsOf(options);
  const traced = options.mix?.traceparent === true;
  const pooled = options.mix !== undefined;
  return {
    requests: parts.map((r) => {
      const bytes = serialize(r.url, r.method, r.headers, r.body);
      const line = traced ? bytes.indexOf(TRACE_LINE) : -1;
      return { bytes, bodiless: r.method === 'HEAD', traceAt: line < 0 ? -1 : line + TRACEPARENT.length + 4 };
    }),
    order: parts.length === 1 ? new Uint16Array(1) : pooled ? Uint16Array.from(parts.keys()) : weightedOrder(parts.map((r) => r.weight)),
  };
}

/**
 * The file descriptor of a connected TCP socket, or -1. Node does not document `_handle.fd` (it is -1 on
 * Windows), so anything but a non-negative number turns the direct write off.
 */
function descriptorOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

const READ_BUFFER_BYTES = 64 * 1024;
let readBuffer: Buffer | undefined;

/** The read buffer of this thread (module instances are per thread). */
function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return readBuffer;
}

class Http1Connection implements DriverConnection, Http1ParserHandler {
  private readonly index: number;
  private readonly sink: CompletionSink;
  private readonly endpoint: Endpoint;
  private readonly shared: Http1Shared;
  /** The next slot of `shared.order`. */
  private cursor: number;
  private readonly parser: Http1ResponseParser;
  private socket: net.Socket | null = null;
  /** The current socket has completed its connect (a close then means 'reset', before it 'connect'). */
  private connected = false;
  /** The current socket's descriptor once connected, for writeDirect(); -1 when there is none (or TLS). */
  private fd = -1;
  private outstanding = false;
  private closed = false;
  private lastError: Error | null = null;

  constructor(index: number, sink: CompletionSink, endpoint: Endpoint, shared: Http1Shared) {
    this.index = index;
    this.sink = sink;
    this.endpoint = endpoint;
    this.shared = shared;
    // Connections start at different slots, so a mix is spread over the connections from the first request.
    this.cursor = index % shared.order.length;
    this.parser = new Http1ResponseParser(this);
  }

  /** Opens the first socket; resolves on connect, rejects with the socket error. */
  open(): Promise<void> {
    const socket = this.openSocket();
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        socket.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        socket.off(this.endpoint.tls !== null ? 'secureConnect' : 'connect', onConnect);
        reject(this.lastError ?? new Error(`connection to ${this.endpoint.host}:${this.endpoint.port} closed`));
      };
      socket.once(this.endpoint.tls !== null ? 'secureConnect' : 'connect', onConnect);
      socket.once('close', onClose);
    });
  }

  /**
   * One socket with its listeners. The closures are per socket (per connect), not per request; they check
   * that the socket is still the current one so a replaced socket's late events are ignored.
   */
  private openSocket(): net.Socket {
    const { host, port, tls: tlsOptions } = this.endpoint;
    const secure = tlsOptions !== null;
    let socket: net.Socket;
    if (secure) {
      socket = tls.connect({ ...tlsOptions, host, port });
      socket.on('data', (chunk: Buffer) => {
        if (this.socket === socket) this.parser.execute(chunk);
      });
    } else {
      const onRead = (bytes: number, buffer: Uint8Array): boolean => {
        if (this.socket === socket) this.parser.execute(buffer, bytes);
        return true;
      };
      socket = net.connect({ host, port, onread: { buffer: sharedReadBuffer(), callback: onRead } });
    }
    this.socket = socket;
    this.connected = false;
    this.fd = -1;
    this.parser.reset();
    socket.setNoDelay(true);
    socket.on(secure ? 'secureConnect' : 'connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      if (!secure) this.fd = descriptorOf(socket);
      this.sink.onConnected?.(this.index);
    });
    socket.on('end', () => {
      if (this.socket !== socket) return;
      this.parser.finish(); // completes a response delimited by the close
      if (this.socket === socket && !this.outstanding) this.dropSocket(); // idle close: reconnect on next send
    });
    socket.on('error', (err: Error) => {
      this.lastError = err; // 'close' follows and reports
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.fd = -1;
      this.parser.reset();
      if (!this.outstanding) return;
      this.outstanding = false;
      this.sink.onError(this.index, this.connected ? 'reset' : 'connect');
    });
    return socket;
  }

  send(): void {
    if (this.closed) return;
    this.outstanding = true;
    // Writes before the connect completes are queued by the socket. A failed connect surfaces as
    // 'error' + 'close' events, so the sink is never called synchronously from here.
    let socket = this.socket;
    if (socket === null || socket.destroyed || socket.writableEnded) {
      this.dropSocket();
      socket = this.openSocket();
    }
    const { requests, order } = this.shared;
    const request = requests[order[this.cursor] ?? 0] as PreparedRequest;
    if (++this.cursor === order.length) this.cursor = 0;
    this.parser.bodiless = request.bodiless;
    if (request.traceAt >= 0) return this.sendTraced(socket, request);
    if (!this.writeDirect(socket, request.bytes)) socket.write(request.bytes); // same Buffers every time
  }

  /**
   * A request with a fresh traceparent, written into the shared Buffer in place just before it goes to the
   * kernel. Whatever the stream has to keep for later (a partial write, a queued or TLS write) is a copy, so a
   * later rewrite by another connection cannot change bytes still waiting to be sent.
   */
  private sendTraced(socket: net.Socket, request: PreparedRequest): void {
    writeTraceparent(request.bytes, request.traceAt);
    if (!this.writeDirect(socket, request.bytes, true)) socket.write(Buffer.from(request.bytes));
  }

  /**
   * The write fast path on plain TCP: one write(2) on the socket's descriptor, bypassing the Writable
   * stream and its per-write request object (a third of the garbage per request). Taken only when nothing
   * is queued on the stream (so bytes cannot overtake it) and the connect has completed; any failure
   * (EAGAIN, EPIPE, no descriptor on this platform) returns false and the caller writes through the stream,
   * which queues the request or reports the error asynchronously. A partial write queues the rest.
   */
  private writeDirect(socket: net.Socket, bytes: Buffer, copyRest = false): boolean {
    if (this.fd < 0 || socket.writableLength !== 0) return false;
    let written: number;
    try {
      written = writeSync(this.fd, bytes);
    } catch {
      return false;
    }
    if (written < bytes.length) socket.write(copyRest ? Buffer.from(bytes.subarray(written)) : bytes.subarray(written));
    return true;
  }

  abort(): void {
    this.outstanding = false;
    this.dropSocket();
  }

  renew(): void {
    this.dropSocket();
  }

  close(): Promise<void> {
    this.closed = true;
    this.outstanding = false;
    const socket = this.socket;
    this.dropSocket();
    if (socket === null || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    this.fd = -1;
    this.parser.reset();
    if (socket !== null) socket.destroy();
  }

  onParsedResponse(status: number, keepAlive: boolean): void {
    if (!keepAlive) this.dropSocket(); // the next send reconnects
    if (!this.outstanding) {
      this.dropSocket(); // an unsolicited response: the connection is out of step
      return;
    }
    this.outstanding = false;
    if (isExpectedStatus(this.shared.expected, status)) this.sink.onResponse(this.index);
    else this.sink.onError(this.index, 'status');
  }

  onParseError(): void {
    this.dropSocket();
    this.report('protocol');
  }

  private report(kind: ErrorKind): void {
    if (!this.outstanding) return;
    this.outstanding = false;
    this.sink.onError(this.index, kind);
  }
}

/** What every connection of a driver shares: the prepared requests, their order, the expected statuses. */
interface Http1Shared {
  requests: PreparedRequest[];
  order: Uint16Array;
  /** parseExpectStatus's table. */
  expected: Uint8Array;
}

class Http1Driver implements Driver {
  readonly protocol = 'http1' as const;
  private readonly endpoint: Endpoint;
  private readonly shared: Http1Shared;

  constructor(options: DriverOptions) {
    this.endpoint = endpointOf(parseHttpTarget(options.target), options.tls);
    this.shared = { ...prepareRequests(options), expected: parseExpectStatus(options.expectStatus ?? DEFAULT_EXPECT_STATUS) };
  }

  async connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    const connection = new Http1Connection(index, sink, this.endpoint, this.shared);
    await connection.open();
    return connection;
  }

  async close(): Promise<void> {
    // Nothing shared: each connection owns its socket.
  }
}

/**
 * One request through node:http (not the hot path): status and lower-cased headers, first value each. It is
 * the load's single request, or the first of its mix: same method, body, headers and TLS options.
 */
function probe(options: DriverOptions, timeoutMs: number): Promise<ProbeResult> {
  const { url, method, headers: prepared, body } = requestsOf(options)[0] as RequestParts;
  const headers = options.mix?.traceparent === true ? { ...prepared, [TRACEPARENT]: freshTraceparent(Buffer.allocUnsafe(TRACEPARENT_LENGTH)) } : prepared;
  const secure = url.protocol === 'https:';
  const request = secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: { ...headers, ...(body.length > 0 ? { 'content-length': String(body.length) } : {}) },
      agent: false,
      timeout: timeoutMs,
      ...(secure ? tlsConnectOptions(hostOf(url), options.tls) : {}),
    });
    req.on('timeout', () => req.destroy(new Error(`no response from ${options.target} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        const first = Array.isArray(value) ? value[0] : value;
        if (first !== undefined) headers[name.toLowerCase()] = first;
      }
      res.resume();
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
    });
    req.end(body);
  });
}

export const http1: DriverModule = {
  create: (options) => new Http1Driver(options),
  probe,
};
