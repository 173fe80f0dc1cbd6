import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { DEFAULT_NODE_IMAGE } from '../../src/config/schema.js';
import { deploymentFailure, mergeOutputs, podTrouble } from '../../src/envs/kubernetes/collect.js';
import { parseQuantity, roleNames } from '../../src/envs/kubernetes/cost.js';
import { formatOutput, parseAnnotationsFile, parseOutputLog, shardSpec, type GeneratorOutput } from '../../src/envs/kubernetes/generator.js';
import { newRunId } from '../../src/envs/kubernetes/index.js';
import { MESH_PROFILES } from '../../src/envs/kubernetes/meshes.js';
import { PlacementLog } from '../../src/envs/kubernetes/placement.js';
import { checkPods, checkTrace, newTraceHeaders, proofRecord } from '../../src/envs/kubernetes/prove.js';
import { isMeshbenchError } from '../../src/errors.js';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, recordLatency } from '../../src/histograms/index.js';
import type { LoadResult, LoadSpec } from '../../src/load/types.js';

const spec: LoadSpec = {
  protocol: 'http1', target: 'http://echo.ns.svc.cluster.local:8080/', model: 'open', rateHz: 1000, connections: 7, durationMs: 1000, warmupMs: 0,
  payloadBytes: 64, timeoutMs: 1000, headers: {}, workers: 3, intervalMs: 1000, maxRequests: 0, lateThresholdUs: 1000,
};

function podResult(values: number[], errors = 0, lateShare = 0): LoadResult {
  const h = createLatencyHistogram();
  for (const v of values) recordLatency(h, v);
  const encoded = encodeHistogram(h);
  return {
    protocol: 'http1', target: spec.target, model: 'open', count: values.length,
    errors: { connect: 0, reset: 0, timeout: errors, status: 0, protocol: 0, other: 0 }, dropped: 0, intendedRateHz: 500,
    achievedRateHz: values.length, measuredMs: 1000, behindUs: 10, maxLagUs: 5, lateShare, histogram: encoded, serviceHistogram: encoded,
    intervals: [{ startMs: 1000, endMs: 2000, histogram: encoded }], startedAtMs: 1000, hiccupHistogram: encoded, lagHistogram: encoded,
  };
}
const out = (index: number, result: LoadResult): GeneratorOutput => ({ kind: 'load', index, shards: 2, result, startLagMs: 0, nodeVersion: 'v20' });

describe('generator shards and the exact merge of their results', () => {
  it.each([1, 2, 3, 7])('%i shard(s): connections, workers and rate add up; every shard has ≥ 1 connection and worker', (shards) => {
    const parts = Array.from({ length: shards }, (_, i) => shardSpec(spec, shards, i));
    expect(parts.reduce((n, p) => n + p.connections, 0)).toBe(spec.connections);
    expect(parts.reduce((n, p) => n + p.rateHz, 0)).toBeCloseTo(spec.rateHz, 9);
    expect(parts.every((p) => p.connections >= 1 && p.workers >= 1 && p.workers <= p.connections)).toBe(true);
  });

  it('merges histograms bucket by bucket and sums counts (lateShare weighted by sends)', () => {
    const merged = mergeOutputs(spec, [out(1, podResult([300, 400, 5000], 1, 0.5)), out(0, podResult([100, 200]))], 2);
    expect(merged.count).toBe(5);
    expect(merged.errors.timeout).toBe(1);
    const h = decodeHistogram(merged.histogram);
    expect(h.totalCount).toBe(5);
    expect(h.getValueAtPercentile(100)).toBeGreaterThanOrEqual(4995);
    expect(merged.lateShare).toBeCloseTo(2 / 6, 9);
    expect(merged.intervals).toHaveLength(1);
    expect(decodeHistogram(merged.intervals[0]?.histogram ?? '').totalCount).toBe(5);
  });

  it('refuses a round with a missing or duplicated shard', () => {
    expect(() => mergeOutputs(spec, [out(0, podResult([1]))], 2)).toThrow(/generator\(s\) 1 of 2 are missing/);
    expect(() => mergeOutputs(spec, [out(0, podResult([1])), out(0, podResult([1]))], 2)).toThrow(/two generator pods reported completion index 0/);
  });

  it('reads the result record out of a noisy log, and says what the log held when there is none', () => {
    const log = `warming up\n${formatOutput(out(1, podResult([7]))).join('\n')}\n(node) warning\n`;
    expect(parseOutputLog(log, 'p')).toMatchObject({ kind: 'load', index: 1 });
    const err: unknown = (() => {
      try {
        return parseOutputLog('meshbench-error ECONNREFUSED\n', 'load-http1-1-0-abc');
      } catch (e) {
        return e;
      }
    })();
    expect(isMeshbenchError(err) && err.message).toBe('pod load-http1-1-0-abc printed no whole result record; its log ends: meshbench-error ECONNREFUSED');
  });
});

