import type { AddressInfo, Server as NetServer } from 'node:net';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import { MeshbenchError } from '../errors.js';
import { DelayQueue } from './delay.js';
import { createGrpcEcho } from './grpc.js';
import { createHttpEcho, type HttpEcho } from './http-echo.js';

/**
 * The echo workloads: HTTP/1.1 and websocket on one port, gRPC on another. This is the service meshbench
 * benchmarks, meshed and unmeshed alike, and the container entrypoint (`meshbench echo`).
 */

export { loadEchoProto } from '../echo-proto.js';
export type { EchoClient, EchoClientConstructor, EchoReply, EchoRequest } from '../echo-proto.js';

export interface EchoServerOptions {
  /** Address both servers listen on; 127.0.0.1 by default (0.0.0.0 in a container). */
  host?: string;
  /** 0 (the default) lets the OS pick. */
  httpPort?: number;
  /** 0 (the default) lets the OS pick. */
  grpcPort?: number;
  /** Every reply waits this long first (a calibration knob, src/workloads/delay.ts); 0 = none. */
  plantedDelayUs?: number;
  /**
   * With plantedDelayUs: hold only the replies of a second pair of ports (`planted`, picked by the OS); the
   * ordinary ports answer at once. The local env plants this way, so that each echo process serves both
   * variants and only the meshed path (its sidecar's backend) carries the delay.
   */
  plantedPorts?: boolean;
}

export interface EchoServers {
  host: string;
  /** HTTP/1.1 echo and websocket echo (any path upgrades). */
  httpPort: number;
  grpcPort: number;
  /** The ports whose replies are held (plantedPorts). */
  planted?: { httpPort: number; grpcPort: number };
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
  const queue = delayUs > 0 ? new DelayQueue(delayUs) : undefined;
  const separate = queue !== undefined && opts.plantedPorts === true;
  const ordinary = echoPair(separate ? undefined : queue);
  const planted = separate ? echoPair(queue) : undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all([closeAll(ordinary), planted === undefined ? undefined : closeAll(planted)]).then(() => undefined).finally(() => queue?.close()));
  try {
    const httpPort = await listenHttp(ordinary.http.server, host, opts.httpPort ?? 0);
    const grpcPort = await bindGrpc(ordinary.grpc, host, opts.grpcPort ?? 0);
    const servers: EchoServers = { host, httpPort, grpcPort, close };
    if (planted !== undefined) {
      servers.planted = { httpPort: await listenHttp(planted.http.server, host, 0), grpcPort: await bindGrpc(planted.grpc, host, 0) };
    }
    // The ticker thread takes tens of ms to start (and does not keep the process alive): announce only after it.
    await queue?.ready;
    return servers;
  } catch (err) {
    await close();
    throw err;
  }
}

interface EchoPair {
  http: HttpEcho;
  grpc: GrpcServer;
}

function echoPair(planted: DelayQueue | undefined): EchoPair {
  return { http: createHttpEcho(planted), grpc: createGrpcEcho(planted) };
}

function listenHttp(server: NetServer, host: string, port: number): Promise<number> {
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

async function closeAll({ http, grpc }: EchoPair): Promise<void> {
  grpc.forceShutdown();
  const httpClosed = new Promise<void>((resolve) => {
    if (!http.server.listening) return resolve();
    http.server.close(() => resolve());
  });
  http.destroyConnections();
  await httpClosed;
}
