import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DelayQueue } from './delay.js';
import { fillerBytes, MAX_DELAY_MS, MAX_PAYLOAD_BYTES } from './limits.js';
import { reflectHeaders } from './reflect.js';

/**
 * The HTTP/1.1 echo. Any method, any path: 200 with the request body echoed and Content-Length set.
 * Query parameters (all optional, unknown ones ignored):
 *   size=N     reply with N filler bytes instead of the body (0..16 MiB)
 *   delayMs=N  reply N ms after the request body has arrived (0..60000)
 *   status=N   reply with status N (200..599; 204 and 304 carry no body and no Content-Length)
 * A bad value gets 400 with a text/plain message saying what to fix; a body over 16 MiB gets 413.
 * Every response carries the reflected headers (src/workloads/reflect.ts).
 *
 * This sits on the benchmark's hot path: per-request state lives on the request object (a subclass of
 * IncomingMessage the server constructs anyway) and the listeners are module-level functions, so a request
 * costs no closures; the query is scanned in place, without URL objects, and only when a `?` is present.
 */

/** Requests as this server constructs them: the IncomingMessage plus this request's echo state. */
export class EchoRequestMessage extends IncomingMessage {
  response: ServerResponse<EchoRequestMessage> | undefined = undefined;
  /** First body chunk; most bodies arrive in one. */
  firstChunk: Buffer | undefined = undefined;
  /** Further body chunks, only when there are several. */
  moreChunks: Buffer[] | undefined = undefined;
  bodyBytes = 0;
  /** -1 = echo the body; otherwise reply with this many filler bytes. */
  sizeBytes = -1;
  delayMs = 0;
  status = 200;
  delayTimer: NodeJS.Timeout | undefined = undefined;
  /** The planted delay every response waits for (src/workloads/delay.ts); set per server, undefined when off. */
  planted: DelayQueue | undefined = undefined;
}

type EchoResponse = ServerResponse<EchoRequestMessage>;

/** Keep-alive generous enough to outlive the load's idle gaps and typical proxy idle timeouts (60 s). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 30_000;
/** Must exceed the longest delay plus time to receive a 16 MiB body on a slow path. */
const REQUEST_TIMEOUT_MS = 180_000;

/**
 * A node:http server running the echo; not yet listening. Attach the websocket echo to the same server.
 * `planted`: every echo response waits for it first (a calibration knob; the requests of such a server are
 * a subclass that carries the queue, so the path without it is unchanged).
 */
export function createHttpEcho(planted?: DelayQueue): Server<typeof EchoRequestMessage> {
  const Incoming = planted === undefined ? EchoRequestMessage : class PlantedRequestMessage extends EchoRequestMessage {
    override planted: DelayQueue | undefined = planted;
  };
  const server = createServer<typeof EchoRequestMessage>(
    {
      IncomingMessage: Incoming,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      noDelay: true,
    },
    onRequest,
  );
  server.maxRequestsPerSocket = 0;
  return server;
}

