import { performance } from 'node:perf_hooks';
import {
  Metadata,
  Server,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import type { DelayQueue } from './delay.js';
import { fillerBytes, MAX_DELAY_MS, MAX_PAYLOAD_BYTES } from './limits.js';
import { loadEchoProto, type EchoReply, type EchoRequest } from './proto.js';
import { reflectHeaders } from './reflect.js';

/**
 * The gRPC echo (proto/echo.proto). Unary `Echo` answers one request; bidi `EchoStream` answers every
 * message with one reply, in arrival order, each no sooner than its own delay_ms after it arrived, and ends
 * the stream once the client has ended its side and every reply is written. A reply carries the request
 * payload, or response_size filler bytes when that is set. Both calls reflect the request's mesh headers
 * into the response's initial metadata (src/workloads/reflect.ts). response_size over 16 MiB or delay_ms
 * over 60000 ends the call with INVALID_ARGUMENT.
 */

/** Room for the protobuf framing around a 16 MiB payload. */
const MAX_MESSAGE_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

/**
 * A grpc-js Server with the echo service added; not yet bound. `planted`: every reply (unary, and each
 * stream message) waits for it first (a calibration knob; the handlers without it are unchanged).
 */
export function createGrpcEcho(planted?: DelayQueue): Server {
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  const handlers = planted === undefined
    ? { Echo: echoUnary, EchoStream: echoStream }
    : {
      Echo: (call: ServerUnaryCall<EchoRequest, EchoReply>, callback: sendUnaryData<EchoReply>) => echoUnary(call, callback, planted),
      EchoStream: (call: ServerDuplexStream<EchoRequest, EchoReply>) => echoStream(call, planted),
    };
  server.addService(loadEchoProto().service, handlers);
  return server;
}

function echoUnary(call: ServerUnaryCall<EchoRequest, EchoReply>, callback: sendUnaryData<EchoReply>, planted?: DelayQueue): void {
  sendReflected(call.metadata, call);
  const request = call.request;
  const problem = checkRequest(request);
  if (problem !== null) return callback({ code: status.INVALID_ARGUMENT, details: problem });
  const reply: EchoReply = { payload: replyPayload(request) };
  if (planted !== undefined) return planted.schedule(answerAfterDelay, callback, reply, request.delay_ms);
  if (request.delay_ms === 0) return callback(null, reply);
  const timer = setTimeout(callback, request.delay_ms, null, reply);
  timer.unref();
  call.once('cancelled', () => clearTimeout(timer));
}

/** Planted delay first, then the request's own delay_ms (rare in benchmarks: a timer). */
function answerAfterDelay(callback: sendUnaryData<EchoReply>, reply: EchoReply, delayMs: number): void {
  if (delayMs === 0) callback(null, reply);
  else setTimeout(callback, delayMs, null, reply).unref();
}

function echoStream(call: ServerDuplexStream<EchoRequest, EchoReply>, planted?: DelayQueue): void {
  sendReflected(call.metadata, call);
  const echo = new StreamEcho(call, planted);
  call.on('data', (request: EchoRequest) => echo.onRequest(request));
  call.on('end', () => echo.onEnd());
  call.on('cancelled', () => echo.cancel());
  call.on('error', () => echo.cancel());
}

interface PendingReply {
  reply: EchoReply;
  /** performance.now() at which the reply may be written. */
  dueAtMs: number;
}

/** One bidi stream's replies. Undelayed replies with nothing queued ahead are written at once. */
class StreamEcho {
  private readonly pending: PendingReply[] = [];
  private timer: NodeJS.Timeout | undefined = undefined;
  private clientEnded = false;
  private done = false;

  constructor(
    private readonly call: ServerDuplexStream<EchoRequest, EchoReply>,
    private readonly planted: DelayQueue | undefined = undefined,
  ) {}

  onRequest(request: EchoRequest): void {
    if (this.done) return;
    const problem = checkRequest(request);
    if (problem !== null) {
      this.cancel();
      this.call.emit('error', { code: status.INVALID_ARGUMENT, details: problem });
      return;
    }
    const reply: EchoReply = { payload: replyPayload(request) };
    if (request.delay_ms === 0 && this.pending.length === 0) {
      this.write(reply);
      return;
    }
    this.pending.push({ reply, dueAtMs: performance.now() + request.delay_ms });
    if (this.timer === undefined) this.flush();
  }

  onEnd(): void {
    this.clientEnded = true;
    if (this.pending.length === 0 && !this.done) {
      this.done = true;
      // after the replies still held by a planted delay (FIFO: it ends after them)
      if (this.planted === undefined) this.call.end();
      else this.planted.schedule(endStream, this.call);
    }
  }

  cancel(): void {
    this.done = true;
    this.pending.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes every due reply in order; waits for the next one that is not due yet. */
  private readonly flush = (): void => {
    this.timer = undefined;
    if (this.done) return;
    const now = performance.now();
    let head = this.pending[0];
    while (head !== undefined && head.dueAtMs <= now) {
      this.pending.shift();
      this.write(head.reply);
      head = this.pending[0];
    }
    if (head !== undefined) {
      this.timer = setTimeout(this.flush, Math.ceil(head.dueAtMs - now));
      this.timer.unref();
    } else if (this.clientEnded) {
      this.onEnd();
    }
  };

  /** Writes a reply now, or after the planted delay when the server has one: the one hook for it. */
  private write(reply: EchoReply): void {
    if (this.planted === undefined) this.call.write(reply);
    else this.planted.schedule(writeReply, this.call, reply);
  }
}

function writeReply(call: ServerDuplexStream<EchoRequest, EchoReply>, reply: EchoReply): void {
  if (!call.cancelled && !call.destroyed && call.writable) call.write(reply);
}

function endStream(call: ServerDuplexStream<EchoRequest, EchoReply>): void {
  if (!call.cancelled && !call.destroyed) call.end();
}

function checkRequest(request: EchoRequest): string | null {
  if (request.response_size > MAX_PAYLOAD_BYTES) {
    return `meshbench echo: response_size must be at most ${MAX_PAYLOAD_BYTES}, got ${request.response_size}`;
  }
  if (request.delay_ms > MAX_DELAY_MS) {
    return `meshbench echo: delay_ms must be at most ${MAX_DELAY_MS}, got ${request.delay_ms}`;
  }
  return null;
}

function replyPayload(request: EchoRequest): Buffer {
  return request.response_size > 0 ? fillerBytes(request.response_size) : request.payload;
}

/** Sends the reflected headers as initial metadata; sends nothing (grpc-js sends its own) when none apply. */
function sendReflected(incoming: Metadata, call: { sendMetadata(metadata: Metadata): void }): void {
  const pairs = reflectHeaders(incoming.toJSON());
  if (pairs.length === 0) return;
  const outgoing = new Metadata();
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    try {
      outgoing.set(pairs[i] as string, pairs[i + 1] as string);
    } catch {
      // a value grpc-js will not send (non-ASCII) cannot be reflected; the header is left out
    }
  }
  call.sendMetadata(outgoing);
}
