import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import net from 'node:net';
import { MeshbenchError } from '../errors.js';
import type { CompletionSink, Driver, DriverConnection, DriverModule, DriverOptions, ProbeResult } from './driver.js';
import { requestsOf } from './http1.js';
import { DEFAULT_EXPECT_STATUS, isExpectedStatus, parseExpectStatus } from './status.js';
import { tlsConnectOptions } from './target.js';
import { freshTraceparent, TRACEPARENT, TRACEPARENT_LENGTH } from './traceparent.js';

/**
 * HTTP/2 without gRPC, through node:http2 (nghttp2): `http://` is h2c with prior knowledge (no upgrade), as h2load
 * and gRPC speak it; `https://` is h2 over TLS (ALPN h2). Requests are the http1 driver's — the same method, body,
 * weighted mix and traffic mix (requestsOf) — turned into header blocks once at create(); a request is one stream.
 * See driver.ts for the contract.
 *
 * Logical connections share HTTP/2 connections in groups of `streamsPerConnection` (default 1: one TCP
 * connection per logical connection, as http1), each with at most one outstanding stream, so the load's
 * `connections` is the number of concurrent streams either way. A connection that closes or fails is opened
 * again by the next send on any of its streams.
 *
 * Not allocation-free: node:http2 makes a stream object, a header object and events per request (the
 * hot path is nghttp2's). A fresh traceparent costs one 55-byte string on top.
 *
 * Errors: a stream that ends with a status outside `expectStatus` reports 'status'; a stream reset, or closed
 * with its connection, 'reset' ('connect' when the connection never came up); a malformed frame is nghttp2's
 * to report, as a reset.
 */

/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); `host` becomes :authority. */
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'content-length']);
const OWNER = Symbol('meshbench.http2.owner');
const CONNECTED = Symbol('meshbench.http2.connected');

interface Http2Request {
  headers: OutgoingHttpHeaders;
  /** null: the request ends with its headers. */
  body: Buffer | null;
  traced: boolean;
}

type OwnedStream = ClientHttp2Stream & { [OWNER]?: Http2Connection };
type TrackedSession = ClientHttp2Session & { [CONNECTED]?: boolean };

function prepare(options: DriverOptions): { origin: string; requests: Http2Request[] } {
  const parts = requestsOf(options, 'http2');
  const origin = (parts[0] as (typeof parts)[number]).url.origin;
  const traced = options.mix?.traceparent === true;
  const requests = parts.map((r) => {
    const headers: OutgoingHttpHeaders = { ':method': r.method, ':path': r.url.pathname + r.url.search };
    for (const [name, value] of Object.entries(r.headers)) {
      const lower = name.toLowerCase();
      if (FORBIDDEN.has(lower)) throw new MeshbenchError('MB_BAD_ARGUMENT', `header "${name}" is connection-specific or set by the http2 driver; HTTP/2 forbids it: remove it from headers`);
      headers[lower] = value;
    }
    if (r.body.length > 0 && headers['content-type'] === undefined) headers['content-type'] = 'application/octet-stream';
    if (r.body.length > 0 || r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH') headers['content-length'] = r.body.length;
    return { headers, body: r.body.length > 0 ? Buffer.from(r.body.buffer, r.body.byteOffset, r.body.length) : null, traced };
  });
  return { origin, requests };
}

function sessionOptions(origin: string, options: DriverOptions): SecureClientSessionOptions {
  const url = new URL(origin);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (url.protocol === 'https:') return { ...tlsConnectOptions(host, options.tls), ALPNProtocols: ['h2'] };
  // h2c: our own socket, to turn Nagle off (a session's socket cannot be touched once http2 owns it).
  const port = url.port === '' ? 80 : Number(url.port);
  return { createConnection: () => net.connect({ host, port, noDelay: true }) };
}

class Http2Driver implements Driver {
  readonly protocol = 'http2' as const;
  readonly requests: Http2Request[];
  readonly expected: Uint8Array;
  readonly traceScratch = Buffer.allocUnsafe(TRACEPARENT_LENGTH);
  private readonly origin: string;
  private readonly connectOptions: SecureClientSessionOptions;
  private readonly perSession: number;
  private readonly sessions: (TrackedSession | null)[] = [];

  constructor(options: DriverOptions) {
    const { origin, requests } = prepare(options);
    this.origin = origin;
    this.requests = requests;
    this.connectOptions = sessionOptions(origin, options);
    this.expected = parseExpectStatus(options.expectStatus ?? DEFAULT_EXPECT_STATUS);
    this.perSession = Math.max(1, Math.floor(options.streamsPerConnection ?? 1));
  }

  /** The HTTP/2 connection of logical connection `index`, opened when there is none (or it closed). */
  session(index: number): TrackedSession {
    const slot = Math.floor(index / this.perSession);
    const current = this.sessions[slot];
    if (current !== null && current !== undefined && !current.closed && !current.destroyed) return current;
    const session: TrackedSession = http2.connect(this.origin, this.connectOptions);
    session.on('error', ignore); // its streams report
    session.once('connect', () => {
      session[CONNECTED] = true;
    });
    session.once('close', () => {
      if (this.sessions[slot] === session) this.sessions[slot] = null;
    });
    this.sessions[slot] = session;
    return session;
  }

  async connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    const session = this.session(index);
    if (session[CONNECTED] !== true) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        session.once('error', onError);
        session.once('connect', () => {
          session.off('error', onError);
          resolve();
        });
      });
    }
    return new Http2Connection(index, sink, this);
  }

  async close(): Promise<void> {
    const open = this.sessions.filter((s): s is TrackedSession => s !== null && !s.destroyed);
    this.sessions.length = 0;
    await Promise.all(open.map((s) => new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    })));
  }
}

