import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS } from '../../src/protocols.js';
import { startLocalEnv, type LocalEnv } from '../../src/envs/local/index.js';
import { CLIENT_SPIFFE_ID, SERVER_NAME, createUnrelatedClient } from '../../src/envs/local/pki.js';
import { provePaths } from '../../src/envs/proof.js';
import { isMeshbenchError } from '../../src/errors.js';

/**
 * The local environment for real: two `meshbench echo` processes (dist/cli/main.js — npm test builds
 * first) and two haproxy processes with a per-run PKI.
 */

const HTTP_MODE = { kind: 'local', haproxy: 'haproxy', sidecarMode: 'http', plantedDelayMs: 0, hops: 1, sidecars: 'both' } as const;
const TCP_MODE = { kind: 'local', haproxy: 'haproxy', sidecarMode: 'tcp', plantedDelayMs: 0, hops: 1, sidecars: 'both' } as const;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function collect(res: http.IncomingMessage, resolve: (r: Reply) => void, reject: (e: Error) => void): void {
  res.resume();
  res.on('error', reject);
  res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
}

function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => collect(res, resolve, reject)).on('error', reject);
  });
}

/** An HTTPS request straight to sidecar B, trusting the run CA, with the given client identity (or none). */
function getFromB(env: LocalEnv, client: { cert: string; key: string } | null): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: env.plan.serverPorts.http,
        path: '/',
        servername: SERVER_NAME,
        ca: env.pki.ca.certPem,
        ...(client ?? {}),
        agent: false,
        timeout: 5000,
      },
      (res) => collect(res, resolve, reject),
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Our own live child processes (by /proc ppid), with their command names. */
function ourChildren(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') found.push(`${entry}:${comm}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function localDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('meshbench-local-'));
}

