import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import { startRelay, type Relay } from '../../src/workloads/relay.js';

/** The relay in process, in front of a real echo (port 0): what a chain's middle service does on the wire. */

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string | string[]): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    for (const part of Array.isArray(body) ? body : body === undefined ? [] : [body]) req.write(part);
    req.end();
  });
}

describe('relay → echo', () => {
  let echo: EchoServers;
  let second: Relay;
  let first: Relay;
  let dead: Relay;
  beforeAll(async () => {
    echo = await startEchoServers();
    second = await startRelay('127.0.0.1', [`http://127.0.0.1:${echo.httpPort}/`]);
    first = await startRelay('127.0.0.1', [`http://127.0.0.1:${second.ports[0] ?? 0}/`, `http://127.0.0.1:${echo.httpPort}/,http://127.0.0.1:${echo.httpPort}/`]);
    dead = await startRelay('127.0.0.1', ['http://127.0.0.1:1/']);
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close(), dead.close()]);
    await echo.close();
  });

  it.each([
    ['a POST body (Content-Length)', 'POST', '/', 'hello chain', 'hello chain'],
    ['a chunked body', 'POST', '/', ['chunk-1 ', 'chunk-2'], 'chunk-1 chunk-2'],
    ['the path and query', 'GET', '/any?size=5', undefined, 'xxxxx'],
  ])('forwards %s through two relays to the echo and the answer back', async (_name, method, path, body, expected) => {
    const res = await send(first.ports[0] ?? 0, method, path, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-forwarded-client-cert': 'By=forged' }, body);
    expect(res.status).toBe(200);
    expect(res.body).toBe(expected);
    // this hop saw the forged marker (it reflects what reached it); the hops behind never got it
    expect(res.headers['x-echo-x-forwarded-client-cert']).toBe('By=forged');
    expect(res.headers['x-echo-chain']).toBe('mtls, direct, direct');
    expect(res.headers['x-echo-traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('passes the next hop\'s status on', async () => {
    const res = await send(first.ports[0] ?? 0, 'GET', '/?status=503', {});
    expect(res.status).toBe(503);
  });

  it('a second port takes its own route: the replicas listed, in turn', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => send(first.ports[1] ?? 0, 'POST', '/', {}, 'r')));
    expect(answers.map((a) => [a.status, a.body, a.headers['x-echo-chain']])).toEqual(Array(4).fill([200, 'r', 'direct, direct']));
  });

  it('answers 502, naming the next hop, when it cannot reach it', async () => {
    const res = await send(dead.ports[0] ?? 0, 'GET', '/', {});
    expect(res.status).toBe(502);
    expect(res.body).toMatch(/^meshbench relay: the next hop 127\.0\.0\.1:1 failed: .*ECONNREFUSED/);
  });

  it('refuses a websocket upgrade with 501 (a chain relays HTTP/1.1 requests only)', async () => {
    const head = await new Promise<string>((resolve, reject) => {
      const socket = connect(first.ports[0] ?? 0, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 501 /);
  });

  it('refuses a route that is not an http:// URL, naming it', async () => {
    await expect(startRelay('127.0.0.1', ['https://127.0.0.1:1/'])).rejects.toThrow(/--to https:\/\/127\.0\.0\.1:1\/ is not an http:\/\/ URL/);
  });
});
