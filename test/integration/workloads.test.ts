import { once } from 'node:events';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { isMeshbenchError } from '../../src/errors.js';
import { REFLECT_PREFIX, REFLECTED_HEADERS } from '../../src/protocols.js';
import { parseListeningLine, runEchoProcess } from '../../src/workloads/child.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import { loadEchoProto, type EchoClient, type EchoReply } from '../../src/echo-proto.js';

const ALL_REFLECTED: Record<string, string> = Object.fromEntries(
  REFLECTED_HEADERS.map((name, i) => [name, `value-${i}-${name}`]),
);

interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  reusedSocket: boolean;
}

function httpCall(
  port: number,
  opts: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: Buffer | Buffer[]; agent?: Agent },
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers, agent: opts.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reusedSocket: req.reusedSocket }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = opts.body;
    if (Array.isArray(body)) for (const part of body) req.write(part);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

function echoHeaders(headers: IncomingHttpHeaders): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith(REFLECT_PREFIX)));
}

function expectedEchoHeaders(sent: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(sent).map(([name, value]) => [REFLECT_PREFIX + name, value]));
}

function grpcClient(servers: EchoServers): EchoClient {
  const Client = loadEchoProto();
  return new Client(`127.0.0.1:${servers.grpcPort}`, credentials.createInsecure());
}

function unary(client: EchoClient, request: { payload: Buffer; response_size?: number; delay_ms?: number }, md = new Metadata()) {
  return new Promise<{ reply: EchoReply; metadata: Metadata }>((resolve, reject) => {
    let metadata = new Metadata();
    const call = client.Echo({ response_size: 0, delay_ms: 0, ...request }, md, (err, reply) => {
      if (err !== null || reply === undefined) reject(err ?? new Error('no reply'));
      else resolve({ reply, metadata });
    });
    call.on('metadata', (m: Metadata) => (metadata = m));
  });
}

function metadataFrom(headers: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [name, value] of Object.entries(headers)) md.set(name, value);
  return md;
}

function firstValues(md: Metadata): Record<string, unknown> {
  const map = md.getMap();
  return Object.fromEntries(Object.entries(map).filter(([name]) => name.startsWith(REFLECT_PREFIX)));
}

