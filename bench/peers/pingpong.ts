import net from 'node:net';
import { Client, credentials } from '@grpc/grpc-js';
import { WebSocket } from 'ws';
import { ECHO_STREAM_PATH, loadEchoProto } from '../../src/echo-proto.js';

/**
 * Minimal hand-written ping-pong clients, the baseline the generator is compared with (each its own
 * process, as `meshbench load` is): what a careful user would write with the same libraries and no
 * harness — no timing, no histograms, no schedule. One message outstanding per stream/connection; the
 * reply triggers the next. Counts replies completed inside [warmup, warmup + duration).
 *
 *   node pingpong.js grpc-bidi 127.0.0.1:9090 16 64 1 10
 *   node pingpong.js websocket ws://127.0.0.1:8080/ 16 64 1 10
 *   node pingpong.js http1-net http://127.0.0.1:8080/ 32 0 1 10   (node:net write + 'data': Node's stream-API floor)
 *
 * Prints {"messages":N,"errors":E,"durationMs":D}.
 */
const [kind, target, connectionsArg, payloadArg, warmupArg, durationArg] = process.argv.slice(2);
const connections = Number(connectionsArg);
const payloadBytes = Number(payloadArg);
const warmupMs = Number(warmupArg) * 1000;
const durationMs = Number(durationArg) * 1000;
if (target === undefined || !(connections > 0) || !(durationMs > 0)) throw new Error('usage: pingpong.js <grpc-bidi|websocket|http1-net> <target> <connections> <payloadBytes> <warmupS> <durationS>');

let messages = 0;
let errors = 0;
let counting = false;
let running = true;
const t0 = performance.now();
setTimeout(() => (counting = true), warmupMs);
const finished = new Promise<void>((resolve) =>
  setTimeout(() => {
    running = false;
    resolve();
  }, warmupMs + durationMs),
);

const identity = (b: Buffer): Buffer => b;

async function grpcBidi(address: string): Promise<() => void> {
  const payload = Buffer.alloc(payloadBytes, 0x78);
  const request = loadEchoProto().service.Echo.requestSerialize({ payload, response_size: 0, delay_ms: 0 });
  // Same channel layout as the grpc driver: 8 streams per HTTP/2 connection.
  const clients = Array.from({ length: Math.ceil(connections / 8) }, () => new Client(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())))));
  const streams = Array.from({ length: connections }, (_, i) => {
    const stream = (clients[Math.floor(i / 8)] as Client).makeBidiStreamRequest(ECHO_STREAM_PATH, identity, identity);
    stream.on('data', () => {
      if (counting && running) messages++;
      if (running) stream.write(request);
    });
    stream.on('error', () => errors++);
    stream.write(request);
    return stream;
  });
  return () => {
    for (const s of streams) s.cancel();
    for (const c of clients) c.close();
  };
}

async function websocket(url: string): Promise<() => void> {
  const payload = Buffer.alloc(payloadBytes, 0x78);
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => {
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      ws.on('message', () => {
        if (counting && running) messages++;
        if (running) ws.send(payload, { binary: true });
      });
      ws.on('error', () => errors++);
      return new Promise<WebSocket>((resolve) => ws.once('open', () => resolve(ws)));
    }),
  );
  for (const ws of sockets) ws.send(payload, { binary: true });
  return () => {
    for (const ws of sockets) ws.terminate();
  };
}

/** One GET per write; assumes each response arrives in one 'data' chunk (true for a small body on loopback). */
async function http1Net(urlText: string): Promise<() => void> {
  const url = new URL(urlText);
  const request = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`, 'latin1');
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => {
      const socket = net.connect({ host: url.hostname, port: Number(url.port) });
      socket.setNoDelay(true);
      socket.on('data', () => {
        if (counting && running) messages++;
        if (running) socket.write(request);
      });
      socket.on('error', () => errors++);
      return new Promise<net.Socket>((resolve) => socket.once('connect', () => resolve(socket)));
    }),
  );
  for (const s of sockets) s.write(request);
  return () => {
    for (const s of sockets) s.destroy();
  };
}

const start = kind === 'grpc-bidi' ? grpcBidi : kind === 'websocket' ? websocket : kind === 'http1-net' ? http1Net : undefined;
if (start === undefined) throw new Error(`unknown kind ${kind}`);
const stop = await start(target);
await finished;
stop();
process.stdout.write(`${JSON.stringify({ messages, errors, durationMs, wallMs: performance.now() - t0 })}\n`);
process.exit(0);
