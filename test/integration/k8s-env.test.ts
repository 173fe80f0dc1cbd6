import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import type { Scenario } from '../../src/config/schema.js';
import { parseOutputLog } from '../../src/envs/kubernetes/generator.js';
import { isMeshbenchError } from '../../src/errors.js';
import { decodeHistogram } from '../../src/histograms/index.js';
import { runScenario } from '../../src/run/run-scenario.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import { ApiStandin, type StandinOptions } from './k8s-standin.js';

// A kubernetes scenario run end to end against the API STAND-IN (k8s-standin.ts — not a cluster): the real
// client-node over real HTTP, the real generator against a real loopback echo, the mesh simulated by the stand-in.

let echo: EchoServers;
let dir: string;
let standin: ApiStandin | undefined;

beforeAll(async () => {
  echo = await startEchoServers();
  dir = mkdtempSync(join(tmpdir(), 'meshbench-k8s-'));
});
afterAll(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

async function startStandin(opts: Partial<StandinOptions> = {}): Promise<{ api: ApiStandin; kubeconfig: string }> {
  const api = new ApiStandin({ echo: { httpPort: echo.httpPort, grpcPort: echo.grpcPort }, ...opts });
  await api.start();
  standin = api;
  // Objects meshbench did not create: they must survive every cleanup.
  api.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-payments', labels: { team: 'payments' } } });
  api.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
  api.seed('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ztunnel-x1', namespace: 'istio-system' }, spec: { containers: [{ name: 'istio-proxy' }] }, status: { phase: 'Running' } });
  const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, api.kubeconfig());
  return { api, kubeconfig };
}

function k8sScenario(kubeconfig: string, env: Record<string, unknown> = {}): Scenario {
  return parseScenario(
    {
      name: 'k8s-standin',
      env: { kind: 'kubernetes', mesh: 'istio-sidecar', kubeconfig, generators: 2, startLeadS: 0, readyTimeoutS: 20, fleetPods: 500, sidecarResources: { cpu: '100m', memory: '64Mi' }, ...env },
      rounds: 1,
      protocols: [{ name: 'http1', rateHz: 200, connections: 4, durationS: 0.8, warmupS: 0.2 }],
      budgets: { p99OverheadMs: 2000, errorRateOverhead: 1 },
    },
    'test',
  );
}

function meshbenchNamespaces(api: ApiStandin): string[] {
  return api.list('namespaces').filter((n) => n.metadata.labels?.['app.kubernetes.io/managed-by'] === 'meshbench').map((n) => n.metadata.name);
}

function expectCleanedUp(api: ApiStandin): void {
  expect(meshbenchNamespaces(api)).toEqual([]);
  expect(api.list('namespaces').map((n) => n.metadata.name).sort()).toEqual(['istio-system', 'team-payments']);
  expect(api.list('pods', 'istio-system')).toHaveLength(1);
}

