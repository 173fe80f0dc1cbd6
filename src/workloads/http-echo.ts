import { writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ByteBuffer } from './bytes.js';
import { parseEchoQuery, type EchoParams } from './http-query.js';
import { CONTINUE_100, KEEP_ALIVE_TIMEOUT_MS, startDateClock, writeResponseHead } from './http-response.js';
import { HttpRequestParser, METHOD_HEAD, type HttpRequestSink, type RequestHead } from './http-server-parser.js';
import { fillerBytes, MAX_PAYLOAD_BYTES } from './limits.js';
import type { DelayQueue } from './delay.js';
import { createHttp2Echo, isHttp2Preface } from './http2-echo.js';
import { serialWaitMs } from './serial.js';
import { acceptWebsocket, WebsocketSession, type FrameOutput } from './websocket.js';

/**
 * The HTTP/1.1 echo on raw sockets (node:net), with the websocket echo on the same port (any path upgrades).
 * Any method, any path: 200 with the request body echoed and Content-Length set; query parameters in
 * src/workloads/http-query.ts (204 and 304 carry no body and no Content-Length; HEAD gets the head only).
 * A bad parameter gets 400 with a text/plain message saying what to fix; a body over 16 MiB gets 413.
 * Content-Length and chunked request bodies, keep-alive (HTTP/1.1 by default, `Connection: close`
 * honoured, HTTP/1.0 only with keep-alive), pipelining (replies in order), Expect: 100-continue. Every
 * response carries the reflected headers (src/workloads/reflect.ts). Malformed requests get 400 (431 for a
 * head over 64 KiB) and the connection closes.
 *
 * This is the benchmark's hot path, so a request costs no objects: the parser and output buffers belong to
 * the connection and are reused, a response is assembled as bytes and handed to the kernel with one
 * write(2) on the descriptor when nothing is queued (the stream's per-write request objects are a large
 * share of node:http's garbage). What remains per request is the Buffer Node allocates for each socket read.
 */

export interface HttpEcho {
  server: Server;
  /** Destroys every open connection (keep-alive, pending delays, websockets) at once. */
  destroyConnections(): void;
}

/** Bodies up to this size are copied next to the head (one write); larger ones go out as their own Buffer. */
const INLINE_BODY_MAX_BYTES = 16 * 1024;
const OUTPUT_INITIAL_BYTES = 4 * 1024;

/**
 * A node:net server running the echo; not yet listening. `planted` (a calibration knob, env.plantedDelayMs):
 * every byte the echo sends — HTTP responses and websocket frames alike — waits for it first, in order.
 */
export function createHttpEcho(planted?: DelayQueue): HttpEcho {
  startDateClock();
  const connections = new Set<EchoConnection>();
  const h2 = createHttp2Echo(planted);
  // A connection opening with the HTTP/2 preface is h2c (http2-echo.ts); any other is HTTP/1.1 (or a websocket).
  const unread = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    unread.add(socket);
    socket.on('error', ignore);
    socket.once('close', () => unread.delete(socket));
    socket.once('data', (first: Buffer) => {
      unread.delete(socket);
      if (isHttp2Preface(first)) return h2.accept(socket, first);
      const connection = new EchoConnection(socket, connections, planted);
      connections.add(connection);
      connection.receive(first);
    });
  });
  return {
    server,
    destroyConnections(): void {
      for (const socket of unread) socket.destroy();
      for (const connection of connections) connection.socket.destroy();
      h2.destroySessions();
    },
  };
}

class EchoConnection implements HttpRequestSink, FrameOutput {
  readonly out = new ByteBuffer(OUTPUT_INITIAL_BYTES);
  private readonly body = new ByteBuffer(OUTPUT_INITIAL_BYTES);
  private readonly parser = new HttpRequestParser(this);
  /** The descriptor for direct writes; -1 where Node exposes none (then every write goes through the stream). */
  private readonly fd: number;
  private websocket: WebsocketSession | null = null;
  /** A reply is due and no more input is read: after a close, an error, or a protocol switch failing. */
  private closing = false;

  // The current request.
  private readonly params: EchoParams = { sizeBytes: -1, delayMs: 0, status: 200, serviceUs: 0 };
  private problem: string | null = null;
  private bodyBytes = 0;

  // A delayed reply holds back the requests pipelined behind it: the unparsed rest waits here.
  private delayTimer: NodeJS.Timeout | undefined = undefined;
  private heldChunk: Buffer | null = null;
  private heldAt = 0;
  private waitingForDrain = false;