describe('echo workloads', () => {
  let servers: EchoServers;
  let client: EchoClient;

  beforeAll(async () => {
    servers = await startEchoServers({});
    client = grpcClient(servers);
  });
  afterAll(async () => {
    client.close();
    await servers.close();
  });

  it('listens on OS-picked ports on 127.0.0.1', () => {
    expect(servers.host).toBe('127.0.0.1');
    expect(servers.httpPort).toBeGreaterThan(0);
    expect(servers.grpcPort).toBeGreaterThan(0);
    expect(servers.grpcPort).not.toBe(servers.httpPort);
  });

  describe('HTTP/1.1', () => {
    const kib = Buffer.alloc(1024, 7);
    const cases: { name: string; method?: string; path: string; body?: Buffer | Buffer[]; status: number; body2: Buffer | RegExp }[] = [
      { name: 'POST body is echoed', method: 'POST', path: '/echo', body: Buffer.from('hello'), status: 200, body2: Buffer.from('hello') },
      { name: 'GET without body gets an empty body', path: '/', status: 200, body2: Buffer.alloc(0) },
      { name: 'any method and path', method: 'PATCH', path: '/a/b/c', body: kib, status: 200, body2: kib },
      {
        name: 'chunked body (several writes) is echoed whole',
        method: 'PUT',
        path: '/',
        body: [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')],
        status: 200,
        body2: Buffer.from('abcdef'),
      },
      { name: 'size=N replies N bytes', path: '/?size=1000', status: 200, body2: Buffer.alloc(1000, 'x') },
      { name: 'size replaces the body', method: 'POST', path: '/x?a=1&size=3&b', body: kib, status: 200, body2: Buffer.from('xxx') },
      { name: 'size=0 replies empty', path: '/?size=0', status: 200, body2: Buffer.alloc(0) },
      { name: 'status=N sets the status, body still echoed', method: 'POST', path: '/?status=503', body: Buffer.from('e'), status: 503, body2: Buffer.from('e') },
      { name: 'status with size', path: '/?status=404&size=2', status: 404, body2: Buffer.from('xx') },
      { name: 'status=204 has no body', path: '/?status=204', status: 204, body2: Buffer.alloc(0) },
      { name: 'size not a number', path: '/?size=abc', status: 400, body2: /size must be an integer 0\.\.16777216, got "abc"/ },
      { name: 'size over 16 MiB', path: '/?size=16777217', status: 400, body2: /size must be/ },
      { name: 'negative size', path: '/?size=-1', status: 400, body2: /size must be/ },
      { name: 'delayMs over 60000', path: '/?delayMs=60001', status: 400, body2: /delayMs must be an integer 0\.\.60000/ },
      { name: 'status below 200', path: '/?status=101', status: 400, body2: /status must be an integer 200\.\.599/ },
      { name: 'status above 599', path: '/?status=600', status: 400, body2: /status must be/ },
      { name: 'empty status', path: '/?status=', status: 400, body2: /status must be/ },
    ];

    it.each(cases)('$name', async ({ method, path, body, status: expectedStatus, body2 }) => {
      const reply = await httpCall(servers.httpPort, { method, path, body });
      expect(reply.status).toBe(expectedStatus);
      if (body2 instanceof RegExp) expect(reply.body.toString()).toMatch(body2);
      else expect(reply.body.equals(body2)).toBe(true);
      if (expectedStatus === 204) expect(reply.headers['content-length']).toBeUndefined();
      else expect(reply.headers['content-length']).toBe(String(reply.body.length));
    });

    it('echoes a 4 MiB body arriving in many chunks', async () => {
      const body = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      const reply = await httpCall(servers.httpPort, { method: 'POST', body });
      expect(reply.status).toBe(200);
      expect(reply.body.equals(body)).toBe(true);
    });

    it('refuses a declared body over 16 MiB with 413 and closes the connection', async () => {
      const socket = connect(servers.httpPort, '127.0.0.1');
      socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 16777217\r\n\r\n');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(socket, 'close');
      const text = Buffer.concat(chunks).toString();
      expect(text).toMatch(/^HTTP\/1\.1 413 /);
      expect(text).toMatch(/exceeds 16777216/);
    });

    it.each([50, 200])('delayMs=%i delays the reply at least that long', async (delayMs) => {
      const start = performance.now();
      const reply = await httpCall(servers.httpPort, { method: 'POST', path: `/?delayMs=${delayMs}`, body: Buffer.from('d') });
      expect(performance.now() - start).toBeGreaterThanOrEqual(delayMs - 1); // timers run on ms-rounded loop time
      expect(reply.status).toBe(200);
      expect(reply.body.toString()).toBe('d');
    });

    it('keeps the connection alive across requests', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const reused: boolean[] = [];
        for (let i = 0; i < 5; i++) {
          const reply = await httpCall(servers.httpPort, { method: 'POST', body: Buffer.from(`r${i}`), agent });
          expect(reply.body.toString()).toBe(`r${i}`);
          expect(reply.headers.connection).toBe('keep-alive');
          reused.push(reply.reusedSocket);
        }
        expect(reused).toEqual([false, true, true, true, true]);
      } finally {
        agent.destroy();
      }
    });

    const reflectCases: { name: string; path: string; sent: Record<string, string> }[] = [
      { name: 'all reflected headers', path: '/', sent: ALL_REFLECTED },
      { name: 'no reflected headers', path: '/', sent: {} },
      { name: 'a subset', path: '/?size=4', sent: { traceparent: '00-1-2-01', 'x-forwarded-client-cert': 'By=spiffe://a' } },
      { name: 'on an error reply too', path: '/?size=bad', sent: { 'x-request-id': 'req-1' } },
    ];

    it.each(reflectCases)('reflects headers: $name', async ({ path, sent }) => {
      const reply = await httpCall(servers.httpPort, { path, headers: { ...sent, 'x-unrelated': 'u' } });
      expect(echoHeaders(reply.headers)).toEqual(expectedEchoHeaders(sent));
    });
  });

  describe('websocket', () => {
    it('echoes text as text and binary as binary, and reflects headers on the upgrade', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${servers.httpPort}/any/path`, { headers: ALL_REFLECTED });
      const opened = once(ws, 'open'); // 'open' follows 'upgrade' in the same tick
      const [upgrade] = (await once(ws, 'upgrade')) as [{ headers: IncomingHttpHeaders }];
      expect(echoHeaders(upgrade.headers)).toEqual(expectedEchoHeaders(ALL_REFLECTED));
      await opened;
      const received: { data: Buffer; isBinary: boolean }[] = [];
      ws.on('message', (data: Buffer, isBinary: boolean) => received.push({ data, isBinary }));
      const sent = [
        { data: 'hello', isBinary: false },
        { data: Buffer.from([0, 1, 2, 255]), isBinary: true },
        { data: 'héllo ✓', isBinary: false },
        { data: Buffer.alloc(100_000, 3), isBinary: true },
      ];
      for (const message of sent) ws.send(message.data, { binary: message.isBinary });
      await expect.poll(() => received.length).toBe(sent.length);
      received.forEach((got, i) => {
        const want = sent[i]!;
        expect(got.isBinary).toBe(want.isBinary);
        expect(got.data.equals(Buffer.from(want.data))).toBe(true);
      });
      ws.close();
      await once(ws, 'close');
    });

    it('reflects nothing when no reflected header was sent', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${servers.httpPort}/`);
      const [upgrade] = (await once(ws, 'upgrade')) as [{ headers: IncomingHttpHeaders }];
      expect(echoHeaders(upgrade.headers)).toEqual({});
      ws.terminate();
    });
  });

  describe('gRPC', () => {
    it.each([
      { name: 'payload echoed', request: { payload: Buffer.from('ping') }, expected: Buffer.from('ping') },
      { name: 'empty payload', request: { payload: Buffer.alloc(0) }, expected: Buffer.alloc(0) },
      { name: 'response_size honoured', request: { payload: Buffer.from('p'), response_size: 300 }, expected: Buffer.alloc(300, 'x') },
      { name: '1 MiB payload', request: { payload: Buffer.alloc(1 << 20, 9) }, expected: Buffer.alloc(1 << 20, 9) },
    ])('unary: $name', async ({ request, expected }) => {
      const { reply } = await unary(client, request);
      expect(reply.payload.equals(expected)).toBe(true);
    });

    it('unary: delay_ms delays the reply at least that long', async () => {
      const start = performance.now();
      await unary(client, { payload: Buffer.from('d'), delay_ms: 100 });
      expect(performance.now() - start).toBeGreaterThanOrEqual(99);
    });

    it.each([
      { name: 'response_size over 16 MiB', request: { payload: Buffer.alloc(0), response_size: 16 * 1024 * 1024 + 1 }, details: /response_size/ },
      { name: 'delay_ms over 60000', request: { payload: Buffer.alloc(0), delay_ms: 60_001 }, details: /delay_ms/ },
    ])('unary: $name is INVALID_ARGUMENT', async ({ request, details }) => {
      const err = (await unary(client, request).catch((e: unknown) => e)) as ServiceError;
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(details);
    });

    it.each([
      { name: 'all reflected headers', sent: ALL_REFLECTED },
      { name: 'none', sent: {} },
      { name: 'a subset', sent: { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' } },
    ])('unary: metadata reflects headers: $name', async ({ sent }) => {
      const { metadata } = await unary(client, { payload: Buffer.from('m') }, metadataFrom(sent));
      expect(firstValues(metadata)).toEqual(expectedEchoHeaders(sent));
    });

    it('bidi: echoes several messages in order, honours response_size and delay_ms, reflects headers', async () => {
      const call = client.EchoStream(metadataFrom(ALL_REFLECTED));
      const replies: Buffer[] = [];
      call.on('data', (reply: EchoReply) => replies.push(reply.payload));
      const metadataSeen = once(call, 'metadata');
      const ended = once(call, 'end');
      call.write({ payload: Buffer.from('first'), response_size: 0, delay_ms: 0 });
      const [metadata] = (await metadataSeen) as [Metadata];
      expect(firstValues(metadata)).toEqual(expectedEchoHeaders(ALL_REFLECTED));
      await expect.poll(() => replies.length).toBe(1);

      const start = performance.now();
      // A delayed message must not be overtaken by the undelayed ones behind it.
      call.write({ payload: Buffer.from('slow'), response_size: 0, delay_ms: 80 });
      call.write({ payload: Buffer.from('fast'), response_size: 0, delay_ms: 0 });
      call.write({ payload: Buffer.from('ignored'), response_size: 5, delay_ms: 0 });
      for (let i = 0; i < 5; i++) call.write({ payload: Buffer.from(`m${i}`), response_size: 0, delay_ms: 0 });
      call.end();
      await ended;
      expect(performance.now() - start).toBeGreaterThanOrEqual(79);
      expect(replies.map((b) => b.toString())).toEqual(['first', 'slow', 'fast', 'xxxxx', 'm0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('bidi: an invalid message ends the stream with INVALID_ARGUMENT', async () => {
      const call = client.EchoStream();
      call.on('data', () => {});
      call.write({ payload: Buffer.alloc(0), response_size: 0, delay_ms: 999_999 });
      const [err] = (await once(call, 'error')) as [ServiceError];
      expect(err.code).toBe(status.INVALID_ARGUMENT);
    });
  });
});

describe('planted delay (plantedDelayUs)', () => {
  const DELAY_US = 3000;
  let servers: EchoServers;
  let client: EchoClient;
  beforeAll(async () => {
    servers = await startEchoServers({ plantedDelayUs: DELAY_US });
    client = grpcClient(servers);
  });
  afterAll(async () => {
    client.close();
    await servers.close();
  });

  /** ms a call took, measured around it: never less than the planted delay. */
  async function timed(call: () => Promise<unknown>): Promise<number> {
    const start = performance.now();
    await call();
    return performance.now() - start;
  }

  it.each<[string, (s: EchoServers, c: EchoClient) => Promise<unknown>]>([
    ['HTTP/1.1', async (s) => expect((await httpCall(s.httpPort, { method: 'POST', body: Buffer.from('x') })).body.toString()).toBe('x')],
    ['HTTP/1.1 status=503', async (s) => expect((await httpCall(s.httpPort, { path: '/?status=503' })).status).toBe(503)],
    ['gRPC unary', async (_s, c) => expect((await unary(c, { payload: Buffer.from('u') })).reply.payload.toString()).toBe('u')],
    ['gRPC stream message, then the end of the stream', async (_s, c) => {
      const call = c.EchoStream();
      const replies: string[] = [];
      call.on('data', (r: EchoReply) => replies.push(r.payload.toString()));
      const ended = once(call, 'end');
      call.write({ payload: Buffer.from('a'), response_size: 0, delay_ms: 0 });
      call.write({ payload: Buffer.from('b'), response_size: 0, delay_ms: 0 });
      call.end();
      await ended;
      expect(replies).toEqual(['a', 'b']);
    }],
    ['websocket message', async (s) => {
      const ws = new WebSocket(`ws://127.0.0.1:${s.httpPort}/`);
      await once(ws, 'open');
      const start = performance.now();
      ws.send('m');
      const [data] = (await once(ws, 'message')) as [Buffer];
      const ms = performance.now() - start;
      ws.close();
      expect(data.toString()).toBe('m');
      expect(ms).toBeGreaterThanOrEqual(DELAY_US / 1000);
    }],
  ])('%s: the response waits for the planted delay', async (_label, call) => {
    expect(await timed(() => call(servers, client))).toBeGreaterThanOrEqual(DELAY_US / 1000);
  });
});

describe('planted ports (plantedPorts): only the second pair of ports holds its replies', () => {
  const DELAY_US = 500_000;
  let servers: EchoServers;
  beforeAll(async () => {
    servers = await startEchoServers({ plantedDelayUs: DELAY_US, plantedPorts: true });
  });
  afterAll(async () => {
    await servers.close();
  });

  it('announces two more ports; the ordinary ones answer without the delay, the planted ones with it', async () => {
    const planted = servers.planted;
    if (planted === undefined) throw new Error('no planted ports');
    expect(new Set([servers.httpPort, servers.grpcPort, planted.httpPort, planted.grpcPort]).size).toBe(4);
    const took = async (port: number): Promise<number> => {
      const start = performance.now();
      expect((await httpCall(port, { method: 'POST', body: Buffer.from('p') })).body.toString()).toBe('p');
      return performance.now() - start;
    };
    expect(await took(planted.httpPort)).toBeGreaterThanOrEqual(DELAY_US / 1000);
    expect(await took(servers.httpPort)).toBeLessThan(DELAY_US / 1000);
    const c = grpcClient({ ...servers, grpcPort: planted.grpcPort });
    try {
      const start = performance.now();
      expect((await unary(c, { payload: Buffer.from('g') })).reply.payload.toString()).toBe('g');
      expect(performance.now() - start).toBeGreaterThanOrEqual(DELAY_US / 1000);
    } finally {
      c.close();
    }
  });

  it('announces them in the listening line', () => {
    expect(parseListeningLine('{"event":"listening","host":"127.0.0.1","httpPort":1,"grpcPort":2,"planted":{"httpPort":3,"grpcPort":4}}')).toEqual({
      event: 'listening', host: '127.0.0.1', httpPort: 1, grpcPort: 2, planted: { httpPort: 3, grpcPort: 4 },
    });
    expect(parseListeningLine('{"event":"listening","host":"127.0.0.1","httpPort":1,"grpcPort":2,"planted":{"httpPort":3}}')).toBeNull();
  });
});

describe('close()', () => {
  it('resolves promptly with an open keep-alive socket, websocket, bidi stream and delayed requests', async () => {
    const servers = await startEchoServers({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
    const agent = new Agent({ keepAlive: true });
    const client = grpcClient(servers);
    try {
      await httpCall(servers.httpPort, { agent }); // leaves an idle keep-alive socket
      const pendingHttp = httpCall(servers.httpPort, { path: '/?delayMs=60000' }).catch((e: unknown) => e);
      const ws = new WebSocket(`ws://127.0.0.1:${servers.httpPort}/`);
      await once(ws, 'open');
      const wsClosed = once(ws, 'close');
      const call = client.EchoStream();
      call.write({ payload: Buffer.from('a'), response_size: 0, delay_ms: 0 });
      await once(call, 'data');
      call.write({ payload: Buffer.from('b'), response_size: 0, delay_ms: 60_000 });
      const streamFailed = once(call, 'error');
      const pendingUnary = unary(client, { payload: Buffer.from('u'), delay_ms: 60_000 }).catch((e: unknown) => e);

      const start = performance.now();
      await servers.close();
      expect(performance.now() - start).toBeLessThan(10_000);
      await Promise.all([wsClosed, streamFailed, pendingHttp, pendingUnary]);
      await servers.close(); // idempotent
    } finally {
      agent.destroy();
      client.close();
    }
  });

  it('a port in use is MB_ENV_FAILED naming the flag to change', async () => {
    const first = await startEchoServers({});
    try {
      const err = await startEchoServers({ httpPort: first.httpPort }).catch((e: unknown) => e);
      expect(isMeshbenchError(err) && err.code).toBe('MB_ENV_FAILED');
      expect((err as Error).message).toMatch(/--http-port/);
    } finally {
      await first.close();
    }
  });
});

describe('runEchoProcess', () => {
  it('writes one listening line, serves, and stops when aborted', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const done = runEchoProcess({ signal: stop.signal }, (line) => lines.push(line));
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatch(/^\{"event":"listening","host":"127\.0\.0\.1","httpPort":\d+,"grpcPort":\d+\}$/);
    const listening = parseListeningLine(lines[0]!);
    expect(listening).not.toBeNull();
    const reply = await httpCall(listening!.httpPort, { method: 'POST', body: Buffer.from('up') });
    expect(reply.body.toString()).toBe('up');

    stop.abort();
    await done;
    expect(lines).toHaveLength(1);
    const fresh = new Agent({ keepAlive: false }); // the global agent may still hold the dropped socket
    await expect(httpCall(listening!.httpPort, { agent: fresh })).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each([
    ['not json', null],
    ['{"event":"closed"}', null],
    ['{"event":"listening","host":"h","httpPort":0,"grpcPort":1}', null],
    ['{"event":"listening","host":"::1","httpPort":8080,"grpcPort":9090}', { event: 'listening', host: '::1', httpPort: 8080, grpcPort: 9090 }],
  ])('parseListeningLine(%s)', (line, expected) => {
    expect(parseListeningLine(line)).toEqual(expected);
  });
});
