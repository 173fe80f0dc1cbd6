import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import { MeshbenchError } from '../errors.js';
import { DelayQueue } from './delay.js';
import { createGrpcEcho } from './grpc.js';
import { createHttpEcho } from './http.js';
import { attachWebsocketEcho, type WebsocketEcho } from './websocket.js';

/**
 * The echo workloads: HTTP/1.1 and websocket on one port, gRPC on another. This is the service meshbench
 * benchmarks, meshed and unmeshed alike, and the container entrypoint (`meshbench echo`).
 */

export { loadEchoProto } from './proto.js';
export type { EchoClient, EchoClientConstructor, EchoReply, EchoRequest } from './proto.js';

export interface EchoServerOptions {
  /** Address both servers listen on; 127.0.0.1 by default (0.0.0.0 in a container). */
  host?: string;
  /** 0 (the default) lets the OS pick. */
  httpPort?: number;
  /** 0 (the default) lets the OS pick. */
  grpcPort?: number;
  /**
   * Planted delay (µs, default 0 = off): every response of every protocol is held this long before it is
   * sent (src/workloads/delay.ts). A test and calibration knob — the local env sets it on the meshed echo only.
   */
  plantedDelayUs?: number;
}

export interface EchoServers {
  host: string;
  /** HTTP/1.1 echo and websocket echo (any path upgrades). */
  httpPort: number;
  grpcPort: number;
  /**
   * Stops both servers and drops every open connection at once (keep-alive sockets, websockets, gRPC
   * streams), so it resolves promptly whatever clients are doing. Idempotent.
   */
  close(): Promise<void>;
}

export const DEFAULT_ECHO_HOST = '127.0.0.1';

export async function startEchoServers(opts: EchoServerOptions = {}): Promise<EchoServers> {
  const host = opts.host ?? DEFAULT_ECHO_HOST;
  const delayUs = opts.plantedDelayUs ?? 0;
  const planted = delayUs > 0 ? new DelayQueue(delayUs) : undefined;
  const http = createHttpEcho(planted);
  const websocket = attachWebsocketEcho(http, planted);
  const grpc = createGrpcEcho(planted);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= closeAll(http, websocket, grpc).finally(() => planted?.close()));
  try {
    const httpPort = await listenHttp(http, host, opts.httpPort ?? 0);
    const grpcPort = await bindGrpc(grpc, host, opts.grpcPort ?? 0);
    // Its ticker thread runs, so the first responses are not late. Awaited once the servers listen: the
    // ticker thread is unref'd and would not keep the process alive by itself.
    await planted?.ready;
    return { host, httpPort, grpcPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function listenHttp(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(listenError('HTTP', host, port, '--http-port', err));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function bindGrpc(server: GrpcServer, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err !== null) reject(listenError('gRPC', host, port, '--grpc-port', err));
      else resolve(boundPort);
    });
  });
}

function listenError(what: string, host: string, port: number, flag: string, cause: Error): MeshbenchError {
  return new MeshbenchError(
    'MB_ENV_FAILED',
    `echo: the ${what} server cannot listen on ${host}:${port} (${cause.message}); ` +
      `pick a free port with ${flag}, or 0 to let the OS choose, and check --host is an address of this machine`,
    { cause },
  );
}

async function closeAll(http: HttpServer, websocket: WebsocketEcho, grpc: GrpcServer): Promise<void> {
  websocket.terminate();
  grpc.forceShutdown();
  const httpClosed = new Promise<void>((resolve) => {
    if (!http.listening) return resolve();
    http.close(() => resolve());
  });
  http.closeAllConnections();
  await httpClosed;
}
