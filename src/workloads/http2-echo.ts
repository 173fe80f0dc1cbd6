import http2, { type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { DelayQueue } from './delay.js';
import { parseEchoQuery, type EchoParams } from './http-query.js';
import { fillerBytes, MAX_PAYLOAD_BYTES } from './limits.js';
import { reflectHeaders } from './reflect.js';
import { serialWaitMs } from './serial.js';

/**
 * The HTTP/2 echo (h2c, prior knowledge) on the HTTP/1.1 echo's port: http-echo.ts hands it every connection
 * that opens with the HTTP/2 preface, as HAProxy's clear-text bind does. Same semantics as the HTTP/1.1 echo —
 * any method and path, the body echoed, `?size=N` / `?delayMs=N` / `?status=N`, the reflected headers as
 * `x-echo-<name>`, 400 with a message for a bad parameter, 413 over 16 MiB, HEAD without a body — through
 * node:http2 (nghttp2 does the framing; the HTTP/2 hot path is nghttp2's, not hand-written).
 */

/** The connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4); a first read starting so is h2c. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Whether a connection's first bytes are the HTTP/2 preface (a split preface: as much of it as came). */
export function isHttp2Preface(first: Buffer): boolean {
  const n = Math.min(first.length, PREFACE.length);
  return n >= 3 && first.compare(PREFACE, 0, n, 0, n) === 0;
}

export interface Http2Echo {
  /** Serves `socket` (its first bytes, already read, are pushed back first). */
  accept(socket: Socket, first: Buffer): void;
  /** Destroys every session at once. */
  destroySessions(): void;
}

export function createHttp2Echo(planted?: DelayQueue): Http2Echo {
  const sessions = new Set<Http2Session>();
  const server: Http2Server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', ignore);
  });
  server.on('stream', (stream, headers) => onStream(stream, headers, planted));
  return {
    accept(socket, first) {
      socket.pause();
      socket.unshift(first);
      server.emit('connection', socket);
    },
    destroySessions() {
      for (const session of sessions) session.destroy();
    },
  };
}

function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, planted: DelayQueue | undefined): void {
  stream.on('error', ignore);
  const path = headers[':path'] ?? '/';
  const q = path.indexOf('?');
  const params: EchoParams = { sizeBytes: -1, delayMs: 0, status: 200, serviceUs: 0 };
  const problem = q < 0 ? null : parseEchoQuery(Buffer.from(path.slice(q + 1), 'latin1'), path.length - q - 1, params);
  const chunks: Buffer[] = [];
  let bodyBytes = 0;
  stream.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
    if (params.sizeBytes < 0 && bodyBytes <= MAX_PAYLOAD_BYTES) chunks.push(chunk);
  });
  stream.on('end', () => {
    const reply = (): void => respond(stream, headers, params, problem, bodyBytes, chunks);
    const later = planted === undefined ? reply : (): void => planted.schedule(run, reply);
    const waitMs = problem !== null ? 0 : params.serviceUs > 0 ? serialWaitMs(params.serviceUs) : params.delayMs;
    if (waitMs > 0) setTimeout(later, waitMs).unref();
    else later();
  });
}

function respond(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, params: EchoParams, problem: string | null, bodyBytes: number, chunks: Buffer[]): void {
  if (stream.destroyed || stream.closed) return;
  const reflected = reflectHeaders(headers);
  const out: Record<string, string | number> = {};
  for (let i = 0; i < reflected.length; i += 2) out[reflected[i] as string] = reflected[i + 1] as string;
  const text = (status: number, message: string): void => {
    stream.respond({ ...out, ':status': status, 'content-type': 'text/plain' });
    stream.end(message + '\n');
  };
  if (problem !== null) return text(400, problem);
  if (bodyBytes > MAX_PAYLOAD_BYTES) return text(413, `meshbench echo: request body of ${bodyBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const status = params.status;
  if (status === 204 || status === 304 || headers[':method'] === 'HEAD') {
    stream.respond({ ...out, ':status': status }, { endStream: true });
    return;
  }
  const body = params.sizeBytes >= 0 ? fillerBytes(params.sizeBytes) : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  stream.respond({ ...out, ':status': status, 'content-length': body.length });
  stream.end(body);
}

function run(fn: () => void): void {
  fn();
}

function ignore(): void {}