describe('sidecar cost and proof helpers', () => {
  it.each([
    ['250m', 0.25], ['12345678n', 0.012345678], ['1', 1], ['1500u', 0.0015], ['51200Ki', 51200 * 1024], ['64Mi', 64 * 1024 ** 2], ['1G', 1e9], ['x', NaN],
  ] as const)('quantity %s = %d', (q, v) => {
    if (Number.isNaN(v)) expect(parseQuantity(q)).toBeNaN();
    else expect(parseQuantity(q)).toBeCloseTo(v, 12);
  });

  it('names proxies by role so a proxy keeps its name across rounds', () => {
    const roles = roleNames([
      { metadata: { name: 'echo-b', labels: { 'app.kubernetes.io/component': 'echo' } } },
      { metadata: { name: 'echo-a', labels: { 'app.kubernetes.io/component': 'echo' } } },
      { metadata: { name: 'load-http1-3-1-xyz', labels: { 'app.kubernetes.io/component': 'generator' }, annotations: { 'batch.kubernetes.io/job-completion-index': '1' } } },
    ]);
    expect(Object.fromEntries(roles)).toEqual({ 'echo-a': 'echo-0', 'echo-b': 'echo-1', 'load-http1-3-1-xyz': 'generator-1' });
  });

  it('trace context: only the trace id must survive (a mesh with tracing on may change the span)', () => {
    const sent = newTraceHeaders();
    const [, id, span] = sent.headers.traceparent.split('-');
    expect(id).toBe(sent.traceId);
    expect(checkTrace(sent, { 'x-echo-traceparent': `00-${id ?? ''}-aaaaaaaaaaaaaaaa-01`, 'x-echo-b3': sent.headers.b3 }).ok).toBe(true);
    expect(checkTrace(sent, { 'x-echo-traceparent': sent.headers.traceparent }).detail).toBe('trace context broken: b3 did not reach the echo');
    expect(checkTrace(sent, { 'x-echo-traceparent': `00-${'0'.repeat(32)}-${span ?? ''}-01`, 'x-echo-b3': sent.headers.b3 }).ok).toBe(false);
  });

  it('pods: meshed ones must carry the proxy (native sidecars count), unmeshed ones none', () => {
    const native = { metadata: { name: 'a' }, spec: { containers: [{ name: 'echo' }], initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }] } };
    const bare = { metadata: { name: 'b' }, spec: { containers: [{ name: 'echo' }] } };
    expect(checkPods(MESH_PROFILES['istio-sidecar'], true, [native])).toMatchObject({ ok: true, detail: 'istio-proxy in 1 pod(s) (native sidecar)' });
    const classic = { metadata: { name: 'd' }, spec: { containers: [{ name: 'echo' }, { name: 'istio-proxy' }] } };
    expect(checkPods(MESH_PROFILES['istio-sidecar'], true, [classic]).detail).toContain('classic sidecar: a generator that crashes leaves its pod Running until the Job deadline; native sidecars are recommended');
    expect(checkPods(MESH_PROFILES['istio-sidecar'], true, [native, bare]).ok).toBe(false);
    expect(checkPods(MESH_PROFILES.linkerd, false, [native]).detail).toBe('unmeshed pod(s) carry a mesh: a');
    expect(checkPods(MESH_PROFILES['istio-ambient'], true, [{ metadata: { name: 'c', annotations: { 'ambient.istio.io/redirection': 'enabled' } } }]).ok).toBe(true);
    // ambient: a sidecar injected anyway (an istio.io/rev label) takes the pod out of ambient capture
    const injected = { metadata: { name: 'e', annotations: { 'ambient.istio.io/redirection': 'enabled' } }, spec: native.spec };
    expect(checkPods(MESH_PROFILES['istio-ambient'], true, [injected]).detail).toBe('sidecar proxies injected into e, which takes them out of ambient capture');
  });

  it('XFCC missing while the sidecars are there: the hint names proxyHeaders.forwardedClientCert SANITIZE', () => {
    const sent = newTraceHeaders();
    const input = { variant: 'meshed', meshed: true, expect: MESH_PROFILES['istio-sidecar'].expect, profile: MESH_PROFILES['istio-sidecar'], sent, traceCheck: false };
    const outcome = { protocol: 'http1' as const, target: 't', status: 200, headers: {} };
    const withProxies = proofRecord({ ...input, outcome, pods: { ok: true, detail: 'istio-proxy in 2 pod(s)', marker: null } });
    expect(withProxies.ok).toBe(false);
    expect(withProxies.detail).toContain('proxyHeaders.forwardedClientCert: SANITIZE');
    expect(proofRecord({ ...input, outcome, pods: { ok: false, detail: 'no istio-proxy', marker: null } }).detail).not.toContain('SANITIZE');
  });

  it.each([
    ['unschedulable', { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] } }, 'pod p cannot be scheduled: 0/3 nodes are available'],
    ['image pull back-off', { status: { containerStatuses: [{ name: 'echo', state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } } }] } }, 'pod p: echo ImagePullBackOff (no such image)'],
    ['still creating', { status: { containerStatuses: [{ name: 'echo', state: { waiting: { reason: 'ContainerCreating' } } }] } }, undefined],
    ['running', { status: { phase: 'Running' } }, undefined],
  ])('pod trouble: %s', (_what, pod, message) => {
    expect(podTrouble([{ metadata: { name: 'p' }, ...pod }])).toBe(message);
  });

  it('a Deployment that cannot create pods says why (ReplicaFailure)', () => {
    expect(deploymentFailure({ status: { conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'forbidden: violates PodSecurity' }] } })).toBe('FailedCreate: forbidden: violates PodSecurity');
    expect(deploymentFailure({ status: { conditions: [{ type: 'Available', status: 'False' }] } })).toBeUndefined();
  });

  it('the downward API annotations file: Go-quoted values, one per line', () => {
    const text = 'ambient.istio.io/redirection="enabled"\nkubectl.kubernetes.io/last-applied="{\\"a\\":1}"\nbatch.kubernetes.io/job-completion-index="0"\n';
    expect(parseAnnotationsFile(text)).toEqual({ 'ambient.istio.io/redirection': 'enabled', 'kubectl.kubernetes.io/last-applied': '{"a":1}', 'batch.kubernetes.io/job-completion-index': '0' });
    expect(parseAnnotationsFile('')).toEqual({});
  });

  it('run ids are short and DNS-safe', () => {
    for (let i = 0; i < 50; i++) expect(newRunId()).toMatch(/^[a-z][a-z0-9]{5}$/);
  });
});

