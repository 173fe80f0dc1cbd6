import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillEvent } from '../../src/config/schema.js';
import type { DrillOutcome } from '../../src/envs/env.js';
import { startLocalEnv, type LocalEnv } from '../../src/envs/local/index.js';
import { SERVER_NAME } from '../../src/envs/local/pki.js';

/**
 * The local env's drill actions on the real pair (two echo processes, two haproxy processes), without load:
 * what each action must do to the processes, ports and certificates. test/e2e/drills.test.ts runs them under load.
 */

const HTTP_MODE = { kind: 'local', haproxy: 'haproxy', sidecarMode: 'http', plantedDelayMs: 0, hops: 1, sidecars: 'both' } as const;
const common = { atS: 1, round: 1, budgets: {} };

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; ms: number }> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, ms: Date.now() - start }));
    }).on('error', reject);
  });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Connects to `port` back to back while `action` runs (at most 20 000 attempts): how many were refused, of how many. */
async function refusedDuring(port: number, action: Promise<DrillOutcome>): Promise<{ refused: number; tries: number; outcome: DrillOutcome }> {
  let done = false;
  const watched = action.finally(() => { done = true; });
  let refused = 0, tries = 0;
  while (!done && tries < 20_000) {
    tries++;
    if (!(await tryConnect(port))) refused++;
  }
  return { refused, tries, outcome: await watched };
}

function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
}

describe('local drills (real HAProxy pair and echo processes)', () => {
  let env: LocalEnv;
  let meshed: string;
  const drill = (event: DrillEvent): Promise<DrillOutcome> => {
    if (env.drill === undefined) throw new Error('the local env has no drills');
    return env.drill(event, undefined);
  };
  beforeAll(async () => {
    env = await startLocalEnv(HTTP_MODE, ['http1']);
    meshed = env.variants[1]?.targets.http1 ?? '';
  });
  afterAll(async () => {
    await env?.close();
  });

  it('hitless reload: new sidecar processes, and A\'s port never refuses a connection meanwhile', async () => {
    const { refused, tries, outcome } = await refusedDuring(env.plan.clientPorts.http, drill({ ...common, action: 'restart-sidecars', mode: 'hitless', sidecar: 'both' }));
    const steps = outcome.facts['sidecars'] as { role: string; oldPid: number; newPid: number }[];
    expect(steps.map((s) => s.role)).toEqual(['server', 'client']);
    for (const s of steps) expect(s.newPid).not.toBe(s.oldPid);
    expect(tries).toBeGreaterThan(0);
    expect(refused).toBe(0);
    expect((await get(meshed)).headers['x-echo-x-forwarded-client-cert']).toContain(`Hash=${env.pki.client.sha256}`);
  });

  it('hard restart: A\'s port refuses connections while it is down, then serves again', async () => {
    const { refused, outcome } = await refusedDuring(env.plan.clientPorts.http, drill({ ...common, action: 'restart-sidecars', mode: 'hard', sidecar: 'client' }));
    expect((outcome.facts['sidecars'] as unknown[]).length).toBe(1);
    expect(refused).toBeGreaterThan(0);
    expect((await get(meshed)).status).toBe(200);
  });

  it('rotate-certs: B presents a leaf of the new CA, A presents a new client certificate, the old one is still trusted', async () => {
    const outcome = await drill({ ...common, action: 'rotate-certs' });
    expect(outcome.facts['caSubject']).toBe('CN=meshbench run CA 2,O=meshbench');
    expect((outcome.facts['sidecars'] as unknown[]).length).toBe(4); // trust bundle, then leaves: both sidecars each time
    // B's certificate, seen by a client that presents the run's first client certificate (still in the trust bundle)
    const client = readFileSync(env.pki.clientPem, 'utf8');
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: env.plan.serverPorts.http, servername: SERVER_NAME, cert: client, key: client, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase());
        s.end();
      });
      s.on('error', reject);
    });
    expect(fingerprint).toBe(outcome.facts['serverCertSha256']);
    expect(fingerprint).not.toBe(env.pki.server.sha256);
    const xfcc = String((await get(meshed)).headers['x-echo-x-forwarded-client-cert']);
    expect(xfcc).toContain(`Hash=${String(outcome.facts['clientCertSha256'])}`);
    expect(xfcc).toMatch(/;URI=spiffe:\/\/cluster\.local\/ns\/meshbench\/sa\/client$/); // the identities map knows the new certificate
  });

  it('kill-echo: the replica is killed and listens again on its ports as a new process', async () => {
    const echo = (env.facts['echoes'] as { pid: number; httpPort: number }[])[0];
    const outcome = await drill({ ...common, action: 'kill-echo', replica: 1, restartDelayMs: 0 });
    expect(outcome.facts['oldPid']).toBe(echo?.pid);
    expect(outcome.facts['newPid']).not.toBe(echo?.pid);
    expect(existsSync(`/proc/${echo?.pid ?? 0}`)).toBe(false); // killed and reaped
    expect((await get(`http://127.0.0.1:${echo?.httpPort ?? 0}/`)).status).toBe(200);
  });

  it('sidecar-pause: the sidecar is stopped (state T) for the pause; a request sent meanwhile waits it out and succeeds', async () => {
    const pause = drill({ ...common, action: 'sidecar-pause', sidecar: 'server', pauseMs: 400 });
    await new Promise((r) => setTimeout(r, 50));
    const stopped = env.pids().filter((pid) => existsSync(`/proc/${pid}`) && state(pid) === 'T');
    expect(stopped).toHaveLength(1);
    const reply = get(meshed);
    const outcome = await pause;
    expect(outcome.facts['pids']).toEqual(stopped);
    const r = await reply;
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(250);
    expect(['S', 'R']).toContain(state(stopped[0] ?? 0));
  });
});
