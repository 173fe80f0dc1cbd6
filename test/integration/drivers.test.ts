import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionSink, DriverConnection, DriverOptions, ErrorKind } from '../../src/drivers/driver.js';
import { drivers } from '../../src/drivers/index.js';
import type { Protocol } from '../../src/protocols.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';

const EVENT_TIMEOUT_MS = 5000;

/** Records every completion; `next(index)` awaits the next one for a connection. */
class TestSink implements CompletionSink {
  readonly all: string[] = [];
  /** Set by `send()` below: a completion while it is true was reported synchronously (a contract breach). */
  inSend = false;
  syncCalls = 0;
  private readonly queues = new Map<number, string[]>();
  private readonly waiters = new Map<number, (event: string) => void>();

  onResponse(index: number): void {
    this.push(index, 'ok');
  }
  onError(index: number, kind: ErrorKind): void {
    this.push(index, kind);
  }

  next(index: number): Promise<string> {
    const queued = this.queues.get(index)?.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no completion for connection ${index}`)), EVENT_TIMEOUT_MS);
      this.waiters.set(index, (event) => {
        clearTimeout(timer);
        resolve(event);
      });
    });
  }

  /** send() and await its one completion. */
  async roundTrip(connection: DriverConnection, index: number): Promise<string> {
    const event = this.next(index);
    this.inSend = true;
    connection.send();
    this.inSend = false;
    return event;
  }

  private push(index: number, event: string): void {
    if (this.inSend) this.syncCalls++;
    this.all.push(event);
    const waiter = this.waiters.get(index);
    if (waiter !== undefined) {
      this.waiters.delete(index);
      waiter(event);
      return;
    }
    const queue = this.queues.get(index) ?? [];
    queue.push(event);
    this.queues.set(index, queue);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A TCP proxy in front of a server, to count connections and to kill them: once armed, the next client
 * chunk of at least `minBytes` (a request, not an HTTP/2 WINDOW_UPDATE) destroys that connection.
 */
interface KillProxy {
  port: number;
  accepted: number;
  arm(minBytes: number): void;
  /** Stops accepting and drops every connection. */
  close(): Promise<void>;
}

async function startKillProxy(targetPort: number): Promise<KillProxy> {
  const sockets = new Set<Socket>();
  let armed = 0;
  const state = { accepted: 0 };
  const server: Server = createNetServer((client) => {
    state.accepted++;
    const upstream = netConnect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (armed > 0 && chunk.length >= armed) {
        armed = 0;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return state.accepted;
    },
    arm(minBytes) {
      armed = minBytes;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function targetFor(protocol: Protocol, httpPort: number, grpcPort: number, query = ''): string {
  switch (protocol) {
    case 'http1':
    case 'http2':
      return `http://127.0.0.1:${httpPort}/echo${query}`;
    case 'websocket':
      return `ws://127.0.0.1:${httpPort}/echo`;
    case 'grpc-bidi':
      return `grpc://127.0.0.1:${grpcPort}`;
    case 'grpc-unary':
      return `127.0.0.1:${grpcPort}`;
  }
}

const PROTOCOLS: readonly Protocol[] = ['http1', 'grpc-bidi', 'grpc-unary', 'websocket', 'http2'];
const PAYLOAD = 256;

let echo: EchoServers;

beforeAll(async () => {
  echo = await startEchoServers();
});
afterAll(async () => {
  await echo?.close();
});

function options(protocol: Protocol, port?: number, headers: Record<string, string> = {}): DriverOptions {
  return { target: targetFor(protocol, port ?? echo.httpPort, port ?? echo.grpcPort), payloadBytes: PAYLOAD, headers };
}