  constructor(
    readonly socket: Socket,
    connections: Set<EchoConnection>,
    private readonly planted: DelayQueue | undefined,
  ) {
    this.fd = descriptorOf(socket);
    socket.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onIdle);
    socket.on('error', ignore); // a reset peer: 'close' follows, and there is nobody to report to
    socket.once('close', () => {
      connections.delete(this);
      if (this.delayTimer !== undefined) clearTimeout(this.delayTimer);
    });
  }

  /** The connection's first read (taken by createHttpEcho to tell HTTP/1.1 from HTTP/2). */
  receive(first: Buffer): void {
    this.onData(first);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return;
    if (this.websocket !== null) this.websocket.execute(chunk, 0);
    else this.parse(chunk, 0);
    this.flush();
  };

  private parse(chunk: Buffer, start: number): void {
    const at = this.parser.execute(chunk, start);
    if (this.websocket !== null) {
      if (at < chunk.length) this.websocket.execute(chunk, at);
    } else if (this.delayTimer !== undefined) {
      if (at < chunk.length) {
        this.heldChunk = chunk;
        this.heldAt = at;
      }
      this.socket.pause();
    }
  }

  private readonly onDrain = (): void => {
    this.waitingForDrain = false;
    if (this.delayTimer === undefined) this.socket.resume();
  };

  private readonly onIdle = (): void => {
    this.socket.destroy();
  };

  onRequestHead(head: RequestHead): boolean {
    if (head.upgradeWebsocket && head.connectionUpgrade) return this.upgrade(head);
    const params = this.params;
    params.sizeBytes = -1;
    params.delayMs = 0;
    params.status = 200;
    params.serviceUs = 0;
    this.bodyBytes = 0;
    this.body.clear();
    this.problem = head.query.length === 0 ? null : parseEchoQuery(head.query.bytes, head.query.length, params);
    if (head.contentLength > MAX_PAYLOAD_BYTES) {
      // Refused unread: the connection closes, or the unread body would be parsed as the next request.
      const message = `meshbench echo: request body of ${head.contentLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`;
      this.replyText(413, message, false, head);
      this.closing = true;
      return false;
    }
    if (head.expectContinue && head.minorVersion === 1 && (head.contentLength > 0 || head.chunked)) {
      this.out.appendAll(CONTINUE_100);
      this.flush(); // the client holds the body back until it sees this
    }
    return true;
  }

  onRequestBody(chunk: Buffer, start: number, end: number): void {
    this.bodyBytes += end - start;
    // Past the limit (chunked bodies) keep counting but stop keeping; a sized reply needs no body.
    if (this.bodyBytes > MAX_PAYLOAD_BYTES) this.body.clear();
    else if (this.params.sizeBytes < 0 && this.problem === null) this.body.append(chunk, start, end);
  }

  onRequestComplete(head: RequestHead): boolean {
    const waitMs = this.params.serviceUs > 0 ? serialWaitMs(this.params.serviceUs) : this.params.delayMs;
    if (waitMs > 0 && this.problem === null && this.bodyBytes <= MAX_PAYLOAD_BYTES) {
      this.delayTimer = setTimeout(replyDelayed, waitMs, this, head);
      this.delayTimer.unref(); // a pending delay must not keep a closed echo's process alive
      return false;
    }
    this.reply(head);
    return !this.closing;
  }

  onRequestError(status: number, message: string): void {
    this.replyText(status, message, false, null);
    this.closing = true;
  }

  /** The delay of the request at the head of the line has passed: reply, then read on. */
  resumeAfterDelay(head: RequestHead): void {
    this.delayTimer = undefined;
    if (this.socket.destroyed) return;
    this.reply(head);
    const held = this.heldChunk;
    this.heldChunk = null;
    if (held !== null && !this.closing) this.parse(held, this.heldAt);
    this.flush();
    if (this.delayTimer === undefined && !this.waitingForDrain) this.socket.resume();
  }

  private reply(head: RequestHead): void {
    const keepAlive = head.keepAlive;
    if (!keepAlive) this.closing = true;
    if (this.problem !== null) return this.replyText(400, this.problem, keepAlive, head);
    if (this.bodyBytes > MAX_PAYLOAD_BYTES) {
      const message = `meshbench echo: request body of ${this.bodyBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`;
      return this.replyText(413, message, keepAlive, head);
    }
    const status = this.params.status;
    const out = this.out;
    if (status === 204 || status === 304) {
      writeResponseHead(out, status, keepAlive, -1, false, head);
      return;
    }
    const sizeBytes = this.params.sizeBytes;
    const length = sizeBytes >= 0 ? sizeBytes : this.body.length;
    writeResponseHead(out, status, keepAlive, length, false, head);
    if (head.method === METHOD_HEAD || length === 0) return;
    if (length <= INLINE_BODY_MAX_BYTES) {
      if (sizeBytes >= 0) out.append(fillerBytes(sizeBytes), 0, sizeBytes);
      else out.append(this.body.bytes, 0, length);
    } else {
      this.flushWith(sizeBytes >= 0 ? fillerBytes(sizeBytes) : this.body.detach());
    }
  }

  private replyText(status: number, message: string, keepAlive: boolean, head: RequestHead | null): void {
    const body = Buffer.from(message + '\n');
    writeResponseHead(this.out, status, keepAlive, body.length, true, head);
    this.out.append(body, 0, body.length);
  }

  private upgrade(head: RequestHead): false {
    const problem = acceptWebsocket(head, this.out);
    if (problem !== null) {
      this.replyText(400, problem, false, head);
      this.closing = true;
      return false;
    }
    this.socket.setTimeout(0); // websockets idle as long as the client likes (as with the ws library)
    this.websocket = new WebsocketSession(this);
    return false;
  }

  /**
   * Sends what `out` holds: one write(2) when nothing is queued on the stream, else through the stream. With
   * a planted delay, a copy goes to the delay queue first (the no-delay path is unchanged).
   */
  flush(): void {
    const planted = this.planted;
    if (planted !== undefined) {
      if (this.out.length > 0 || this.closing) planted.schedule(sendPlanted, this, Buffer.from(this.out.bytes.subarray(0, this.out.length)), this.closing);
      this.out.clear();
      return;
    }
    this.transmit();
  }

  /** What a planted delay released: `bytes`, then our side's end when the echo had decided to close. */
  sendAfterDelay(bytes: Buffer, closing: boolean): void {
    this.out.append(bytes, 0, bytes.length);
    const wasClosing = this.closing;
    this.closing = closing;
    this.transmit();
    this.closing = wasClosing || closing;
  }

  private transmit(): void {
    const out = this.out;
    const socket = this.socket;
    if (out.length > 0 && !socket.destroyed) {
      let written = 0;
      if (this.fd >= 0 && socket.writableLength === 0) {
        try {
          written = writeSync(this.fd, out.bytes, 0, out.length);
        } catch {
          written = 0; // EAGAIN (kernel buffer full) or a dead peer: the stream queues it or reports the error
        }
      }
      // The stream keeps what it is given until written; `out` is reused, so it gets a copy.
      if (written < out.length) socket.write(Buffer.from(out.bytes.subarray(written, out.length)));
    }
    out.clear();
    if (this.closing) {
      if (!socket.writableEnded) socket.end();
    } else if (socket.writableNeedDrain && !this.waitingForDrain) {
      this.waitingForDrain = true; // the client does not read: stop reading its requests until it does
      socket.pause();
    }
  }

  /** Sends `out`, then `payload` as it is (a large body or message; the stream keeps the Buffer). */
  flushWith(payload: Buffer): void {
    if (this.planted !== undefined) {
      this.out.append(payload, 0, payload.length);
      return; // flushed (through the delay) with what follows
    }
    const closing = this.closing;
    this.closing = false; // end() only after the payload
    this.flush();
    this.closing = closing;
    if (!this.socket.destroyed) this.socket.write(payload);
  }

  /** Sends what is pending, then closes our side (websocket close handshake or protocol error). */
  end(): void {
    this.closing = true;
    this.flush();
  }
}

function sendPlanted(connection: EchoConnection, bytes: Buffer, closing: boolean): void {
  connection.sendAfterDelay(bytes, closing);
}

function replyDelayed(connection: EchoConnection, head: RequestHead): void {
  connection.resumeAfterDelay(head);
}

/**
 * The file descriptor of a TCP socket, or -1. Node does not document `_handle.fd` (it is -1 on Windows), so
 * anything but a non-negative number turns the direct write off (as in src/drivers/http1.ts).
 */
function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

function ignore(): void {}