function onRequest(req: EchoRequestMessage, res: EchoResponse): void {
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  if (queryStart !== -1) {
    const problem = parseQuery(url, queryStart + 1, req);
    if (problem !== null) return replyText(req, res, 400, problem);
  }
  req.response = res;
  const contentLength = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined) {
    // No body: reply now. Node dumps the (empty) unread request when the response finishes.
    if (contentLength === undefined || contentLength === '0') return schedule(req);
    if (Number(contentLength) > MAX_PAYLOAD_BYTES) {
      res.shouldKeepAlive = false; // the unread body would otherwise be parsed as the next request
      return replyText(req, res, 413, `meshbench echo: request body of ${contentLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    }
  }
  req.on('data', onData);
  req.on('end', onEnd);
}

function onData(this: EchoRequestMessage, chunk: Buffer): void {
  this.bodyBytes += chunk.length;
  if (this.bodyBytes > MAX_PAYLOAD_BYTES) {
    this.firstChunk = undefined; // keep counting (chunked bodies), stop keeping
    this.moreChunks = undefined;
  } else if (this.firstChunk === undefined) {
    this.firstChunk = chunk;
  } else if (this.moreChunks === undefined) {
    this.moreChunks = [chunk];
  } else {
    this.moreChunks.push(chunk);
  }
}

function onEnd(this: EchoRequestMessage): void {
  const res = this.response;
  if (res === undefined) return;
  if (this.bodyBytes > MAX_PAYLOAD_BYTES) {
    return replyText(this, res, 413, `meshbench echo: request body of ${this.bodyBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  }
  schedule(this);
}

function schedule(req: EchoRequestMessage): void {
  if (req.delayMs === 0) return respond(req);
  req.delayTimer = setTimeout(respond, req.delayMs, req);
  req.delayTimer.unref(); // a pending delay must not keep a closed echo's process alive
  req.response?.once('close', onResponseClose);
}

function onResponseClose(this: EchoResponse): void {
  if (this.req.delayTimer !== undefined) clearTimeout(this.req.delayTimer);
}

/** Replies now, or after the planted delay when the server has one: the one hook for it. */
function respond(req: EchoRequestMessage): void {
  if (req.planted === undefined) reply(req);
  else req.planted.schedule(reply, req);
}

function reply(req: EchoRequestMessage): void {
  const res = req.response;
  if (res === undefined || res.destroyed) return;
  const status = req.status;
  if (status === 204 || status === 304) {
    res.writeHead(status, reflectHeaders(req.headers));
    res.end();
    return;
  }
  const body = req.sizeBytes >= 0 ? fillerBytes(req.sizeBytes) : takeBody(req);
  res.writeHead(status, reflectHeaders(req.headers, ['content-length', String(body.length)]));
  res.end(body);
}

const EMPTY = Buffer.alloc(0);

function takeBody(req: EchoRequestMessage): Buffer {
  const first = req.firstChunk;
  if (first === undefined) return EMPTY;
  const more = req.moreChunks;
  if (more === undefined) return first;
  more.unshift(first);
  return Buffer.concat(more, req.bodyBytes);
}

function replyText(req: EchoRequestMessage, res: EchoResponse, status: number, message: string): void {
  const body = Buffer.from(message + '\n');
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length)];
  res.writeHead(status, reflectHeaders(req.headers, headers));
  res.end(body);
}

/**
 * Reads size / delayMs / status from the query starting at `start` into `req`. Returns null, or a message
 * saying which parameter is wrong and what it accepts. Scans the string in place; slices only for errors.
 */
function parseQuery(url: string, start: number, req: EchoRequestMessage): string | null {
  let at = start;
  while (at < url.length) {
    let end = url.indexOf('&', at);
    if (end === -1) end = url.length;
    const eq = url.indexOf('=', at);
    if (eq !== -1 && eq < end) {
      const keyLength = eq - at;
      if (keyLength === 4 && url.startsWith('size', at)) {
        req.sizeBytes = parseUint(url, eq + 1, end, MAX_PAYLOAD_BYTES);
        if (req.sizeBytes < 0) return badParam(url, eq, end, 'size', `an integer 0..${MAX_PAYLOAD_BYTES}`);
      } else if (keyLength === 7 && url.startsWith('delayMs', at)) {
        req.delayMs = parseUint(url, eq + 1, end, MAX_DELAY_MS);
        if (req.delayMs < 0) return badParam(url, eq, end, 'delayMs', `an integer 0..${MAX_DELAY_MS}`);
      } else if (keyLength === 6 && url.startsWith('status', at)) {
        req.status = parseUint(url, eq + 1, end, 599);
        if (req.status < 200) return badParam(url, eq, end, 'status', 'an integer 200..599');
      }
    }
    at = end + 1;
  }
  return null;
}

/** The decimal integer in url[from, to), or -1 when it is empty, not all digits, or above max. */
function parseUint(url: string, from: number, to: number, max: number): number {
  if (from === to || to - from > 10) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = url.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value > max ? -1 : value;
}

function badParam(url: string, eq: number, end: number, name: string, accepts: string): string {
  return `meshbench echo: query parameter ${name} must be ${accepts}, got "${url.slice(eq + 1, end)}"`;
}
