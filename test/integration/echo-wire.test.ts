import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http2, { type ClientHttp2Session } from 'node:http2';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';

/**
 * The raw-socket echo against ordinary clients (curl, the ws library) and hand-written wire bytes:
 * pipelining, keep-alive rules, malformed input, websocket framing details.
 */

const run = promisify(execFile);

/** Writes `wire` (in pieces, with a pause between them) and collects everything until the server closes or `untilBytes` arrived. */
async function exchange(port: number, pieces: (string | Buffer)[], opts: { until?: (text: Buffer) => boolean } = {}): Promise<{ bytes: Buffer; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (opts.until?.(Buffer.concat(chunks)) === true) resolve();
    });
    socket.on('close', () => {
      closed = true;
      resolve();
    });
  });
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 3000))]);
  socket.destroy();
  return { bytes: Buffer.concat(chunks), closed };
}

function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** A masked client frame. */
function frame(opcode: number, payload: Buffer, fin = true, masked = true, lengthOverride?: number): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const length = lengthOverride ?? payload.length;
  const header =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | length])
      : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | 127]), Buffer.from([0, 0, 0, 0]), Buffer.alloc(4)]);
  if (length >= 126) header.writeUInt32BE(length, 6);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, masked ? mask : Buffer.alloc(0), masked ? body : payload]);
}

