import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  portsNeeded,
  renderClientSidecar,
  renderServerSidecar,
  type SidecarMode,
  type SidecarPlan,
} from '../../src/envs/local/haproxy-config.js';
import { CLIENT_SPIFFE_ID, SERVER_NAME, createPki, createUnrelatedClient, type PkiFiles } from '../../src/envs/local/pki.js';

const run = promisify(execFile);

function planFor(mode: SidecarMode, files: SidecarPlan['files']): SidecarPlan {
  return {
    mode,
    clientPorts: { http: 20001, grpc: mode === 'http' ? 20001 : 20002 },
    serverPorts: { http: 20003, grpc: mode === 'http' ? 20003 : 20004 },
    echoes: [
      { host: '127.0.0.1', httpPort: 20005, grpcPort: 20006 },
      { host: '127.0.0.1', httpPort: 20007, grpcPort: 20008 },
    ],
    bindHost: '127.0.0.1',
    files,
    maxconn: 9000,
  };
}

const FILES = { caFile: '/p/ca.pem', serverPem: '/p/server.pem', clientPem: '/p/client.pem', identitiesMap: '/p/identities.map' };

/** Lines of a rendered config, trimmed, without comments and blanks. */
function lines(cfg: string): string[] {
  return cfg
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('renderClientSidecar / renderServerSidecar', () => {
  const common: [string, (cfg: string) => boolean][] = [
    ['global maxconn', (c) => /^global\n(?:.*\n)*? {4}maxconn 9000$/m.test(c)],
    ['one thread', (c) => lines(c).includes('nbthread 1')],
    ['timeout tunnel', (c) => lines(c).includes('timeout tunnel 1h')],
    ['long client/server timeouts', (c) => lines(c).includes('timeout client 1h') && lines(c).includes('timeout server 1h')],
    ['no daemon', (c) => !lines(c).includes('daemon')],
    ['no logging on the data path', (c) => !lines(c).some((l) => /^(log|option httplog|option tcplog)\b/.test(l))],
    ['verify required', (c) => c.includes('verify required')],
  ];

  describe.each(['http', 'tcp'] as const)('%s mode', (mode) => {
    const plan = planFor(mode, FILES);
    const client = renderClientSidecar(plan);
    const server = renderServerSidecar(plan);

    it.each(common)('both configs: %s', (_name, holds) => {
      expect(holds(client)).toBe(true);
      expect(holds(server)).toBe(true);
    });

    it(`uses mode ${mode}`, () => {
      expect(lines(client)).toContain(`mode ${mode}`);
      expect(lines(server)).toContain(`mode ${mode}`);
    });

    it('A presents the client certificate, trusts only the run CA and checks B by name', () => {
      const servers = lines(client).filter((l) => l.startsWith('server '));
      expect(servers).toHaveLength(mode === 'http' ? 1 : 2);
      for (const s of servers) {
        expect(s).toContain('ssl crt "/p/client.pem" ca-file "/p/ca.pem" verify required');
        expect(s).toContain(`verifyhost ${SERVER_NAME}`);
        expect(s).toContain(`sni str(${SERVER_NAME})`);
      }
    });

    it('B requires a client certificate from the run CA on every bind', () => {
      const binds = lines(server).filter((l) => l.startsWith('bind '));
      expect(binds).toHaveLength(mode === 'http' ? 1 : 2);
      for (const b of binds) expect(b).toContain('ssl crt "/p/server.pem" ca-file "/p/ca.pem" verify required');
    });

    it('frontends carry an explicit maxconn', () => {
      for (const cfg of [client, server]) {
        const sections = cfg.split(/\n(?=frontend |listen )/).slice(1);
        expect(sections.length).toBeGreaterThan(0);
        for (const s of sections) expect(lines(s)).toContain('maxconn 9000');
      }
    });
  });

  it('http mode: one client port for all protocols, ALPN h2,http/1.1 on both TLS ends', () => {
    const plan = planFor('http', FILES);
    const client = lines(renderClientSidecar(plan));
    const server = lines(renderServerSidecar(plan));
    expect(client.filter((l) => l.startsWith('bind '))).toEqual(['bind 127.0.0.1:20001']);
    expect(client.find((l) => l.startsWith('server '))).toMatch(/ 127\.0\.0\.1:20003 .* alpn h2,http\/1\.1$/);
    expect(server.find((l) => l.startsWith('bind '))).toMatch(/^bind 127\.0\.0\.1:20003 .* alpn h2,http\/1\.1$/);
  });

  it('http mode: gRPC is routed by content-type to the gRPC port over h2, the rest to the HTTP port', () => {
    const server = renderServerSidecar(planFor('http', FILES));
    expect(server).toContain('acl grpc req.hdr(content-type) -m beg application/grpc');
    expect(server).toContain('use_backend echo-grpc if grpc');
    // Every replica behind B, round-robin (both variants share them: local/index.ts).
    expect(server).toMatch(/backend echo-grpc\n {4}balance roundrobin\n {4}server echo1 127\.0\.0\.1:20006 proto h2\n {4}server echo2 127\.0\.0\.1:20008 proto h2\n/);
    expect(server).toMatch(/backend echo-http\n {4}balance roundrobin\n {4}server echo1 127\.0\.0\.1:20005\n {4}server echo2 127\.0\.0\.1:20007\n/);
  });

  it('http mode: B deletes any inbound xfcc before setting its own from the verified certificate', () => {
    const server = lines(renderServerSidecar(planFor('http', FILES)));
    const del = server.indexOf('http-request del-header x-forwarded-client-cert');
    const sets = server.flatMap((l, i) => (l.startsWith('http-request set-header x-forwarded-client-cert') ? [i] : []));
    expect(del).toBeGreaterThanOrEqual(0);
    expect(sets).toHaveLength(2);
    for (const i of sets) {
      expect(i).toBeGreaterThan(del);
      const line = server[i] ?? '';
      expect(line).toContain('By=spiffe://cluster.local/ns/meshbench/sa/echo;Hash=%[var(txn.peer_hash)];Subject=\\"%[ssl_c_s_dn(,0,rfc2253)]\\"');
    }
    expect(server[sets[0] ?? -1]).toContain(';URI=%[var(txn.peer_uri)]" if { var(txn.peer_uri) -m found }');
    expect(server).toContain('http-request set-var(txn.peer_hash) ssl_c_der,sha2(256),hex,lower');
  });

  it('tcp mode: one tunnel per echo port, no headers, no ALPN', () => {
    const plan = planFor('tcp', FILES);
    const client = renderClientSidecar(plan);
    const server = renderServerSidecar(plan);
    expect(lines(client).filter((l) => l.startsWith('bind '))).toEqual(['bind 127.0.0.1:20001', 'bind 127.0.0.1:20002']);
    expect(client).toMatch(/bind 127\.0\.0\.1:20001\n.*\n {4}server server-sidecar 127\.0\.0\.1:20003 /);
    expect(client).toMatch(/bind 127\.0\.0\.1:20002\n.*\n {4}server server-sidecar 127\.0\.0\.1:20004 /);
    expect(server).toMatch(/bind 127\.0\.0\.1:20003 .*\n.*\n {4}balance roundrobin\n {4}server echo1 127\.0\.0\.1:20005\n {4}server echo2 127\.0\.0\.1:20007\n/);
    expect(server).toMatch(/bind 127\.0\.0\.1:20004 .*\n.*\n {4}balance roundrobin\n {4}server echo1 127\.0\.0\.1:20006\n {4}server echo2 127\.0\.0\.1:20008\n/);
    for (const cfg of [client, server]) {
      expect(cfg).not.toContain('alpn');
      expect(cfg).not.toContain('http-request');
    }
  });

  it('quotes file paths', () => {
    const cfg = renderClientSidecar(planFor('http', { ...FILES, clientPem: '/a b/"c"\\.pem' }));
    expect(cfg).toContain('crt "/a b/\\"c\\"\\\\.pem"');
  });

  it('portsNeeded: 2 for http, 4 for tcp', () => {
    expect(portsNeeded('http')).toBe(2);
    expect(portsNeeded('tcp')).toBe(4);
  });
});

describe('with a real PKI', () => {
  let dir = '';
  let pki: PkiFiles;
  beforeAll(async () => {
    // A space and a quote in the path prove the quoting reaches haproxy intact.
    dir = await mkdtemp(join(tmpdir(), 'meshbench cfg "t$x(,)"-'));
    pki = await createPki(dir);
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('issues ECDSA P-256 certificates chained to the run CA, with the expected names', () => {
    const ca = new X509Certificate(pki.ca.certPem);
    const server = new X509Certificate(pki.server.certPem);
    const client = new X509Certificate(pki.client.certPem);
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(server.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(server.checkHost(SERVER_NAME)).toBe(SERVER_NAME);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(client.subjectAltName).toContain(`URI:${CLIENT_SPIFFE_ID}`);
    expect(client.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(pki.client.sha256);
    expect(pki.client.subject).toBe('CN=meshbench-client,O=meshbench');
  });

  it('writes private files (0600)', async () => {
    for (const f of [pki.caFile, pki.serverPem, pki.clientPem, pki.identitiesMap]) {
      expect((await stat(f)).mode & 0o777).toBe(0o600);
    }
  });

  it('an unrelated CA does not sign for the run CA', async () => {
    const other = await createUnrelatedClient();
    const ca = new X509Certificate(pki.ca.certPem);
    expect(new X509Certificate(other.client.certPem).verify(ca.publicKey)).toBe(false);
  });

  it.each(['http', 'tcp'] as const)('haproxy -c accepts both %s-mode configs', async (mode) => {
    const plan = planFor(mode, pki);
    for (const [name, text] of [
      ['client.cfg', renderClientSidecar(plan)],
      ['server.cfg', renderServerSidecar(plan)],
    ] as const) {
      const file = join(dir, `${mode}-${name}`);
      await writeFile(file, text);
      const { stdout } = await run('haproxy', ['-c', '-f', file]);
      expect(stdout).toContain('Configuration file is valid');
    }
  });
});

describe('admin sockets (hitless reloads: a new process takes the listening sockets over, src/envs/local/drills.ts)', () => {
  it('each sidecar exposes its listeners on its own socket; without sockets there is none', () => {
    const plan = { ...planFor('http', FILES), sockets: { client: '/p/client.sock', server: '/p/server.sock' } };
    expect(renderClientSidecar(plan)).toContain('    stats socket "/p/client.sock" mode 600 level admin expose-fd listeners\n');
    expect(renderServerSidecar(plan)).toContain('    stats socket "/p/server.sock" mode 600 level admin expose-fd listeners\n    hard-stop-after 5s\n');
    expect(renderClientSidecar(planFor('http', FILES))).not.toContain('stats socket');
  });
});