describe('local env, http (L7) sidecars', () => {
  let env: LocalEnv;
  beforeAll(async () => {
    env = await startLocalEnv(HTTP_MODE, [...PROTOCOLS]);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('proves every protocol: unmeshed shows no marker, meshed carries xfcc', async () => {
    const records = await provePaths(env, [...PROTOCOLS]);
    expect(records).toHaveLength(2 * PROTOCOLS.length);
    for (const r of records) expect(r.ok, `${r.variant}/${r.protocol}: ${r.detail}`).toBe(true);
    for (const r of records.filter((x) => x.variant === 'meshed')) {
      expect(r.marker).toContain('Subject="CN=meshbench-client,O=meshbench"');
      expect(r.detail).toContain('traceparent propagated unchanged');
    }
  });

  it('unmeshed spreads over both echo replicas; meshed points at A, and directly at the same replicas', () => {
    const [unmeshed, meshed] = env.variants;
    const echoes = env.facts['echoes'] as { httpPort: number; grpcPort: number }[];
    expect(echoes).toHaveLength(2);
    expect(unmeshed?.replicas?.http1).toEqual(echoes.map((e) => `http://127.0.0.1:${e.httpPort}/`));
    expect(unmeshed?.replicas?.['grpc-bidi']).toEqual(echoes.map((e) => `127.0.0.1:${e.grpcPort}`));
    expect(unmeshed?.targets.http1).toBe(unmeshed?.replicas?.http1?.[0]);
    expect(meshed?.replicas).toBeUndefined();
    expect(meshed?.direct).toEqual({ targets: unmeshed?.targets, replicas: unmeshed?.replicas });
    expect(meshed?.targets).toEqual({
      http1: `http://127.0.0.1:${env.plan.clientPorts.http}/`,
      websocket: `ws://127.0.0.1:${env.plan.clientPorts.http}/`,
      'grpc-bidi': `127.0.0.1:${env.plan.clientPorts.http}`,
      'grpc-unary': `127.0.0.1:${env.plan.clientPorts.http}`,
      http2: `http://127.0.0.1:${env.plan.clientPorts.http}/`,
    });
    expect(meshed?.expect).toEqual({ kind: 'header', header: 'x-forwarded-client-cert' });
    expect(unmeshed?.expect).toEqual({ kind: 'none' });
    expect(unmeshed?.targets.http1).not.toBe(meshed?.targets.http1);
    expect(env.facts['haproxy']).toMatch(/^HAProxy version 2\./);
    expect(env.facts['certKeyType']).toMatch(/P-256/);
  });

  it("B's xfcc names the verified client certificate (subject, hash, SPIFFE URI)", async () => {
    const meshed = env.variants[1]?.targets.http1 ?? '';
    const reply = await get(meshed);
    expect(reply.status).toBe(200);
    const xfcc = String(reply.headers['x-echo-x-forwarded-client-cert']);
    expect(xfcc).toBe(
      `By=spiffe://cluster.local/ns/meshbench/sa/echo;Hash=${env.pki.client.sha256};` +
        `Subject="${env.pki.client.subject}";URI=${CLIENT_SPIFFE_ID}`,
    );
  });

  it('a forged x-forwarded-client-cert sent through A does not get through', async () => {
    const meshed = env.variants[1]?.targets.http1 ?? '';
    const reply = await get(meshed, { 'x-forwarded-client-cert': 'By=forged;URI=spiffe://evil/sa/admin' });
    const xfcc = String(reply.headers['x-echo-x-forwarded-client-cert']);
    expect(xfcc).not.toContain('forged');
    expect(xfcc).not.toContain('evil');
    expect(xfcc).toContain(`Hash=${env.pki.client.sha256}`);
  });

  it('B answers a client with the run CA’s client certificate (control for the refusals below)', async () => {
    const reply = await getFromB(env, { cert: env.pki.client.certPem, key: env.pki.client.keyPem });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-echo-x-forwarded-client-cert']).toContain(`Hash=${env.pki.client.sha256}`);
  });

  it('B refuses a client certificate from another CA', async () => {
    const other = await createUnrelatedClient();
    const err: unknown = await getFromB(env, { cert: other.client.certPem, key: other.client.keyPem }).catch((e: unknown) => e);
    // A TLS alert from B during the handshake (TLS 1.3: "unknown ca"), not a response.
    expect((err as NodeJS.ErrnoException).code).toMatch(/^ERR_SSL_TLSV1\d?_ALERT_/);
  });

  it('B refuses a client without a certificate', async () => {
    const err: unknown = await getFromB(env, null).catch((e: unknown) => e);
    // TLS 1.3: "certificate required" alert; TLS 1.2 would be a handshake failure alert.
    expect((err as NodeJS.ErrnoException).code).toMatch(/^ERR_SSL_TLSV1\d?_ALERT_/);
  });

  it('samples both sidecars from /proc for the meshed variant, nothing for unmeshed', async () => {
    const samples = await env.sampleProxies('meshed');
    expect(samples.map((s) => s.name)).toEqual(['client-sidecar', 'server-sidecar']);
    for (const s of samples) {
      expect(s.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(s.cpuSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(await env.sampleProxies('unmeshed')).toEqual([]);
  });

  it('keeps its certificates and configs in a private dir (0700, files 0600)', () => {
    expect(statSync(env.dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(env.dir).sort();
    // the sockets: each sidecar's admin socket, which hands its listeners to a hitless reload (drills)
    expect(files).toEqual(['ca.pem', 'client-sidecar.cfg', 'client-sidecar.sock', 'client.pem', 'identities.map', 'server-sidecar.cfg', 'server-sidecar.sock', 'server.pem']);
    for (const f of files) expect(statSync(`${env.dir}/${f}`).mode & 0o777, f).toBe(0o600);
  });
});

describe('local env, tcp (L4) sidecars', () => {
  it('tunnels every protocol with mTLS; the meshed path is recorded as unverified', async () => {
    const env = await startLocalEnv(TCP_MODE, [...PROTOCOLS]);
    try {
      const meshed = env.variants[1];
      expect(meshed?.expect).toEqual({ kind: 'unverified', why: 'L4 sidecars add no headers' });
      expect(meshed?.targets.http1).toBe(`http://127.0.0.1:${env.plan.clientPorts.http}/`);
      expect(meshed?.targets['grpc-bidi']).toBe(`127.0.0.1:${env.plan.clientPorts.grpc}`);
      const records = await provePaths(env, [...PROTOCOLS]);
      for (const r of records) expect(r.ok, `${r.variant}/${r.protocol}: ${r.detail}`).toBe(true);
      // Through an L4 tunnel the echo sees no xfcc at all.
      const reply = await get(meshed?.targets.http1 ?? '');
      expect(reply.headers['x-echo-x-forwarded-client-cert']).toBeUndefined();
    } finally {
      await env.close();
    }
  });
});

describe('local env lifetime', () => {
  it('close() stops every child and removes the temp dir; a second close() is a no-op', async () => {
    const env = await startLocalEnv(HTTP_MODE, ['http1']);
    const pids = env.pids();
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    expect(existsSync(env.dir)).toBe(true);
    await env.close();
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(env.dir)).toBe(false);
    await env.close();
    expect(ourChildren()).toEqual([]);
  });

  it('a missing haproxy is MB_MISSING_DEPENDENCY, and nothing is left behind', async () => {
    const before = localDirs();
    const err: unknown = await startLocalEnv({ ...HTTP_MODE, haproxy: 'haproxy-does-not-exist' }, ['http1']).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MISSING_DEPENDENCY');
    expect((err as Error).message).toContain('apt-get install -y haproxy');
    expect(localDirs()).toEqual(before);
    expect(ourChildren()).toEqual([]);
  });

  it('an haproxy older than 2.4 is MB_MISSING_DEPENDENCY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshbench-fake-haproxy-'));
    try {
      const fake = join(dir, 'haproxy');
      writeFileSync(fake, '#!/bin/sh\necho "HAProxy version 2.2.9-2+deb11u5 2023/04/10 - https://haproxy.org/"\n', { mode: 0o755 });
      const err: unknown = await startLocalEnv({ ...HTTP_MODE, haproxy: fake }, ['http1']).catch((e: unknown) => e);
      expect(isMeshbenchError(err) && err.code).toBe('MB_MISSING_DEPENDENCY');
      expect((err as Error).message).toMatch(/HAProxy 2\.4 or newer/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an abort during startup rejects with MB_INTERRUPTED and cleans up what was started', async () => {
    const before = localDirs();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err: unknown = await startLocalEnv(HTTP_MODE, ['http1'], controller.signal).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_INTERRUPTED');
    expect(localDirs()).toEqual(before);
    expect(ourChildren()).toEqual([]);
  });
});