describe('placement: both variants alike, or named why not', () => {
  const pod = (name: string, node: string, qos = 'Burstable') => ({ metadata: { name }, spec: { nodeName: node }, status: { qosClass: qos } });
  const gen = (name: string, node: string): GeneratorOutput => ({ kind: 'probe', index: 0, results: [], nodeVersion: 'v20', self: { name, nodeName: node, annotations: {} } });

  it.each([
    ['spread, alike', 'spread', ['a', 'a'], ['b', 'b'], []],
    ['spread, the generators next to the echo', 'spread', ['a', 'a'], ['a', 'a'], ['unmeshed: generators and echo share node a (nodePlacement spread)', 'meshed: generators and echo share node a (nodePlacement spread)']],
    ['spread, the echoes apart', 'spread', ['a', 'c'], ['b', 'b'], ['the unmeshed echo ran on a, the meshed echo on c']],
    ['one-node, alike', 'one-node', ['a', 'a'], ['a', 'a'], []],
    ['one-node, generators elsewhere', 'one-node', ['a', 'a'], ['b', 'b'], ['unmeshed: pods on a, b (nodePlacement one-node)', 'meshed: pods on a, b (nodePlacement one-node)']],
    ['any, generators apart', 'any', ['a', 'a'], ['b', 'c'], ['the unmeshed generators ran on b, the meshed generators on c']],
  ] as const)('%s', (_what, rule, [eu, em], [gu, gm], problems) => {
    const log = new PlacementLog(rule, ['unmeshed', 'meshed']);
    log.echo('unmeshed', [pod('e1', eu)]);
    log.echo('meshed', [pod('e2', em)]);
    // the node a generator reported itself (downward API) wins over the pod list's
    log.generators('unmeshed', [gen('g1', gu)], [pod('g1', 'listed-elsewhere')]);
    log.generators('meshed', [gen('g2', gm)], [pod('g2', gm)]);
    const record = log.record();
    expect(record.problems).toEqual(problems);
    expect(record.symmetric).toBe(problems.length === 0);
    expect(record.generators.unmeshed?.nodes).toEqual([gu]);
    expect(log.generatorNode()).toBe(gu === gm ? gu : undefined);
  });
});

