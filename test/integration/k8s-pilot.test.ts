import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { readChunkedLog } from '../../src/envs/kubernetes/chunks.js';
import type { PilotGeneratorRecord } from '../../src/envs/kubernetes/pilot-generator.js';
import { decodeHistogram } from '../../src/histograms/index.js';
import type { SegmentRecord, WindowRecord } from '../../src/pilot-record.js';
import { summarizePilot } from '../../src/pilot/documents.js';
import { startPilot } from '../../src/pilot/run.js';
import { readPilot } from '../../src/pilot/store.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import { ApiStandin } from './k8s-standin.js';

// A pilot on env.kind kubernetes against the API STAND-IN (k8s-standin.ts — not a cluster): generator Deployments
// whose pods run the real `k8s generate` against a real loopback echo, windows streamed back as chunked records
// over followed pod logs; one generator container is killed and restarted mid-pilot.

let echo: EchoServers;
let work: string;
let api: ApiStandin;

beforeAll(async () => {
  echo = await startEchoServers();
  work = mkdtempSync(join(tmpdir(), 'meshbench-k8s-pilot-'));
  api = new ApiStandin({ echo: { httpPort: echo.httpPort, grpcPort: echo.grpcPort } });
  await api.start();
});
afterAll(async () => {
  await api.close();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

type WindowOfPod = Extract<PilotGeneratorRecord, { kind: 'window' }>;

/** Every window record the pods of a namespace printed, from the live and the previous containers' logs. */
function podWindows(namespace: string): WindowOfPod[] {
  const logs = [...api.logs.entries(), ...api.previousLogs.entries()].filter(([k]) => k.startsWith(`${namespace}/pilot-generator-`));
  return logs.flatMap(([, log]) => readChunkedLog(log).records.map((r) => r.value as PilotGeneratorRecord)).filter((r): r is WindowOfPod => r.kind === 'window');
}

describe('kubernetes pilot against the API stand-in', () => {
  it('generators run as Deployments, windows stream back whole, a restarted generator loses only its open window', async () => {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfig());
    const scenario = parseScenario(
      {
        name: 'k8s-pilot',
        env: { kind: 'kubernetes', mesh: 'istio-sidecar', kubeconfig, generators: 2, startLeadS: 0, readyTimeoutS: 20, proxyMetrics: true },
        protocols: [{ name: 'http1', rateHz: 100, connections: 2, durationS: 1, warmupS: 0.2, firstWarmupS: 0.2 }],
        budgets: { p99OverheadMs: 2000, errorRateOverhead: 1 },
        pilot: { windowS: 2 },
      },
      'test',
    );
    const dir = join(work, 'pilot');
    let crashed: Promise<string> | undefined;
    let meshedNs = '';
    const outcome = await startPilot(dir, scenario, 'test', 20, {
      onEvent: (e) => {
        if (e.type !== 'window' || crashed !== undefined) return;
        meshedNs = api.list('namespaces').find((n) => n.metadata.labels?.['meshbench.dev/variant'] === 'meshed')?.metadata.name ?? '';
        crashed = api.crashGenerator(meshedNs, 0);
      },
    });
    const crashedPod = await crashed;
    expect(outcome.finished).toBe(true);

    // the generators were Deployments (one per variant × shard, Recreate), never per-round load Jobs
    expect(api.requests.some((r) => r.includes('/jobs/load-'))).toBe(false);
    const applied = api.requests.filter((r) => r.startsWith('PATCH') && r.includes('/deployments/pilot-generator-')).map((r) => /namespaces\/meshbench-[a-z0-9]+-([a-z]+)\/deployments\/([a-z0-9-]+)/.exec(r)?.slice(1).join('/'));
    expect(applied.sort()).toEqual(['meshed/pilot-generator-0', 'meshed/pilot-generator-1', 'unmeshed/pilot-generator-0', 'unmeshed/pilot-generator-1']);

    const { meta, records } = await readPilot(dir);
    const windows = records.filter((r): r is WindowRecord => r.type === 'window');
    const segments = records.filter((r): r is SegmentRecord => r.type === 'segment');
    // windows in order, each once
    expect(windows.map((w) => w.index)).toEqual([...windows.map((w) => w.index)].sort((a, b) => a - b));
    expect(new Set(windows.map((w) => w.index)).size).toBe(windows.length);
    expect(windows.length).toBeGreaterThanOrEqual(4);

    // nothing lost, nothing counted twice: each window on disk is exactly the sum of the pods' records of it
    const fromPods = [...podWindows(meshedNs), ...podWindows(meshedNs.replace(/-meshed$/, '-unmeshed'))];
    const byVariant = (variant: string): WindowOfPod[] => fromPods.filter((r) => r.variant === variant);
    for (const w of windows) {
      for (const variant of ['unmeshed', 'meshed']) {
        const intervals = byVariant(variant).filter((r) => r.window === w.index).flatMap((r) => r.protocols.flatMap((p) => p.intervals));
        const expected = intervals.reduce((n, iv) => n + decodeHistogram(iv.histogram).totalCount, 0);
        expect({ window: w.index, variant, count: w.protocols[0]?.variants[variant]?.count ?? 0 }).toEqual({ window: w.index, variant, count: expected });
      }
    }

    // the restart: recorded as a new segment naming the pod; the lost window is the only one the shard lacks
    expect(segments).toHaveLength(2);
    expect(JSON.stringify(segments[1]?.environment.facts['restarts'])).toContain(`meshed generator 0: container restarted in pod ${crashedPod}`);
    const windowsOf = (shard: number): number[] => byVariant('meshed').filter((r) => r.shard === shard).map((r) => r.window).sort((a, b) => a - b);
    const shard0 = windowsOf(0);
    const shard1 = windowsOf(1);
    // Lost: the window the old container had open and those that passed before the new one measured (it starts at
    // the next whole grid second after its lead and warm-up, later on a loaded machine) — one gap, nothing around it.
    // (The pilot's last window is cut by its end and marked partial; shards may differ there, crashed or not.)
    const lastOfNew = Math.max(...shard0);
    const lost = shard1.filter((i) => !shard0.includes(i) && i < lastOfNew);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    const lostFrom = Math.min(...lost);
    const lostTo = Math.max(...lost);
    expect(lost).toEqual(Array.from({ length: lostTo - lostFrom + 1 }, (_, i) => lostFrom + i));
    expect(shard0.filter((i) => i < lostFrom)).toEqual(shard1.filter((i) => i < lostFrom));
    expect(lastOfNew).toBeGreaterThan(lostTo); // the new container delivered windows again
    expect(shard0.filter((i) => i > lostTo)).toEqual(shard1.filter((i) => i > lostTo && i <= lastOfNew));
    const summary = summarizePilot(meta, records);
    const restartWindow = summary.windows.find((w) => w.marks.includes('restart'));
    expect(restartWindow?.index).toBe(Math.min(...lost));
    expect(summary.segments[1]?.gapS).not.toBeNull();
    expect(summary.whole.excluded.map((e) => e.index)).toContain(restartWindow?.index);

    // proxies metered per window from metrics.k8s.io; everything deleted at the end
    expect(windows.some((w) => (w.proxies['meshed'] ?? []).some((p) => p.name.endsWith('/istio-proxy')))).toBe(true);
    expect(api.list('namespaces').filter((n) => n.metadata.labels?.['app.kubernetes.io/managed-by'] === 'meshbench')).toEqual([]);
  }, 120_000); // a 20 s pilot plus set-up on the stand-in: ≈ 21 s alone
});