describe.each(PROTOCOLS)('%s driver', (protocol) => {
  it('completes M sequential requests on each of N connections', async () => {
    const connections = protocol === 'grpc-bidi' ? 10 : 4; // 10 streams span two channels
    const perConnection = 25;
    const driver = drivers[protocol].create(options(protocol, undefined, { traceparent: '00-abc-def-01' }));
    expect(driver.protocol).toBe(protocol);
    const sink = new TestSink();
    const conns = await Promise.all(Array.from({ length: connections }, (_, i) => driver.connect(i, sink)));
    const results = await Promise.all(
      conns.map(async (connection, index) => {
        const events: string[] = [];
        for (let i = 0; i < perConnection; i++) events.push(await sink.roundTrip(connection, index));
        return events;
      }),
    );
    await sleep(50);
    for (const events of results) expect(events).toEqual(Array(perConnection).fill('ok'));
    expect(sink.all).toHaveLength(connections * perConnection);
    expect(sink.syncCalls).toBe(0);
    await Promise.all(conns.map((c) => c.close()));
    await driver.close();
  });

  it('rejects connect() to a closed port', async () => {
    const driver = drivers[protocol].create(options(protocol, await closedPort()));
    await expect(driver.connect(0, new TestSink())).rejects.toThrow();
    await driver.close();
  });

  it("reports 'reset' when the connection dies mid-request, then reconnects on the next send", async () => {
    const proxy = await startKillProxy(protocol.startsWith('grpc') ? echo.grpcPort : echo.httpPort);
    const driver = drivers[protocol].create(options(protocol, proxy.port));
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    proxy.arm(PAYLOAD);
    expect(await sink.roundTrip(connection, 0)).toBe('reset');
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    expect(proxy.accepted).toBe(2);
    expect(sink.syncCalls).toBe(0);
    await connection.close();
    await driver.close();
    await proxy.close();
  });

  it("reports 'connect' when the target is gone at the next send", async () => {
    const proxy = await startKillProxy(protocol.startsWith('grpc') ? echo.grpcPort : echo.httpPort);
    const driver = drivers[protocol].create(options(protocol, proxy.port));
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    await proxy.close();
    await sleep(200); // let the client see the close of its idle connection
    expect(await sink.roundTrip(connection, 0)).toBe('connect');
    expect(sink.syncCalls).toBe(0);
    await connection.close();
    await driver.close();
  });

  it('abort() drops the outstanding request silently and accepts send() again', async () => {
    const driver = drivers[protocol].create(options(protocol));
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    connection.send();
    connection.abort();
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    connection.send();
    connection.abort();
    await sleep(100);
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    await sleep(50);
    expect(sink.all).toEqual(['ok', 'ok']);
    await connection.close();
    await driver.close();
  });

  it('probe() returns the reflected trace header', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const result = await drivers[protocol].probe(options(protocol, undefined, { traceparent }), 5000);
    expect(result.headers['x-echo-traceparent']).toBe(traceparent);
    expect(result.status).toBe(protocol === 'http1' || protocol === 'http2' ? 200 : protocol === 'websocket' ? 101 : 'OK');
  });

  it('probe() rejects when nothing listens', async () => {
    await expect(drivers[protocol].probe(options(protocol, await closedPort()), 2000)).rejects.toThrow();
  });
});

