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
import { ECHO_SERVER_DEFINITION, encodeEchoReply } from './echo-codec.js';
import { fillerBytes, MAX_DELAY_MS, MAX_PAYLOAD_BYTES } from './limits.js';
import type { EchoRequest } from '../echo-proto.js';
import { reflectHeaders } from './reflect.js';

/**
 * The gRPC echo (proto/echo.proto). Unary `Echo` answers one request; bidi `EchoStream` answers every
 * message with one reply, in arrival order, each no sooner than its own delay_ms after it arrived, and ends
 * the stream once the client has ended its side and every reply is written. A reply carries the request
 * payload, or response_size filler bytes when that is set. Both calls reflect the request's mesh headers
 * into the response's initial metadata (src/workloads/reflect.ts). response_size over 16 MiB or delay_ms
 * over 60000 ends the call with INVALID_ARGUMENT.
 *
 * Replies are encoded here (src/workloads/echo-codec.ts) and written as bytes; grpc-js adds its framing.
 */

/** An encoded EchoReply. */
type EchoReplyBytes = Buffer;

/** Room for the protobuf framing around a 16 MiB payload. */
const MAX_MESSAGE_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024;

/**
 * A grpc-js Server with the echo service added; not yet bound. `planted` (a calibration knob,
 * env.plantedDelayMs): every reply — and a stream's end, behind its replies — waits for it first.
 */
export function createGrpcEcho(planted?: DelayQueue): Server {
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Channelz stays on although nobody queries it (it stamps every message with a new Date()): in grpc-js
    // 1.14 a server without it does not track its sessions, so forceShutdown() leaves open streams open and
    // close() would hang on a client's bidi stream.
  });
  const handlers = planted === undefined
    ? { Echo: echoUnary, EchoStream: echoStream }
    : {
      Echo: (call: ServerUnaryCall<EchoRequest, EchoReplyBytes>, callback: sendUnaryData<EchoReplyBytes>) =>
        echoUnary(call, (err, reply) => (err === null ? planted.schedule(answer, callback, reply ?? undefined) : callback(err))),
      EchoStream: (call: ServerDuplexStream<EchoRequest, EchoReplyBytes>) => echoStream(call, planted),
    };
  server.addService(ECHO_SERVER_DEFINITION, handlers);
  return server;
}

function answer(callback: sendUnaryData<EchoReplyBytes>, reply: EchoReplyBytes | undefined): void {
  callback(null, reply);
}

function echoUnary(call: ServerUnaryCall<EchoRequest, EchoReplyBytes>, callback: sendUnaryData<EchoReplyBytes>): void {
  sendReflected(call.metadata, call);
  const request = call.request;
  const problem = checkRequest(request);
  if (problem !== null) return callback({ code: status.INVALID_ARGUMENT, details: problem });
  const reply = encodeEchoReply(replyPayload(request));
  if (request.delay_ms === 0) return callback(null, reply);
  const timer = setTimeout(callback, request.delay_ms, null, reply);
  timer.unref();
  call.once('cancelled', () => clearTimeout(timer));
}

function echoStream(call: ServerDuplexStream<EchoRequest, EchoReplyBytes>, planted?: DelayQueue): void {
  sendReflected(call.metadata, call);
  const echo = new StreamEcho(call, planted);
  call.on('data', (request: EchoRequest) => echo.onRequest(request));
  call.on('end', () => echo.onEnd());
  call.on('cancelled', () => echo.cancel());
  call.on('error', () => echo.cancel());
}

interface PendingReply {
  reply: EchoReplyBytes;
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
    private readonly call: ServerDuplexStream<EchoRequest, EchoReplyBytes>,
    private readonly planted: DelayQueue | undefined = undefined,
  ) {}

  /** Writes a reply now, or through the planted delay. */
  private write(reply: EchoReplyBytes): void {
    if (this.planted === undefined) this.call.write(reply);
    else this.planted.schedule(writeReply, this.call, reply);
  }

  onRequest(request: EchoRequest): void {
    if (this.done) return;
    const problem = checkRequest(request);
    if (problem !== null) {
      this.cancel();
      this.call.emit('error', { code: status.INVALID_ARGUMENT, details: problem });
      return;
    }
    const reply = encodeEchoReply(replyPayload(request));
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
      if (this.planted === undefined) this.call.end();
      else this.planted.schedule(endCall, this.call);
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
}

function writeReply(call: ServerDuplexStream<EchoRequest, EchoReplyBytes>, reply: EchoReplyBytes): void {
  if (!call.destroyed) call.write(reply);
}

function endCall(call: ServerDuplexStream<EchoRequest, EchoReplyBytes>): void {
  if (!call.destroyed) call.end();
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