const UPGRADE = 'GET /any HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('echo on the wire', () => {
  let servers: EchoServers;
  beforeAll(async () => {
    servers = await startEchoServers({});
  });
  afterAll(async () => {
    await servers.close();
  });

  describe('curl', () => {
    const cases: { name: string; args: string[]; want: RegExp; body?: string }[] = [
      { name: 'POST echoes', args: ['-d', 'hello'], want: /^HTTP\/1\.1 200 OK\r\n/, body: 'hello' },
      { name: 'reflects trace headers', args: ['-H', 'traceparent: 00-ab-cd-01', '-H', 'b3: 1-2'], want: /\r\nx-echo-traceparent: 00-ab-cd-01\r\nx-echo-b3: 1-2\r\n/i },
      { name: 'HEAD has the length but no body', args: ['-I', '--url-query', 'size=9'], want: /Content-Length: 9\r\n/, body: '' },
      { name: 'HTTP/1.0 closes', args: ['--http1.0', '-d', 'x'], want: /\r\nConnection: close\r\n/, body: 'x' },
      { name: 'chunked upload', args: ['-H', 'Transfer-Encoding: chunked', '-d', 'abcdef'], want: /Content-Length: 6\r\n/, body: 'abcdef' },
    ];
    it.each(cases)('$name', async ({ args, want, body }) => {
      const { stdout } = await run('curl', ['-s', '-i', ...args, `http://127.0.0.1:${servers.httpPort}/c`]);
      expect(stdout).toMatch(want);
      if (body !== undefined) expect(stdout.slice(stdout.indexOf('\r\n\r\n') + 4)).toBe(body);
    });

    it('a 2 MiB upload (curl waits for 100 Continue) comes back whole', async () => {
      const { stdout } = await run('sh', ['-c', `head -c 2097152 /dev/zero | tr '\\0' 'q' | curl -s -H 'Expect: 100-continue' --data-binary @- http://127.0.0.1:${servers.httpPort}/ | wc -c`]);
      expect(stdout.trim()).toBe('2097152');
    });
  });

  describe('HTTP/1.1 framing', () => {
    it('answers pipelined requests in order, a delayed one included, and keeps the connection', async () => {
      const wire =
        'POST /1 HTTP/1.1\r\nContent-Length: 2\r\n\r\nr1' +
        'GET /2?delayMs=30&size=2 HTTP/1.1\r\n\r\n' +
        'POST /3?status=201 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nr3\r\n0\r\n\r\n' +
        'GET /4?status=304 HTTP/1.1\r\n\r\n' +
        'GET /5?size=x HTTP/1.1\r\n\r\n';
      const { bytes, closed } = await exchange(servers.httpPort, [wire], { until: (b) => statuses(b.toString()).length === 5 && b.toString().endsWith('got "x"\n') });
      const text = bytes.toString();
      expect(statuses(text)).toEqual([200, 200, 201, 304, 400]);
      expect(text).toMatch(/\r\n\r\nr1HTTP.*\r\n\r\nxxHTTP.*\r\n\r\nr3HTTP\/1\.1 304/s);
      expect(closed).toBe(false);
    });

    it.each([
      { name: 'Connection: close', wire: 'GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n', want: [200] },
      { name: 'HTTP/1.0', wire: 'GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\n\r\n', want: [200] },
      { name: 'malformed request line', wire: 'GARBAGE\r\n\r\n', want: [400] },
      { name: 'head over 64 KiB', wire: `GET / HTTP/1.1\r\nx-a: ${'a'.repeat(70_000)}\r\n\r\n`, want: [431] },
      { name: 'body over 16 MiB declared', wire: 'POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n', want: [413] },
    ])('$name: replies $want and closes', async ({ wire, want }) => {
      const { bytes, closed } = await exchange(servers.httpPort, [wire]);
      expect(statuses(bytes.toString())).toEqual(want);
      expect(closed).toBe(true);
    });

    it('HTTP/1.0 with keep-alive stays open', async () => {
      const { bytes, closed } = await exchange(servers.httpPort, ['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { until: (b) => b.includes('\r\n\r\n') });
      expect(bytes.toString()).toMatch(/\r\nConnection: keep-alive\r\n/);
      expect(closed).toBe(false);
    });

    it('a request split into single bytes is answered once', async () => {
      const wire = 'POST /s HTTP/1.1\r\nx-request-id: split\r\nContent-Length: 3\r\n\r\nabc';
      const { bytes } = await exchange(servers.httpPort, [...wire].map((c) => c), { until: (b) => b.toString().endsWith('abc') });
      expect(statuses(bytes.toString())).toEqual([200]);
      expect(bytes.toString()).toMatch(/x-echo-x-request-id: split\r\n/);
    });
  });

  describe('websocket (ws client)', () => {
    it('echoes fragmented messages whole, text as text, with a subprotocol and pings answered', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${servers.httpPort}/chat`, ['echo-proto', 'other']);
      await once(ws, 'open');
      expect(ws.protocol).toBe('echo-proto');
      const received: { text: string; isBinary: boolean }[] = [];
      ws.on('message', (data: Buffer, isBinary: boolean) => received.push({ text: data.toString(), isBinary }));
      ws.send('frag-', { fin: false });
      ws.send('ment-', { fin: false });
      ws.send('ed ✓', { fin: true });
      ws.send(Buffer.from('bin'), { binary: true, fin: false });
      ws.send(Buffer.from('ary'), { binary: true, fin: true });
      ws.ping(Buffer.from('p'));
      const [pong] = (await once(ws, 'pong')) as [Buffer];
      expect(pong.toString()).toBe('p');
      await expect.poll(() => received.length).toBe(2);
      expect(received).toEqual([
        { text: 'frag-ment-ed ✓', isBinary: false },
        { text: 'binary', isBinary: true },
      ]);
      ws.close(4001, 'bye');
      const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
      expect([code, reason.toString()]).toEqual([4001, 'bye']);
    });

    it('a 3 MiB binary message comes back whole', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${servers.httpPort}/`);
      await once(ws, 'open');
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = i % 253;
      ws.send(big);
      const [data] = (await once(ws, 'message')) as [Buffer];
      expect(data.equals(big)).toBe(true);
      ws.terminate();
    });
  });

  describe('websocket (wire)', () => {
    /** The close frame the server sends after the 101 and whatever it echoed. */
    function closeCode(bytes: Buffer): number | undefined {
      const at = bytes.indexOf('\r\n\r\n') + 4;
      for (let i = at; i + 1 < bytes.length; ) {
        const opcode = bytes[i]! & 0x0f;
        const length = bytes[i + 1]! & 0x7f;
        if (opcode === 8) return length >= 2 ? bytes.readUInt16BE(i + 2) : 1005;
        i += 2 + length;
      }
      return undefined;
    }

    it.each([
      { name: 'unmasked frame', frames: [frame(2, Buffer.from('x'), true, false)], code: 1002 },
      { name: 'reserved opcode', frames: [frame(3, Buffer.from('x'))], code: 1002 },
      { name: 'continuation without a start', frames: [frame(0, Buffer.from('x'))], code: 1002 },
      { name: 'invalid UTF-8 text', frames: [frame(1, Buffer.from([0xc3, 0x28]))], code: 1007 },
      { name: 'message over 16 MiB', frames: [frame(2, Buffer.alloc(0), true, true, 16 * 1024 * 1024 + 1)], code: 1009 },
      { name: 'close without a code', frames: [frame(8, Buffer.alloc(0))], code: 1005 },
      { name: 'close 1000', frames: [frame(8, Buffer.from([0x03, 0xe8]))], code: 1000 },
      { name: 'close with a reserved code', frames: [frame(8, Buffer.from([0x03, 0xed]))], code: 1002 },
    ])('$name → close $code', async ({ frames, code }) => {
      const { bytes, closed } = await exchange(servers.httpPort, [UPGRADE, ...frames]);
      expect(bytes.toString('latin1')).toMatch(/^HTTP\/1\.1 101 .*\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/s);
      expect(closeCode(bytes)).toBe(code);
      expect(closed).toBe(true);
    });

    it('frames in the upgrade request packet and split frames are echoed', async () => {
      const message = frame(2, Buffer.from('hello'));
      const { bytes } = await exchange(servers.httpPort, [Buffer.concat([Buffer.from(UPGRADE), message.subarray(0, 3)]), message.subarray(3)], {
        until: (b) => b.includes('hello'),
      });
      expect(bytes.subarray(bytes.indexOf('\r\n\r\n') + 4)).toEqual(Buffer.from([0x82, 5, ...Buffer.from('hello')]));
    });

    it.each([
      { name: 'no key', wire: UPGRADE.replace(/Sec-WebSocket-Key: .*\r\n/, '') },
      { name: 'version 12', wire: UPGRADE.replace('Version: 13', 'Version: 12') },
      { name: 'POST', wire: UPGRADE.replace('GET', 'POST') },
    ])('a bad handshake ($name) gets 400 and closes', async ({ wire }) => {
      const { bytes, closed } = await exchange(servers.httpPort, [wire]);
      expect(statuses(bytes.toString())).toEqual([400]);
      expect(closed).toBe(true);
    });
  });
});