describe('kubernetes env in the scenario schema', () => {
  const base = (env: Record<string, unknown>, connections = 16) => ({ name: 'k', env: { kind: 'kubernetes', ...env }, protocols: [{ name: 'http1', connections }], budgets: { p99Ms: 10 } });

  it('fills sensible defaults', () => {
    const s = parseScenario(base({ mesh: 'linkerd' }), 't');
    expect(s.env).toMatchObject({ kind: 'kubernetes', mesh: 'linkerd', nodeImage: DEFAULT_NODE_IMAGE, replicas: 1, generators: 1, fleetPods: 100, proxyMetrics: true, traceCheck: true, readyTimeoutS: 300, nodePlacement: 'spread', runAsUser: 1000 });
  });

  it.each([
    [{ mesh: 'istio-ambient', sidecarResources: { cpu: '100m', memory: '64Mi' } }, 16, 'env.sidecarResources: istio-ambient runs no sidecars'],
    [{ mesh: 'linkerd', istioRevision: 'canary' }, 16, 'env.istioRevision: only for the Istio meshes'],
    [{ mesh: 'istio-sidecar', generators: 4 }, 2, 'protocols[0].connections: connections (2) must be at least env.generators (4)'],
    [{ mesh: 'istio-sidecar', sidecarResources: { cpu: 'lots', memory: '64Mi' } }, 16, 'env.sidecarResources.cpu: a Kubernetes quantity'],
    [{ mesh: 'consul' }, 16, 'env.mesh: must be one of'],
    [{ mesh: 'linkerd', runAsUser: 0 }, 16, 'env.runAsUser'],
    [{ mesh: 'linkerd', nodePlacement: 'zone' }, 16, 'env.nodePlacement'],
    [{ mesh: 'linkerd', namespaces: { unmeshed: 'shop' } }, 16, 'env.namespaces.meshed: required with a mesh'],
    [{ mesh: 'linkerd', namespaces: { unmeshed: 'shop', meshed: 'shop' } }, 16, 'env.namespaces: the variants need two different namespaces'],
  ])('rejects %j', (env, connections, message) => {
    let problems: readonly string[] = [];
    try {
      parseScenario(base(env, connections), 't');
    } catch (err) {
      problems = isMeshbenchError(err) ? err.problems : [];
    }
    expect(problems.some((p) => p.startsWith(message))).toBe(true);
  });
});