class Http2Connection implements DriverConnection {
  private stream: OwnedStream | null = null;
  /** The HTTP/2 connection of the outstanding stream. */
  private session: TrackedSession | null = null;
  private status = 0;
  private cursor: number;
  private closed = false;

  constructor(
    readonly index: number,
    private readonly sink: CompletionSink,
    private readonly driver: Http2Driver,
  ) {
    // As http1: connections start at different slots of the requests, so a mix is spread from the first request.
    this.cursor = index % driver.requests.length;
  }

  send(): void {
    if (this.closed) return;
    const driver = this.driver;
    const request = driver.requests[this.cursor] as Http2Request;
    if (++this.cursor === driver.requests.length) this.cursor = 0;
    if (request.traced) request.headers[TRACEPARENT] = freshTraceparent(driver.traceScratch);
    const session = driver.session(this.index);
    this.session = session;
    this.status = 0;
    let stream: OwnedStream;
    try {
      stream = session.request(request.headers, { endStream: request.body === null });
    } catch {
      // The session is closing (GOAWAY, a reset we have not seen yet): drop it; the next send opens another.
      session.destroy();
      this.stream = null;
      queueMicrotask(() => this.sink.onError(this.index, 'reset'));
      return;
    }
    stream[OWNER] = this;
    this.stream = stream;
    stream.on('response', onStreamResponse);
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    stream.on('error', ignore); // 'close' follows and reports
    stream.resume(); // the body is read and dropped
    if (request.body !== null) stream.end(request.body);
  }

  onResponse(stream: OwnedStream, status: number): void {
    if (stream === this.stream) this.status = status;
  }

  onEnd(stream: OwnedStream): void {
    // A stream torn down with its connection ends too, without a response: 'close' reports it.
    if (stream !== this.stream || this.status === 0) return;
    this.stream = null;
    if (isExpectedStatus(this.driver.expected, this.status)) this.sink.onResponse(this.index);
    else this.sink.onError(this.index, 'status');
  }

  onClose(stream: OwnedStream): void {
    if (stream !== this.stream) return; // completed, aborted or replaced
    this.stream = null;
    this.sink.onError(this.index, this.session?.[CONNECTED] === true ? 'reset' : 'connect');
  }

  abort(): void {
    const stream = this.stream;
    this.stream = null;
    if (stream !== null && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  close(): Promise<void> {
    this.closed = true;
    this.abort();
    return Promise.resolve();
  }
}

function onStreamResponse(this: OwnedStream, headers: IncomingHttpHeaders): void {
  this[OWNER]?.onResponse(this, Number(headers[':status'] ?? 0));
}

function onStreamEnd(this: OwnedStream): void {
  this[OWNER]?.onEnd(this);
}

function onStreamClose(this: OwnedStream): void {
  this[OWNER]?.onClose(this);
}

function ignore(): void {}

/**
 * One request on a connection of its own (not the hot path): the load's first request (method, body, headers,
 * TLS), with a fresh traceparent under a traffic mix that sets one.
 */
function probe(options: DriverOptions, timeoutMs: number): Promise<ProbeResult> {
  const { origin, requests } = prepare(options);
  const request = requests[0] as Http2Request;
  const headers = request.traced ? { ...request.headers, [TRACEPARENT]: freshTraceparent(Buffer.allocUnsafe(TRACEPARENT_LENGTH)) } : request.headers;
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, sessionOptions(origin, options));
    const timer = setTimeout(() => fail(new Error(`no response from ${options.target} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    const stream = session.request(headers, { endStream: request.body === null });
    stream.on('error', fail);
    stream.on('response', (h) => {
      const out: Record<string, string> = {};
      for (const [name, value] of Object.entries(h)) {
        if (name.startsWith(':')) continue;
        const first = Array.isArray(value) ? value[0] : value;
        if (first !== undefined) out[name.toLowerCase()] = String(first);
      }
      stream.resume();
      stream.on('end', () => {
        clearTimeout(timer);
        session.close();
        resolve({ status: Number(h[':status'] ?? 0), headers: out });
      });
    });
    if (request.body !== null) stream.end(request.body);
  });
}

export const http2Driver: DriverModule = {
  create: (options) => new Http2Driver(options),
  probe,
};
export { http2Driver as http2 };