describe('kubernetes env against the API stand-in', () => {
  it('istio-sidecar: apply → ready → verify → load → collect → report → cleanup', async () => {
    const { api, kubeconfig } = await startStandin({ expireFirstWatch: true });
    const doc = await runScenario(k8sScenario(kubeconfig), { scenarioPath: 'test' });

    // verify: in-namespace probes saw the mesh header (meshed) and none (unmeshed), trace ids intact
    expect(doc.proofs.map((p) => `${p.variant}/${p.protocol}:${String(p.ok)}`).sort()).toEqual(['meshed/http1:true', 'unmeshed/http1:true']);
    const meshed = doc.proofs.find((p) => p.variant === 'meshed');
    expect(meshed?.marker).toContain('spiffe://cluster.local/ns/meshbench-');
    expect(meshed?.detail).toContain('propagated end to end (traceparent, b3)');
    expect(meshed?.detail).toContain('istio-proxy in');

    // collect: the merged result is the exact sum of the generator pods' real results
    const http1 = doc.protocols.find((p) => p.name === 'http1');
    for (const variant of ['unmeshed', 'meshed'] as const) {
      const v = http1?.variants[variant];
      const pods = [...api.logs.entries()].filter(([k]) => k.includes(`-${variant}/load-`));
      expect(pods).toHaveLength(2);
      const outputs = pods.map(([k, log]) => parseOutputLog(log, k));
      const sum = outputs.reduce((n, o) => n + (o.kind === 'load' ? o.result.count : 0), 0);
      expect(v?.count).toBe(sum);
      expect(v?.count).toBeGreaterThan(0);
      expect(decodeHistogram(v?.histogram ?? '').totalCount).toBe(sum);
    }

    // sidecar cost: proxies sampled from metrics.k8s.io, incl. the native sidecar in initContainers
    const cost = doc.environment.facts['sidecarCost'] as { proxies: { name: string }[]; fleetProjection: { summary: string } };
    expect(cost.proxies.map((p) => p.name)).toEqual(expect.arrayContaining(['echo-0/istio-proxy', 'generator-0/istio-proxy', 'generator-1/istio-proxy']));
    expect(cost.fleetProjection.summary).toMatch(/^500 sidecars × 40\.0 MiB = 19\.5 GiB memory/);
    expect(http1?.variants['meshed']?.proxies.find((p) => p.name === 'echo-0/istio-proxy')?.cpuSeconds).toBeGreaterThan(0);
    expect(doc.environment.facts['sidecarResources']).toEqual({ cpu: '100m', memory: '64Mi' });

    // generators stopped their sidecar; applies were server-side with field manager meshbench; watches were re-opened
    expect(api.shutdownCalls.filter((p) => p.startsWith('load-'))).toHaveLength(2);
    expect(api.requests.filter((r) => r.startsWith('PATCH')).every((r) => r.includes('fieldManager=meshbench') && r.includes('force=true'))).toBe(true);
    expect(api.requests.filter((r) => r.includes('watch=true')).length).toBeGreaterThan(3);
    expectCleanedUp(api);
  });

  it('linkerd and ambient: the proof each mesh offers', async () => {
    const { api, kubeconfig } = await startStandin();
    const linkerd = await runScenario(k8sScenario(kubeconfig, { mesh: 'linkerd', generators: 1 }), { scenarioPath: 'test' });
    expect(linkerd.proofs.find((p) => p.variant === 'meshed')?.marker).toMatch(/^default\.meshbench-.*\.serviceaccount\.identity\.linkerd\.cluster\.local$/);
    const ambient = await runScenario(k8sScenario(kubeconfig, { mesh: 'istio-ambient', generators: 1, sidecarResources: undefined }), { scenarioPath: 'test' });
    const proof = ambient.proofs.find((p) => p.variant === 'meshed');
    expect(proof?.ok).toBe(true);
    expect(proof?.marker).toBe('ambient.istio.io/redirection=enabled');
    expect((ambient.environment.facts['sidecarCost'] as { proxies: { name: string }[] }).proxies.map((p) => p.name)).toEqual(['ztunnel-x1/istio-proxy']);
    expectCleanedUp(api);
  });

  it('drill: restart-sidecars is a rollout restart of the meshed echo (the full manifest re-applied with restartedAt)', async () => {
    const { api, kubeconfig } = await startStandin();
    const base = k8sScenario(kubeconfig, { generators: 1 });
    const scenario = parseScenario({
      name: 'k8s-drill', env: base.env, rounds: 1,
      protocols: [{ name: 'http1', rateHz: 200, connections: 4, durationS: 1.5, warmupS: 0.2 }],
      events: [{ action: 'restart-sidecars', atS: 0.5, budgets: { maxErrors: 1000 } }],
    }, 'test');
    const doc = await runScenario(scenario, { scenarioPath: 'test' });
    // rounds pairing: each variant's load gets the event; either way it restarts the meshed echo
    expect(doc.drills?.map((d) => Object.keys(d.variants))).toEqual([['unmeshed'], ['meshed']]);
    for (const d of doc.drills ?? []) {
      expect(d.error).toBeUndefined();
      expect(d.detail).toMatch(/^rollout restart of meshbench-.*-meshed\/echo/);
    }
    const restarts = api.requests.filter((r) => r.startsWith('PATCH') && r.includes('/deployments/echo') && r.includes('-meshed/'));
    expect(restarts).toHaveLength(3); // created, then restarted once per variant's load
    expect(doc.verdict.drills?.map((c) => `${c.variant} ${c.budget} ${c.status}`)).toEqual(['meshed maxErrors pass']);
    expectCleanedUp(api);
  });

  it('refuses to report a pair whose unmeshed side shows a mesh, and cleans up', async () => {
    const { api, kubeconfig } = await startStandin({ leakMeshIntoUnmeshed: true });
    const err: unknown = await runScenario(k8sScenario(kubeconfig), { scenarioPath: 'test' }).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MESH_UNPROVEN');
    expect(String(err)).toContain('unmeshed/http1: mesh marker x-forwarded-client-cert came back');
    expect(api.requests.some((r) => r.includes('/jobs/load-'))).toBe(false); // no load before proof
    expectCleanedUp(api);
  });

  it('missing metrics API: a clear error before anything is created', async () => {
    const { api, kubeconfig } = await startStandin({ metricsApi: false });
    const err: unknown = await runScenario(k8sScenario(kubeconfig), { scenarioPath: 'test' }).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MISSING_DEPENDENCY');
    expect(String(err)).toMatch(/metrics-server.*env\.proxyMetrics: false/);
    expect(api.requests.some((r) => r.startsWith('PATCH'))).toBe(false);
  });

  // Ctrl-C in each phase: the abort lands when the stand-in sees the phase's first request.
  const phases: [string, (method: string, path: string) => boolean][] = [
    ['apply', (m, p) => m === 'PATCH' && p.endsWith('/deployments/echo')],
    ['ready', (m, p) => m === 'GET' && p.endsWith('/deployments') && p.includes('/namespaces/')],
    ['verify', (m, p) => m === 'PATCH' && p.includes('/jobs/probe-')],
    ['load', (m, p) => m === 'PATCH' && p.includes('/jobs/load-')],
    ['collect', (m, p) => m === 'GET' && p.endsWith('/log') && p.includes('/pods/load-')],
  ];
  it.each(phases)('an abort while in %s still deletes everything the run created', async (_phase, trigger) => {
    const controller = new AbortController();
    const { api, kubeconfig } = await startStandin({
      readyDelayMs: 300,
      onRequest: (method, path) => {
        if (!controller.signal.aborted && trigger(method, path)) controller.abort();
      },
    });
    const outcome: unknown = await runScenario(k8sScenario(kubeconfig, { generators: 1 }), { scenarioPath: 'test', signal: controller.signal }).catch((e: unknown) => e);
    expect(controller.signal.aborted).toBe(true);
    if (isMeshbenchError(outcome)) expect(outcome.code).toBe('MB_INTERRUPTED');
    else expect((outcome as { interrupted?: boolean }).interrupted).toBe(true);
    expectCleanedUp(api);
  });
});
