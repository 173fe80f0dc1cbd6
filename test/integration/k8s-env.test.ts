import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import type { Scenario } from '../../src/config/schema.js';
import { parseOutputLog } from '../../src/envs/kubernetes/generator.js';
import { startKubernetesEnv } from '../../src/envs/kubernetes/index.js';
import { isMeshbenchError } from '../../src/errors.js';
import { decodeHistogram } from '../../src/histograms/index.js';
import { runScenario } from '../../src/run/run-scenario.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import type { PlacementRecord } from '../../src/envs/kubernetes/placement.js';
import type { ResultDocument } from '../../src/result.js';
import { START_AT_ANNOTATION } from '../../src/envs/kubernetes/manifests.js';
import { CLUSTER_RULES } from '../../src/envs/kubernetes/rbac.js';
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
  // not a ztunnel (no app=ztunnel label) though named like one; the real ones live in another namespace, one per node
  api.seed('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ztunnel-x1', namespace: 'istio-system' }, spec: { containers: [{ name: 'istio-proxy' }] }, status: { phase: 'Running' } });
  for (const node of ['node-a', 'node-b', 'node-c']) {
    api.seed('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `ztunnel-${node}`, namespace: 'mesh-dataplane', labels: { app: 'ztunnel' } }, spec: { nodeName: node, containers: [{ name: 'istio-proxy' }] }, status: { phase: 'Running' } });
  }
  const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, api.kubeconfig());
  return { api, kubeconfig };
}

function k8sScenario(kubeconfig: string, env: Record<string, unknown> = {}, protocol: Record<string, unknown> = {}): Scenario {
  return parseScenario(
    {
      name: 'k8s-standin',
      env: { kind: 'kubernetes', mesh: 'istio-sidecar', kubeconfig, generators: 2, startLeadS: 0, readyTimeoutS: 20, fleetPods: 500, sidecarResources: { cpu: '100m', memory: '64Mi' }, ...env },
      rounds: 1,
      protocols: [{ name: 'http1', rateHz: 200, connections: 4, durationS: 0.8, warmupS: 0.2, firstWarmupS: 0.2, ...protocol }],
      budgets: { p99OverheadMs: 2000, errorRateOverhead: 1 },
    },
    'test',
  );
}

/**
 * The API calls meshbench made (as the stand-in logged them) that the documented ClusterRole does not grant, as
 * `verb group/resource`; server-side apply needs create (new objects) and patch. Discovery and /version need no grant.
 */
