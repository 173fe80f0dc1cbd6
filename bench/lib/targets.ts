import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { startService, type Service } from './proc.js';
import { MESHBENCH_CLI } from './tools.js';

/**
 * The bench's own targets, each a process on loopback: nginx with one worker (a fixed 200 answer), the
 * meshbench echo (HTTP/1.1 + websocket, gRPC), and the stall server. Each is stopped (and its temp files
 * removed) by `stop()`; anything still running when the bench exits is killed.
 */

export const HOST = '127.0.0.1';

export interface Target {
  name: string;
  url: string;
  service: Service;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The body nginx answers with (and its length), the same small body for every tool. */
export const NGINX_BODY = 'hello from nginx\n';

export async function startNginx(nginx: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'meshbench-bench-nginx-'));
  const port = await freePort();
  const temp = (name: string): string => `${name}_temp_path ${join(dir, name)};`;
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      'daemon off;',
      'master_process off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
      '  keepalive_requests 1000000000;',
      '  keepalive_timeout 300s;',
      `  server { listen ${HOST}:${port} backlog=4096; location / { default_type text/plain; return 200 ${JSON.stringify(NGINX_BODY)}; } }`,
      '}',
      '',
    ].join('\n'),
  );
  try {
    const service = await startService('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], () => accepts(port));
    return {
      name: `nginx (1 worker)`,
      url: `http://${HOST}:${port}/`,
      service,
      stop: async () => {
        await service.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export interface EchoTarget {
  httpUrl: string;
  wsUrl: string;
  grpcAddress: string;
  service: Service;
  stop(): Promise<void>;
}

/** `meshbench echo` on free ports (its own process). */
export async function startEcho(): Promise<EchoTarget> {
  const service = await startService('meshbench echo', process.execPath, [MESHBENCH_CLI, 'echo', '--http-port', '0', '--grpc-port', '0'], (out) => out.includes('"listening"'));
  const line = service.stdout().split('\n').find((l) => l.includes('"listening"')) ?? '{}';
  const { httpPort, grpcPort } = JSON.parse(line) as { httpPort: number; grpcPort: number };
  return {
    httpUrl: `http://${HOST}:${httpPort}/`,
    wsUrl: `ws://${HOST}:${httpPort}/`,
    grpcAddress: `${HOST}:${grpcPort}`,
    service,
    stop: () => service.stop(),
  };
}

/** The stall server: answers at once, except that once per second it stops answering for stallMs. */
export async function startStallServer(stallMs: number): Promise<Target> {
  const script = join(packageRoot, 'dist-bench', 'bench', 'servers', 'stall.js');
  const service = await startService('stall server', process.execPath, [script, String(stallMs)], (out) => out.includes('"port"'));
  const { port } = JSON.parse(service.stdout().trim().split('\n')[0] ?? '{}') as { port: number };
  return { name: `stall server (${stallMs} ms/s)`, url: `http://${HOST}:${port}/`, service, stop: () => service.stop() };
}