describe('http1 specifics', () => {
  /** A node:http server with a custom handler; counts connections. */
  async function withServer(
    handler: (res: ServerResponse) => void,
    body: (port: number, connections: () => number) => Promise<void>,
  ): Promise<void> {
    let connections = 0;
    const server: HttpServer = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => handler(res));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await body((server.address() as AddressInfo).port, () => connections);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("reports 'status' for HTTP 500 and keeps the connection", async () => {
    const target = targetFor('http1', echo.httpPort, 0, '?status=500');
    const driver = drivers.http1.create({ target, payloadBytes: 0, headers: {} });
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    for (let i = 0; i < 3; i++) expect(await sink.roundTrip(connection, 0)).toBe('status');
    await connection.close();
  });

  it('parses chunked responses with trailers from node:http', async () => {
    await withServer(
      (res) => {
        res.setHeader('trailer', 'x-checksum');
        res.write('abc');
        res.write(Buffer.alloc(5000, 1));
        res.addTrailers({ 'x-checksum': '42' });
        res.end('tail');
      },
      async (port, connections) => {
        const driver = drivers.http1.create({ target: `http://127.0.0.1:${port}/`, payloadBytes: 10, headers: {} });
        const sink = new TestSink();
        const connection = await driver.connect(0, sink);
        for (let i = 0; i < 20; i++) expect(await sink.roundTrip(connection, 0)).toBe('ok');
        expect(connections()).toBe(1);
        await connection.close();
      },
    );
  });

  it('sends a body larger than the socket buffer whole (a partial direct write queues the rest)', async () => {
    // 8 MiB cannot go out in one write(2) on loopback: the driver's direct write sends part and the
    // stream queues the rest; the echo answers only once it has the whole body.
    const payloadBytes = 8 * 1024 * 1024;
    const target = targetFor('http1', echo.httpPort, 0, '?size=1');
    const driver = drivers.http1.create({ target, payloadBytes, headers: {} });
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    for (let i = 0; i < 3; i++) expect(await sink.roundTrip(connection, 0)).toBe('ok');
    expect(sink.syncCalls).toBe(0);
    await connection.close();
  });

  it('finishes a Connection: close response, then reconnects on the next send', async () => {
    await withServer(
      (res) => {
        res.setHeader('connection', 'close');
        res.end('bye');
      },
      async (port, connections) => {
        const driver = drivers.http1.create({ target: `http://127.0.0.1:${port}/`, payloadBytes: 0, headers: {} });
        const sink = new TestSink();
        const connection = await driver.connect(0, sink);
        for (let i = 0; i < 5; i++) expect(await sink.roundTrip(connection, 0)).toBe('ok');
        expect(connections()).toBe(5);
        await connection.close();
      },
    );
  });

  it("reports 'protocol' for a malformed response and recovers", async () => {
    let count = 0;
    const server = createNetServer((socket) => {
      socket.on('data', () => {
        count++;
        socket.write(count === 1 ? 'HTTP/1.1 2OO OK\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const driver = drivers.http1.create({ target: `http://127.0.0.1:${port}/`, payloadBytes: 0, headers: {} });
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    expect(await sink.roundTrip(connection, 0)).toBe('protocol');
    expect(await sink.roundTrip(connection, 0)).toBe('ok');
    await connection.close();
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('grpc specifics', () => {
  it("reports 'status' for a non-OK gRPC status", async () => {
    const server = new GrpcServer(); // no service: every call ends UNIMPLEMENTED
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    for (const protocol of ['grpc-bidi', 'grpc-unary'] as const) {
      const driver = drivers[protocol].create({ target: `127.0.0.1:${port}`, payloadBytes: 8, headers: {} });
      const sink = new TestSink();
      const connection = await driver.connect(0, sink);
      expect(await sink.roundTrip(connection, 0)).toBe('status');
      expect(await sink.roundTrip(connection, 0)).toBe('status');
      await connection.close();
      await driver.close();
    }
    server.forceShutdown();
  });

  it('spreads bidi streams over one HTTP/2 connection per 8 streams', async () => {
    const proxy = await startKillProxy(echo.grpcPort);
    const driver = drivers['grpc-bidi'].create({ target: `127.0.0.1:${proxy.port}`, payloadBytes: 8, headers: {} });
    const sink = new TestSink();
    const conns = await Promise.all(Array.from({ length: 20 }, (_, i) => driver.connect(i, sink)));
    await Promise.all(conns.map((c, i) => sink.roundTrip(c, i)));
    expect(proxy.accepted).toBe(3);
    await Promise.all(conns.map((c) => c.close()));
    await driver.close();
    await proxy.close();
  });
});

describe('http2 specifics', () => {
  const target = (port: number, query = ''): string => `http://127.0.0.1:${port}/echo${query}`;

  it('multiplexes logical connections onto one HTTP/2 connection per streamsPerConnection', async () => {
    const proxy = await startKillProxy(echo.httpPort);
    const driver = drivers.http2.create({ target: target(proxy.port), payloadBytes: 8, headers: {}, streamsPerConnection: 4 });
    const sink = new TestSink();
    const conns = await Promise.all(Array.from({ length: 10 }, (_, i) => driver.connect(i, sink)));
    expect(await Promise.all(conns.map((c, i) => sink.roundTrip(c, i)))).toEqual(Array(10).fill('ok'));
    expect(proxy.accepted).toBe(3);
    await Promise.all(conns.map((c) => c.close()));
    await driver.close();
    await proxy.close();
  });

  it.each([
    ['?status=500', undefined, 'status'],
    ['?status=404', '2xx,404', 'ok'],
    ['?size=70000', undefined, 'ok'],
  ])("the echo's %s with expectStatus %s → %s, and the connection is kept", async (query, expectStatus, expected) => {
    const driver = drivers.http2.create({ target: target(echo.httpPort, query), payloadBytes: 16, headers: {}, ...(expectStatus === undefined ? {} : { expectStatus }) });
    const sink = new TestSink();
    const connection = await driver.connect(0, sink);
    expect(await sink.roundTrip(connection, 0)).toBe(expected);
    expect(await sink.roundTrip(connection, 0)).toBe(expected);
    await connection.close();
    await driver.close();
  });

  it('under a traffic mix, each probe carries a fresh traceparent (the echo reflects each)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const result = await drivers.http2.probe({ target: target(echo.httpPort), payloadBytes: 0, headers: {}, mix: { traceparent: true, seed: 1, poolSize: 8 } }, 5000);
      seen.add(result.headers['x-echo-traceparent'] ?? '');
    }
    expect([...seen].every((t) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(t))).toBe(true);
    expect(seen.size).toBe(5);
  });

  it('refuses a connection-specific header, naming it', () => {
    expect(() => drivers.http2.create({ target: target(1), payloadBytes: 0, headers: { Connection: 'keep-alive' } })).toThrow(/header "Connection" .*HTTP\/2 forbids it/);
  });
});