describe('echo over HTTP/2 (h2c, prior knowledge, on the HTTP port)', () => {
  let servers: EchoServers;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    servers = await startEchoServers({});
    session = http2.connect(`http://127.0.0.1:${servers.httpPort}`);
  });
  afterAll(async () => {
    session.close();
    await servers.close();
  });

  function request(headers: Record<string, string>, body?: Buffer): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const stream = session.request(headers, { endStream: body === undefined });
      const chunks: Buffer[] = [];
      let head: Record<string, unknown> = {};
      stream.on('response', (h) => (head = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
      stream.on('error', reject);
      if (body !== undefined) stream.end(body);
    });
  }

  it.each([
    ['POST echoes the body', { ':method': 'POST', ':path': '/a' }, Buffer.from('hello h2'), 200, 'hello h2'],
    ['?size=N answers N bytes', { ':method': 'GET', ':path': '/a?size=5' }, undefined, 200, 'xxxxx'],
    ['?status=503 answers it', { ':method': 'GET', ':path': '/?status=503' }, undefined, 503, ''],
    ['HEAD has no body', { ':method': 'HEAD', ':path': '/?size=10' }, undefined, 200, ''],
    ['a bad parameter gets 400 saying what to fix', { ':method': 'GET', ':path': '/?size=x' }, undefined, 400, 'meshbench echo: query parameter size must be an integer 0..16777216, got "x"\n'],
  ])('%s', async (_label, headers, body, status, text) => {
    const reply = await request(headers, body);
    expect(reply.headers[':status']).toBe(status);
    expect(reply.body.toString()).toBe(text);
  });

  it('reflects the mesh and trace headers, and HTTP/1.1 on the same port still works', async () => {
    const reply = await request({ ':method': 'GET', ':path': '/', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-request-id': 'r1' });
    expect(reply.headers['x-echo-traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(reply.headers['x-echo-x-request-id']).toBe('r1');
    const { stdout } = await run('curl', ['-s', '-d', 'h1', `http://127.0.0.1:${servers.httpPort}/`]);
    expect(stdout).toBe('h1');
  });
});