function ungranted(requests: readonly string[]): string[] {
  const grants = (group: string, resource: string, verb: string): boolean =>
    CLUSTER_RULES.some((r) => (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource) && r.verbs.includes(verb));
  const out = new Set<string>();
  for (const request of requests) {
    const [method = '', target = ''] = request.split(' ');
    const url = new URL(target, 'http://standin');
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/[^/]+)?\/([a-z]+)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (m === null) continue; // /version, discovery, the proxies' shutdown endpoint
    const [, group = '', plural = '', name, log] = m;
    const resource = log === undefined ? plural : `${plural}/log`;
    const verbs =
      method === 'GET' ? [log !== undefined || name !== undefined ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list']
      : method === 'POST' ? ['create']
      : method === 'DELETE' ? ['delete']
      : url.pathname.includes('/pods/') ? ['patch'] : ['create', 'patch'];
    for (const verb of verbs) if (!grants(group, resource, verb)) out.add(`${verb} ${group}/${resource}`);
  }
  return [...out];
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
    // PodSecurity "restricted" enforced on every namespace: meshbench's pods (and the CNI-mode sidecars) are admitted
    const { api, kubeconfig } = await startStandin({ expireFirstWatch: true, podSecurity: 'restricted' });
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
      // the histogram also holds the requests an overloaded generator never sent (recorded as late; LoadResult.dropped)
      const dropped = outputs.reduce((n, o) => n + (o.kind === 'load' ? o.result.dropped : 0), 0);
      expect(decodeHistogram(v?.histogram ?? '').totalCount).toBe(sum + dropped);
    }

    // sidecar cost: proxies sampled from metrics.k8s.io, incl. the native sidecar in initContainers
    const cost = doc.environment.facts['sidecarCost'] as { proxies: { name: string }[]; fleetProjection: { summary: string } };
    expect(cost.proxies.map((p) => p.name)).toEqual(expect.arrayContaining(['echo-0/istio-proxy', 'generator-0/istio-proxy', 'generator-1/istio-proxy']));
    expect(cost.fleetProjection.summary).toMatch(/^500 sidecars × 40\.0 MiB = 19\.5 GiB memory/);
    expect(http1?.variants['meshed']?.proxies.find((p) => p.name === 'echo-0/istio-proxy')?.cpuSeconds).toBeGreaterThan(0);
    expect(doc.environment.facts['sidecarResources']).toEqual({ cpu: '100m', memory: '64Mi' });

    // placement: both echoes on one node, every generator (probes and rounds, both variants) on one other node,
    // pinned by name after the probes; recorded with the pods' QoS class (requests by default: Burstable)
    const placement = doc.environment.facts['placement'] as PlacementRecord;
    expect(placement).toMatchObject({ rule: 'spread', symmetric: true, problems: [] });
    const [echoNode] = placement.echo.unmeshed?.nodes ?? [];
    const [generatorNode] = placement.generators.unmeshed?.nodes ?? [];
    expect(placement.echo).toEqual({ unmeshed: { nodes: [echoNode], qosClasses: ['Burstable'] }, meshed: { nodes: [echoNode], qosClasses: ['Burstable'] } });
    expect(placement.generators).toEqual({ unmeshed: { nodes: [generatorNode], qosClasses: ['Burstable'] }, meshed: { nodes: [generatorNode], qosClasses: ['Burstable'] } });
    expect(generatorNode).not.toBe(echoNode);
    const loadJobs = api.received.filter((o) => o.kind === 'Job' && o.metadata.name.startsWith('load-'));
    expect(loadJobs).toHaveLength(2);
    for (const j of loadJobs) expect(JSON.stringify(j.spec)).toContain(`"matchFields":[{"key":"metadata.name","operator":"In","values":["${generatorNode ?? '?'}"]}]`);

    // generators stopped their sidecar; applies were server-side with field manager meshbench; watches were re-opened
    expect(api.shutdownCalls.filter((p) => p.startsWith('load-'))).toHaveLength(2);
    // (the start barrier's pod annotations are merge patches: they own no field)
    const patches = api.requests.filter((r) => r.startsWith('PATCH'));
    expect(patches.filter((r) => !r.includes('/pods/')).every((r) => r.includes('fieldManager=meshbench') && r.includes('force=true'))).toBe(true);
    expect(patches.filter((r) => r.includes('/pods/')).every((r) => r.includes('fieldManager=meshbench') && !r.includes('force='))).toBe(true);
    expect(api.requests.filter((r) => r.includes('watch=true')).length).toBeGreaterThan(3);
    // every call of the run (the start barrier's pod patches included) is granted by the documented ClusterRole
    expect(api.requests.some((r) => /^PATCH \/api\/v1\/namespaces\/[^/]+\/pods\/load-/.test(r))).toBe(true);
    expect(ungranted(api.requests)).toEqual([]);
    expectCleanedUp(api);
  });

  it('linkerd and ambient: the proof each mesh offers', async () => {
    const { api, kubeconfig } = await startStandin();
    const linkerd = await runScenario(k8sScenario(kubeconfig, { mesh: 'linkerd', generators: 1 }), { scenarioPath: 'test' });
    expect(linkerd.proofs.find((p) => p.variant === 'meshed')?.marker).toMatch(/^default\.meshbench-.*\.serviceaccount\.identity\.linkerd\.cluster\.local$/);
    // with a revision label too: the revision's injector would add sidecars without the pods' opt-out
    const before = api.received.length;
    const ambient = await runScenario(k8sScenario(kubeconfig, { mesh: 'istio-ambient', istioRevision: '1-24-0', generators: 1, sidecarResources: undefined }), { scenarioPath: 'test' });
    const proof = ambient.proofs.find((p) => p.variant === 'meshed');
    expect(proof?.ok).toBe(true);
    expect(proof?.marker).toBe('ambient.istio.io/redirection=enabled');
    // the stand-in's CNI agent removed the annotation from every terminated pod: the proof rests on the running
    // echo and on what the probe and generator pods reported of themselves while they ran
    expect(proof?.detail).toContain('(as it reported itself)');
    const meshedJobs = api.received.slice(before).filter((o) => o.kind === 'Job' && o.metadata.namespace?.endsWith('-meshed'));
    expect(meshedJobs).toHaveLength(2);
    expect(meshedJobs.every((j) => JSON.stringify(j).includes('\\"awaitAnnotation\\":\\"ambient.istio.io/redirection\\"'))).toBe(true);
    // ztunnel cost: the app=ztunnel pods of the meshed pods' two nodes only, less their idle 2m
    const placement = ambient.environment.facts['placement'] as PlacementRecord;
    const [echoNode] = placement.echo.meshed?.nodes ?? [];
    const [generatorNode] = placement.generators.meshed?.nodes ?? [];
    const proxies = (ambient.environment.facts['sidecarCost'] as { proxies: { name: string; cpuMillicores: number; sharedByNode: boolean }[] }).proxies;
    expect(proxies.map((p) => p.name).sort()).toEqual([`ztunnel-${echoNode ?? '?'}/istio-proxy`, `ztunnel-${generatorNode ?? '?'}/istio-proxy`].sort());
    expect(proxies.every((p) => p.sharedByNode)).toBe(true);
    expect(proxies.find((p) => p.name.startsWith(`ztunnel-${echoNode ?? '?'}/`))?.cpuMillicores).toBe(0);
    expect(proxies.find((p) => p.name.startsWith(`ztunnel-${generatorNode ?? '?'}/`))?.cpuMillicores).toBeGreaterThan(0);
    expectCleanedUp(api);
  });

  it('PodSecurity rejects the pods (Istio without istio-cni): the admission message at once, not a timeout', async () => {
    const { api, kubeconfig } = await startStandin({ podSecurity: 'restricted', istioInit: true });
    const err: unknown = await runScenario(k8sScenario(kubeconfig, { readyTimeoutS: 90 }), { scenarioPath: 'test' }).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_ENV_FAILED');
    expect(String(err)).toMatch(/the echo in meshbench-\w+-meshed cannot start: FailedCreate: pods "echo-.*" is forbidden: violates PodSecurity "restricted:latest": .*container istio-init: runAsUser=0, .*adds capability NET_ADMIN/);
    expect(String(err)).toContain('need istio-cni or linkerd-cni');
    expectCleanedUp(api);
  });

  it('a pod the scheduler cannot place fails the run at once with the scheduler\'s message', async () => {
    const { api, kubeconfig } = await startStandin({ unschedulable: '0/3 nodes are available: 3 Insufficient cpu.' });
    const err: unknown = await runScenario(k8sScenario(kubeconfig, { readyTimeoutS: 90 }), { scenarioPath: 'test' }).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_ENV_FAILED');
    expect(String(err)).toMatch(/waiting for the echo in meshbench-\w+-(un)?meshed: pod echo-\S+ cannot be scheduled: 0\/3 nodes are available: 3 Insufficient cpu\./);
    expectCleanedUp(api);
  });

  it.each([
    ['one-node on a one-node cluster: everything on it', 'one-node', ['solo'], undefined],
    ['spread on a one-node cluster: refused at once, saying what to set', 'spread', ['solo'], /running job meshbench-\w+-(un)?meshed\/probe-\d: pod probe-\S+ cannot be scheduled: .*set nodePlacement: one-node/],
  ] as const)('placement %s', async (_what, nodePlacement, nodes, error) => {
    const { api, kubeconfig } = await startStandin({ nodes: [...nodes] });
    const outcome = await runScenario(k8sScenario(kubeconfig, { nodePlacement, generators: 1, readyTimeoutS: 90 }), { scenarioPath: 'test' }).catch((e: unknown) => e);
    if (error === undefined) {
      const placement = (outcome as ResultDocument).environment.facts['placement'] as PlacementRecord;
      expect(placement).toMatchObject({ rule: 'one-node', symmetric: true, echo: { meshed: { nodes: ['solo'] } }, generators: { unmeshed: { nodes: ['solo'] }, meshed: { nodes: ['solo'] } } });
    } else {
      expect(isMeshbenchError(outcome) && outcome.code).toBe('MB_ENV_FAILED');
      expect(String(outcome)).toMatch(error);
    }
    expectCleanedUp(api);
  });

  it('placement any: no rules, and the scheduler\'s asymmetric choice is recorded and flagged', async () => {
    const { api, kubeconfig } = await startStandin();
    const doc = await runScenario(k8sScenario(kubeconfig, { nodePlacement: 'any', generators: 1 }), { scenarioPath: 'test' });
    expect(api.received.some((o) => JSON.stringify(o).includes('affinity'))).toBe(false);
    const placement = doc.environment.facts['placement'] as PlacementRecord;
    expect(placement.symmetric).toBe(false); // the stand-in spreads pods over the least loaded nodes
    expect(placement.problems.join(' ')).toMatch(/the unmeshed echo ran on node-\w, the meshed echo on node-\w/);
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

  it('a namespace that already exists (409) is an error naming it, and is left alone', async () => {
    const { api, kubeconfig } = await startStandin();
    // someone else's namespace with the name the run would take (e.g. another tool, or a labelled look-alike)
    const theirs = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshbench-taken-meshed', labels: { 'app.kubernetes.io/managed-by': 'meshbench', 'meshbench.dev/run': 'taken', team: 'other' } } };
    api.seed('namespaces', theirs);
    const { env } = k8sScenario(kubeconfig);
    if (env.kind !== 'kubernetes') throw new Error('unreachable');
    const err: unknown = await startKubernetesEnv(env, ['http1'], undefined, { runId: 'taken' }).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_ENV_FAILED');
    expect(String(err)).toContain('Namespace meshbench-taken-meshed already exists and meshbench did not create it');
    // namespaces are created (POST), never force-applied; the run's own unmeshed namespace is gone, theirs untouched
    expect(api.requests.some((r) => r.startsWith('PATCH /api/v1/namespaces/'))).toBe(false);
    expect(api.requests.filter((r) => r.startsWith('POST /api/v1/namespaces'))).toHaveLength(2);
    expect(api.list('namespaces').map((n) => n.metadata.name).sort()).toEqual(['istio-system', 'meshbench-taken-meshed', 'team-payments']);
    expect(api.list('namespaces').find((n) => n.metadata.name === 'meshbench-taken-meshed')?.metadata.labels?.['team']).toBe('other');
  });

  it('bring-your-own namespaces: nothing cluster-scoped is created or deleted, only the run\'s labelled objects', async () => {
    const { api, kubeconfig } = await startStandin();
    api.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop-plain', labels: { 'istio-injection': 'disabled' } } });
    api.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop-mesh', labels: { 'istio-injection': 'enabled' } } });
    api.seed('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-settings', namespace: 'shop-mesh', labels: { 'app.kubernetes.io/managed-by': 'meshbench' } } });
    const doc = await runScenario(k8sScenario(kubeconfig, { generators: 1, namespaces: { unmeshed: 'shop-plain', meshed: 'shop-mesh' } }), { scenarioPath: 'test' });
    expect(doc.proofs.every((p) => p.ok)).toBe(true);
    expect(doc.environment.facts['namespaces']).toEqual({ unmeshed: 'shop-plain', meshed: 'shop-mesh' });
    expect(api.requests.filter((r) => /^(POST|PATCH|DELETE) \/api\/v1\/namespaces(\?|\/[^/]+(\?|$))/.test(r))).toEqual([]);
    // the run's objects are gone; the namespaces and the team's own ConfigMap (labelled, but not with the run) stay
    expect(api.list('namespaces').map((n) => n.metadata.name).sort()).toEqual(['istio-system', 'shop-mesh', 'shop-plain', 'team-payments']);
    for (const plural of ['deployments', 'services', 'jobs', 'pods']) expect(api.list(plural, 'shop-mesh'), plural).toEqual([]);
    expect(api.list('configmaps', 'shop-mesh').map((c) => c.metadata.name)).toEqual(['shop-settings']);
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

describe('the start barrier: a round\'s generator pods start together', () => {
  /** Every round's warm-up 0.2 s (the first one's too). */
  type LoadOutput = { startAtMs?: number; startLagMs: number; result: { startedAtMs: number } };
  const loadOutputs = (api: ApiStandin, variant: string): [string, LoadOutput][] =>
    [...api.logs.entries()].filter(([k]) => k.includes(`-${variant}/load-`)).map(([k, log]) => [k.split('/')[1] ?? k, parseOutputLog(log, k) as unknown as LoadOutput]);

  it('a meshed pod whose sidecar starts 1.5 s late holds its round: every pod starts at the published time, within the bound', async () => {
    const slowMs = 1500;
    const { api, kubeconfig } = await startStandin({ slowStartMs: (variant, index, job) => (variant === 'meshed' && index === 1 && job.startsWith('load-') ? slowMs : 0) });
    const doc = await runScenario(k8sScenario(kubeconfig, { startLeadS: 0.4 }), { scenarioPath: 'test' });
    const http1 = doc.protocols.find((p) => p.name === 'http1');
    for (const variant of ['unmeshed', 'meshed']) {
      const lags = http1?.variants[variant]?.rounds[0]?.generatorStartLagsMs ?? [];
      expect(lags, variant).toHaveLength(2);
      for (const lag of lags) expect(lag, variant).toBeLessThanOrEqual(1000); // env.maxStartLagMs (default)
      const outputs = loadOutputs(api, variant);
      expect(outputs.map(([, o]) => o.startLagMs).sort(), variant).toEqual([...lags].sort());
      // one published start per Job, written after the last pod was Ready; the pods' load began at it
      const [startAtMs] = new Set(outputs.map(([, o]) => o.startAtMs));
      expect(new Set(outputs.map(([, o]) => o.startAtMs)).size, variant).toBe(1);
      const lastReadyMs = Math.max(...outputs.map(([pod]) => api.readyAtMs.get(pod) ?? Infinity));
      for (const [pod, o] of outputs) {
        expect(api.annotatedAtMs.get(pod), pod).toBeGreaterThanOrEqual(lastReadyMs);
        expect((startAtMs ?? 0) - (api.annotatedAtMs.get(pod) ?? 0), pod).toBeGreaterThan(300); // startLeadS 0.4 after the barrier
        // the load's own window (warm-up 0.2 s before it) began at the published start, never before it
        const loadStartMs = o.result.startedAtMs - 200;
        expect(loadStartMs, pod).toBeGreaterThanOrEqual((startAtMs ?? Infinity) - 1);
        expect(Math.max(0, Math.round(loadStartMs - (startAtMs ?? 0))), pod).toBe(o.startLagMs);
      }
    }
    // the slow meshed pod was Ready ≥ 1.5 s after its sibling, which waited at the barrier instead of starting alone
    const [fast, slow] = loadOutputs(api, 'meshed').map(([pod]) => api.readyAtMs.get(pod) ?? 0).sort((a, b) => a - b);
    expect((slow ?? 0) - (fast ?? 0)).toBeGreaterThan(slowMs - 200);
    expect(doc.verdict.validity.filter((p) => p.rule === 'maxStartLag')).toEqual([]);
    expect(doc.environment.facts['generatorMaxStartLagMs']).toBe(Math.max(...['unmeshed', 'meshed'].flatMap((v) => http1?.variants[v]?.rounds[0]?.generatorStartLagsMs ?? [])));
    // the probe Jobs report nothing of readiness: only load Jobs wait at the barrier
    const jobs = api.received.filter((o) => o.kind === 'Job');
    for (const j of jobs) expect(JSON.stringify(j.spec).includes('"readinessProbe"'), j.metadata.name).toBe(j.metadata.name.startsWith('load-'));
    expectCleanedUp(api);
  });

  it('pods that learn the start late (a slow kubelet): the round is invalid, with the lags and the reason', async () => {
    const { api, kubeconfig } = await startStandin({ downwardApiDelayMs: 1200 });
    const doc = await runScenario(k8sScenario(kubeconfig, { generators: 1, startLeadS: 0.1, maxStartLagMs: 300 }), { scenarioPath: 'test' });
    const http1 = doc.protocols.find((p) => p.name === 'http1');
    for (const variant of ['unmeshed', 'meshed']) {
      const [lag = 0] = http1?.variants[variant]?.rounds[0]?.generatorStartLagsMs ?? [];
      expect(lag, variant).toBeGreaterThan(1000); // 1.2 s late to see it, 0.1 s lead
      const [[pod = '', o] = []] = loadOutputs(api, variant);
      expect(o?.startLagMs, pod).toBe(lag);
    }
    expect(doc.verdict.status).toBe('inconclusive');
    const problems = doc.verdict.validity.filter((p) => p.rule === 'maxStartLag');
    expect(problems.map((p) => `${p.variant} ${String(p.round)}`).sort()).toEqual(['meshed 0', 'unmeshed 0']);
    expect(problems[0]?.detail).toMatch(/^http1\/(un)?meshed round 1: the generator pods did not start together — generator 0 1\d{3} ms after the published start; allowed 300 ms \(env\.maxStartLagMs\)/);
    expect(doc.verdict.reasons.some((r) => r.includes('did not start together'))).toBe(true);
    expect(api.requests.some((r) => r.startsWith('PATCH') && r.includes('/pods/load-'))).toBe(true);
    expectCleanedUp(api);
  });

  it('a generator pod that never gets ready: the round fails after env.readyTimeoutS, naming the pod', async () => {
    const { api, kubeconfig } = await startStandin({ slowStartMs: (variant, _index, job) => (variant === 'unmeshed' && job.startsWith('load-') ? 60_000 : 0) });
    const doc = await runScenario(k8sScenario(kubeconfig, { generators: 1, readyTimeoutS: 1 }), { scenarioPath: 'test' });
    expect(doc.fault?.message).toMatch(/the generator pods of meshbench-\w+-unmeshed\/load-http1-\d+ were not all ready after 1 s \(env\.readyTimeoutS\): 0 of 1 ready, not ready: load-http1-\d+-0-\w+ — a generator is ready once its target answers through its sidecar/);
    expect(doc.verdict.status).toBe('inconclusive');
    expect(api.requests.some((r) => r.startsWith('PATCH') && r.includes('/pods/'))).toBe(false); // no start was published
    expectCleanedUp(api);
  });
});
