import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition, Server, ServerCredentials, status as GrpcStatus, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createAuthority, issueLeaf } from '../../src/envs/local/pki.js';
import { readHlog } from '../../src/histograms/index.js';
import { runCli } from '../e2e/helpers.js';

/**
 * `meshbench load` against servers that are not meshbench's: nginx over TLS (self-signed, CA-signed, and
 * CA-signed with a client certificate required) and plain HTTP, and a gRPC service from a proto written here
 * (TLS, unary and bidi). nginx runs in the foreground from a config written into a temp dir; its access log
 * is what proves methods, paths, bodies and weights reached it.
 */

const NGINX = '/usr/sbin/nginx';
const haveNginx = existsSync(NGINX);
if (!haveNginx && process.env['CI'] === 'true') throw new Error('nginx is required in CI (apt-get install -y nginx-light)');

// Made at collection: the tables below name files in it.
const dir = mkdtempSync(join(tmpdir(), 'meshbench-adhoc-'));
let nginx: ChildProcess | undefined;
const port = { selfSigned: 0, caSigned: 0, mtls: 0, plain: 0 };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return p;
}

async function waitForPort(p: number): Promise<void> {
  for (let i = 0; i < 100 && nginx?.exitCode === null; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(p, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${p} (exit code ${String(nginx?.exitCode)}; its errors are on stderr)`);
}

const file = (name: string): string => join(dir, name);

/** The access log's lines: method, path, request body length, status, x-run header. */
function accessLog(): { method: string; path: string; length: string; status: string; run: string }[] {
  return readFileSync(file('access.log'), 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => {
    const [method = '', path = '', length = '', status = '', run = ''] = l.split(' ');
    return { method, path, length, status, run };
  });
}

beforeAll(async () => {
  const ca = await createAuthority('adhoc test CA');
  const server = await issueLeaf(ca, { commonName: 'localhost', usage: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const client = await issueLeaf(ca, { commonName: 'adhoc-client', usage: 'client' });
  writeFileSync(file('ca.pem'), ca.certPem);
  writeFileSync(file('server.crt'), server.certPem);
  writeFileSync(file('server.key'), server.keyPem);
  writeFileSync(file('client.crt'), client.certPem);
  writeFileSync(file('client.key'), client.keyPem);
  // A self-signed leaf (a server certificate that is its own issuer), as people make them for test endpoints.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', file('self.key'), '-out', file('self.crt')], { stdio: 'ignore' });
  writeFileSync(file('body.bin'), Buffer.alloc(300, 0x41));
  if (!haveNginx) return;
  for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
  const locations = `
      location = /created { return 201 "created\\n"; }
      location = /missing { return 404 "missing\\n"; }
      location / { return 200 "ok\\n"; }`;
  writeFileSync(file('nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${file('nginx.pid')};
error_log stderr error;
events { worker_connections 256; }
http {
  log_format adhoc '$request_method $uri $content_length $status $http_x_run';
  access_log ${file('access.log')} adhoc;
  client_body_buffer_size 1m;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
  fastcgi_temp_path ${dir};
  uwsgi_temp_path ${dir};
  scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port.plain}; ${locations} }
  server { listen 127.0.0.1:${port.selfSigned} ssl; ssl_certificate ${file('self.crt')}; ssl_certificate_key ${file('self.key')}; ${locations} }
  server { listen 127.0.0.1:${port.caSigned} ssl; ssl_certificate ${file('server.crt')}; ssl_certificate_key ${file('server.key')}; ${locations} }
  server {
    listen 127.0.0.1:${port.mtls} ssl; ssl_certificate ${file('server.crt')}; ssl_certificate_key ${file('server.key')};
    ssl_client_certificate ${file('ca.pem')}; ssl_verify_client on; ${locations}
  }
}
`);
  nginx = spawn(NGINX, ['-p', dir, '-c', file('nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await Promise.all(Object.values(port).map(waitForPort));
});

afterAll(async () => {
  if (nginx !== undefined && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx?.once('exit', resolve));
    nginx.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A short closed-loop load: what every case below runs (seconds, not load). */
const SHORT = ['-c', '2', '-w', '1', '-d', '0.6', '--warmup', '0.1', '--json', '-q'];
const json = (stdout: string): Record<string, any> => JSON.parse(stdout) as Record<string, any>;

describe.skipIf(!haveNginx)('load over TLS against nginx', () => {
  it.each([
    { name: 'self-signed, no flag', url: () => `https://127.0.0.1:${port.selfSigned}/`, args: [], code: 3, stderr: /--cacert/ },
    { name: 'self-signed, --insecure', url: () => `https://127.0.0.1:${port.selfSigned}/`, args: ['--insecure'], code: 0, stderr: /NOT verified/ },
    { name: 'CA-signed, no flag', url: () => `https://127.0.0.1:${port.caSigned}/`, args: [], code: 3, stderr: /--cacert/ },
    { name: 'CA-signed, --cacert', url: () => `https://127.0.0.1:${port.caSigned}/`, args: ['--cacert', file('ca.pem')], code: 0, stderr: /^$/ },
    { name: 'client cert required, --cacert --cert --key', url: () => `https://127.0.0.1:${port.mtls}/`, args: ['--cacert', file('ca.pem'), '--cert', file('client.crt'), '--key', file('client.key')], code: 0, stderr: /^$/ },
  ])('$name → exit $code', async ({ url, args, code, stderr }) => {
    const r = await runCli(['load', url(), ...SHORT, ...args]);
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(code);
    if (code !== 0) return;
    const doc = json(r.stdout);
    expect(doc['count']).toBeGreaterThan(10);
    expect(doc['errors']).toBe(0);
    expect(doc['tls']['insecure']).toBe(args.includes('--insecure'));
  });

  it('client cert required, none given: every request fails with nginx\'s 400, so nothing succeeded (exit 2)', async () => {
    const r = await runCli(['load', `https://127.0.0.1:${port.mtls}/`, ...SHORT, '--cacert', file('ca.pem')]);
    expect(r.code).toBe(2);
    const doc = json(r.stdout);
    expect(doc['count']).toBe(0);
    expect(doc['errorsByKind']['status']).toBeGreaterThan(0);
  });

  it('--cert without --key is bad input naming both', async () => {
    const r = await runCli(['load', `https://127.0.0.1:${port.mtls}/`, ...SHORT, '--cert', file('client.crt')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--cert and --key/);
  });
});

describe.skipIf(!haveNginx)('ab between two TLS targets (scenario targets with tls)', () => {
  it('--insecure against self-signed nginx: both variants driven, the WARNING in the output and result.json', async () => {
    const out = file('ab-insecure');
    const url = `https://127.0.0.1:${port.selfSigned}/`;
    const r = await runCli(['ab', url, url, '-m', 'GET', '-r', '200', '-c', '2', '-w', '1', '-d', '3', '--rounds', '3', '--warmup', '0.2', '--insecure', '-q', '--out', out]);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Record<string, any>;
    expect(r.code).toBe(doc['verdict']['validity'].length === 0 ? 0 : 2);
    expect(r.stdout).toMatch(/WARNING: TLS certificates were NOT verified \(insecure\) for: unmeshed, meshed/);
    expect(r.stderr).toMatch(/--insecure/);
    expect(doc['environment']['facts']['tlsInsecure']).toEqual(['unmeshed', 'meshed']);
    expect(doc['environment']['facts']['request']).toEqual({ method: 'GET' });
    expect(doc['scenario']['env']['variants']['meshed']['tls']).toEqual({ insecure: true });
    expect(doc['protocols'][0]['variants']['meshed']['count']).toBeGreaterThan(0);
    expect(doc['protocols'][0]['variants']['meshed']['rounds']).toHaveLength(3);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/NOT verified/);
  });

  it('CA-signed and client-certificate ports with --cacert --cert --key: no errors on either side', async () => {
    const out = file('ab-mtls');
    const r = await runCli(['ab', `https://127.0.0.1:${port.caSigned}/`, `https://127.0.0.1:${port.mtls}/`, '-m', 'GET', '-r', '200', '-c', '2', '-w', '1', '-d', '3', '--rounds', '3', '--warmup', '0.2',
      '--cacert', file('ca.pem'), '--cert', file('client.crt'), '--key', file('client.key'), '-q', '--out', out]);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Record<string, any>;
    expect(r.code).toBe(doc['verdict']['validity'].length === 0 ? 0 : 2);
    for (const v of ['unmeshed', 'meshed']) expect(doc['protocols'][0]['variants'][v]['errors']).toBe(0);
    expect(doc['scenario']['env']['variants']['meshed']['tls']).toEqual({ insecure: false, cacert: file('ca.pem'), cert: file('client.crt'), key: file('client.key') });
    expect(doc['environment']['facts']['tlsInsecure']).toBeUndefined();
  });
});

describe('websocket over TLS (wss://) with a client certificate required', () => {
  let server: https.Server;
  let wssPort = 0;
  beforeAll(async () => {
    server = https.createServer({ cert: readFileSync(file('server.crt')), key: readFileSync(file('server.key')), ca: readFileSync(file('ca.pem')), requestCert: true, rejectUnauthorized: true });
    // Not an echo: every message is answered with a short fixed reply (any reply completes a message in `load`).
    new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', () => ws.send('ok')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    wssPort = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it.each([
    { args: () => ['--cacert', file('ca.pem'), '--cert', file('client.crt'), '--key', file('client.key')], code: 0 },
    { args: () => ['--cacert', file('ca.pem')], code: 3 },
  ])('exit $code', async ({ args, code }) => {
    const r = await runCli(['load', `wss://127.0.0.1:${wssPort}/`, ...SHORT, ...args()]);
    expect(r.code).toBe(code);
    if (code === 0) {
      const doc = json(r.stdout);
      expect(doc['protocol']).toBe('websocket');
      expect(doc['errors']).toBe(0);
      expect(doc['count']).toBeGreaterThan(10);
    }
  });
});

describe.skipIf(!haveNginx)('requests as people write them, against nginx', () => {
  it('several URLs with --weights, -m PUT and --body-file: nginx logs the mix, the method and the body length', async () => {
    const before = accessLog().length;
    const out = file('out-mix');
    const r = await runCli(['load', '-H', 'x-run: mix', `http://127.0.0.1:${port.plain}/a`, `http://127.0.0.1:${port.plain}/b`, '--weights', '3,1', '-m', 'PUT', '--body-file', file('body.bin'), '-c', '2', '-w', '1', '-d', '0.6', '--warmup', '0', '-q', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Latency Distribution/);
    for (const p of ['50%', '75%', '90%', '99%', '99.9%', '99.99%', '100%']) expect(r.stdout).toContain(`${p} `);
    const lines = accessLog().slice(before);
    expect(lines.every((l) => l.method === 'PUT' && l.length === '300' && l.status === '200' && l.run === 'mix')).toBe(true);
    const a = lines.filter((l) => l.path === '/a').length;
    const b = lines.filter((l) => l.path === '/b').length;
    expect(a + b).toBe(lines.length);
    // Each connection walks A A B A … from its own slot: the shares are 3:1 to within a cycle per connection.
    expect(Math.abs(a - 3 * b)).toBeLessThanOrEqual(8);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Record<string, any>;
    expect(doc['kind']).toBe('meshbench-load');
    expect(doc['requests']).toEqual([{ method: 'PUT', path: '/a', weight: 3 }, { method: 'PUT', path: '/b', weight: 1 }]);
    const hlog = readHlog(readFileSync(join(out, 'http1.hlog'), 'utf8'));
    // The .hlog holds the measured requests (warm-up 0 here; anything after the window ends is not logged).
    expect(hlog.reduce((n, iv) => n + iv.histogram.totalCount, 0)).toBe(doc['count']);
  });

  it('--requests file: HEAD and POST with a body file, by weight', async () => {
    writeFileSync(file('requests.yaml'), [
      '- { path: /head, method: HEAD, weight: 1 }',
      '- { path: /post?x=1, method: POST, bodyFile: body.bin, headers: { content-type: application/json }, weight: 2 }',
    ].join('\n'));
    const before = accessLog().length;
    const r = await runCli(['load', `http://127.0.0.1:${port.plain}/`, '--requests', file('requests.yaml'), ...SHORT]);
    expect(r.code).toBe(0);
    expect(json(r.stdout)['errors']).toBe(0);
    const lines = accessLog().slice(before);
    const heads = lines.filter((l) => l.method === 'HEAD' && l.path === '/head');
    const posts = lines.filter((l) => l.method === 'POST' && l.path === '/post' && l.length === '300');
    expect(heads.length + posts.length).toBe(lines.length);
    expect(Math.abs(posts.length - 2 * heads.length)).toBeLessThanOrEqual(6);
  });

  it.each([
    { path: '/missing', args: [], code: 2, ok: false },
    { path: '/missing', args: ['--expect-status', '404'], code: 0, ok: true },
    { path: '/created', args: ['--expect-status', '200'], code: 2, ok: false },
    { path: '/created', args: ['--expect-status', '2xx'], code: 0, ok: true },
    { path: '/', args: ['--expect-status', '201-299,404'], code: 2, ok: false },
  ])('$path with $args → exit $code', async ({ path, args, code, ok }) => {
    const r = await runCli(['load', `http://127.0.0.1:${port.plain}${path}`, '-m', 'GET', ...SHORT, ...args]);
    expect(r.code).toBe(code);
    const doc = json(r.stdout);
    if (ok) expect(doc['errors']).toBe(0);
    else expect(doc['errorsByKind']['status']).toBe(doc['errors']);
  });

  it('--max-error-rate: exit 1 when errors exceed it, 0 within it', async () => {
    writeFileSync(file('half.yaml'), '- { path: /ok }\n- { path: /missing }\n');
    const over = await runCli(['load', `http://127.0.0.1:${port.plain}/`, '--requests', file('half.yaml'), ...SHORT, '--max-error-rate', '0.4']);
    expect(over.code).toBe(1);
    expect(json(over.stdout)['errorRateExceeded']).toBe(true);
    const within = await runCli(['load', `http://127.0.0.1:${port.plain}/`, '--requests', file('half.yaml'), ...SHORT, '--max-error-rate', '0.6']);
    expect(within.code).toBe(0);
    const doc = json(within.stdout);
    expect(doc['errorRate']).toBeGreaterThan(0.4);
    expect(doc['errorRate']).toBeLessThan(0.6);
  });
});

describe('any gRPC service from its .proto, over TLS', () => {
  let server: Server;
  let grpcPort = 0;
  const seen = { reserve: 0, track: 0, skus: new Set<string>() };
  const proto = join(process.cwd(), 'test/fixtures/adhoc/inventory.proto');

  beforeAll(async () => {
    const definition = loadSync(proto, { includeDirs: [join(process.cwd(), 'test/fixtures/adhoc')], keepCase: true, enums: String, defaults: true });
    const pkg = loadPackageDefinition(definition) as any;
    server = new Server();
    type Req = { sku: string; quantity: number; region: string };
    server.addService(pkg.shop.inventory.v2.Inventory.service, {
      Reserve: (call: ServerUnaryCall<Req, unknown>, done: sendUnaryData<unknown>) => {
        seen.reserve++;
        seen.skus.add(`${call.request.sku}/${call.request.quantity}/${call.request.region}`);
        if (call.request.sku === 'sold-out') return done({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'sold out' });
        done(null, { reservation_id: 'r-1', reserved: call.request.quantity });
      },
      Track: (call: ServerDuplexStream<Req, unknown>) => {
        call.on('data', (req: Req) => {
          seen.track++;
          call.write({ reservation_id: 't', reserved: req.quantity });
        });
        call.on('end', () => call.end());
      },
      Watch: () => undefined,
    });
    const ca = readFileSync(file('ca.pem'));
    const creds = ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(file('server.crt')), private_key: readFileSync(file('server.key')) }], false);
    grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  });
  afterAll(() => server.forceShutdown());

  const call = (method: string, data: string): string[] => ['--proto', proto, '--call', `shop.inventory.v2.Inventory/${method}`, '--data', data, '--cacert', file('ca.pem')];

  it('unary: every call reaches the service with the JSON request', async () => {
    const r = await runCli(['load', `grpcs://127.0.0.1:${grpcPort}`, '--protocol', 'grpc-unary', ...call('Reserve', '{"sku":"abc","quantity":3,"region":"EU"}'), ...SHORT]);
    expect(r.code).toBe(0);
    const doc = json(r.stdout);
    expect(doc['errors']).toBe(0);
    expect(doc['count']).toBeGreaterThan(10);
    expect(seen.skus).toContain('abc/3/EU');
    expect(seen.reserve).toBeGreaterThanOrEqual(doc['count']);
  });

  it('bidi: one message per request on long-lived streams, each timed', async () => {
    const before = seen.track;
    const r = await runCli(['load', `grpcs://127.0.0.1:${grpcPort}`, ...call('Track', '{"sku":"abc","quantity":1}'), ...SHORT]);
    expect(r.code).toBe(0);
    const doc = json(r.stdout);
    expect(doc['protocol']).toBe('grpc-bidi');
    expect(doc['errors']).toBe(0);
    expect(seen.track - before).toBeGreaterThanOrEqual(doc['count']);
  });

  it('a non-OK status counts as an error (exit 2 when nothing succeeded)', async () => {
    const r = await runCli(['load', `grpcs://127.0.0.1:${grpcPort}`, '--protocol', 'grpc-unary', ...call('Reserve', '{"sku":"sold-out"}'), ...SHORT]);
    expect(r.code).toBe(2);
    expect(json(r.stdout)['errorsByKind']['status']).toBeGreaterThan(0);
  });

  it.each([
    { method: 'Nope', data: '{}', error: /has no method Nope; it has Reserve, Track, Watch/ },
    { method: 'Watch', data: '{}', error: /Watch is server-streaming/ },
    { method: 'Reserve', data: '{"quantity":"many"}', error: /does not fit the request message of Reserve \(quantity: "many" was read as 0\)/ },
    { method: 'Reserve', data: '{"sku":"a","colour":"red"}', error: /colour: no such field/ },
    { method: 'Reserve', data: '{not json', error: /--data is not JSON/ },
  ])('bad input: $method $data → exit 3', async ({ method, data, error }) => {
    const r = await runCli(['load', `grpcs://127.0.0.1:${grpcPort}`, '--protocol', 'grpc-unary', ...call(method, data), ...SHORT]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(error);
  });

  it('without --cacert the self-made CA is not trusted: exit 3, naming --cacert', async () => {
    const r = await runCli(['load', `grpcs://127.0.0.1:${grpcPort}`, '--protocol', 'grpc-unary', '--proto', proto, '--call', 'shop.inventory.v2.Inventory/Reserve', ...SHORT]);
    expect(r.code).toBe(3);
  });
});
