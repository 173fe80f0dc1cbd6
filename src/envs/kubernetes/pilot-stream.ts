import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadSpec } from '../../load/types.js';
import type { PilotLoadPlan, StreamedWindow } from '../env.js';
import { ChunkReader, type ChunkRecord } from './chunks.js';
import type { Kube, KubeItem } from './client.js';
import { COMPONENT_LABEL, GENERATOR_CONTAINER, renderPilotGenerator, selectorOf, SHARD_LABEL, type K8sPlan, type VariantPlan } from './manifests.js';
import type { PilotGeneratorJob, PilotGeneratorRecord } from './pilot-generator.js';
import { PilotWindowJoin } from './pilot-windows.js';

/**
 * A pilot on Kubernetes, meshbench's side: applies one generator Deployment per variant × shard, follows each
 * shard's pod log (client-node `Log` with follow) and joins the windows the pods print (pilot-windows.ts).
 *
 * A container instance is its pod's uid and restart count. When a log stream ends the shard's pod is looked up
 * again: the same instance → the stream is followed again (the reader drops records it already has); another
 * instance (the container restarted, or the Deployment replaced the pod) → the rest of the old instance's log
 * is read (`previous`), then the restart is recorded against the window the old instance had open — the only
 * window it loses — and the new instance is followed. A stream that hangs while its container is replaced is
 * cut by a poll of the pod every POLL_MS.
 */

const POLL_MS = 2000;

interface Instance {
  key: string;
  name: string;
  uid: string;
  running: boolean;
  restarts: number;
}

function instanceOf(pod: KubeItem): Instance | undefined {
  const name = pod.metadata?.name;
  if (name === undefined || pod.metadata?.deletionTimestamp !== undefined) return undefined;
  const status = pod.status?.containerStatuses?.find((c) => c.name === GENERATOR_CONTAINER);
  const restarts = status?.restartCount ?? 0;
  const uid = pod.metadata?.uid ?? name;
  return { key: `${uid}/${restarts}`, name, uid, running: status?.state?.running !== undefined || status?.state?.terminated !== undefined, restarts };
}

export async function streamPilotLoad(
  kube: Kube,
  plan: K8sPlan,
  variants: readonly VariantPlan[],
  load: PilotLoadPlan,
  signal: AbortSignal,
  onWindow: (w: StreamedWindow) => void,
): Promise<void> {
  const shards = plan.env.generators;
  const readyTimeoutMs = plan.env.readyTimeoutS * 1000;
  const sources: { v: VariantPlan; shard: number; key: string }[] = [];
  for (const v of variants) {
    const specs: LoadSpec[] = load.lanes.filter((l) => l.variant === v.variant).map((l) => l.spec);
    if (specs.length === 0) continue;
    for (let shard = 0; shard < shards; shard++) {
      const job: PilotGeneratorJob = {
        kind: 'pilot', variant: v.variant, specs, shards, shard,
        gridStartMs: load.gridStartMs, firstWindow: load.firstWindow, windowS: load.windowS, endMs: load.endMs, readyTimeoutMs,
      };
      await kube.apply(renderPilotGenerator(plan, v, job));
      sources.push({ v, shard, key: `${v.variant}/${shard}` });
    }
  }
  const graceMs = load.windowS * 1000 + readyTimeoutMs;
  const join = new PilotWindowJoin(sources.map((s) => s.key), { gridStartMs: load.gridStartMs, firstWindow: load.firstWindow, windowS: load.windowS, graceMs });
  const emit = (windows: StreamedWindow[]): void => {
    for (const w of windows) onWindow(w);
  };
  // Not AbortSignal.timeout: inside AbortSignal.any, Node 20 may collect it before it fires (nodejs/node#57736).
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => deadline.abort(), Math.max(0, load.endMs - Date.now()) + graceMs);
  const stop = AbortSignal.any([signal, deadline.signal]);
  const ticker = setInterval(() => emit(join.ready(Date.now())), 1000);
  try {
    await Promise.all(sources.map((s) => follow(kube, plan, s, join, emit, stop)));
  } finally {
    clearTimeout(deadlineTimer);
    clearInterval(ticker);
    emit(join.flush());
  }
}

/** Follows one shard's pod log until the shard ends (its `end` record) or `stop` aborts. */
async function follow(
  kube: Kube,
  plan: K8sPlan,
  source: { v: VariantPlan; shard: number; key: string },
  join: PilotWindowJoin,
  emit: (w: StreamedWindow[]) => void,
  stop: AbortSignal,
): Promise<void> {
  const { v, shard, key } = source;
  const selector = `${selectorOf(plan.runId)},${COMPONENT_LABEL}=generator,${SHARD_LABEL}=${shard}`;
  const current = async (): Promise<Instance | undefined> => (await kube.list('Pod', v.namespace, selector)).items.map(instanceOf).find((i) => i !== undefined);
  let reader = new ChunkReader();
  let following: Instance | undefined;
  let ended = false;
  // Cuts the followed stream: the pod's instance changed under it, or it printed its `end` (it then idles, and
  // its log stays open until the Deployment is deleted).
  let cut = new AbortController();
  const take = (records: ChunkRecord[]): void => {
    for (const { value } of records) {
      const record = value as PilotGeneratorRecord;
      if (record.kind === 'window') emit(join.add(key, record));
      else if (record.kind === 'end') {
        ended = true;
        cut.abort();
        emit(join.ended(key));
      }
    }
  };
  while (!ended && !stop.aborted) {
    const instance = await current().catch(() => undefined);
    if (instance !== undefined && following !== undefined && instance.key !== following.key) {
      const old = following;
      if (instance.uid === old.uid) {
        await kube.streamLogs(v.namespace, old.name, GENERATOR_CONTAINER, (t) => take(reader.push(t)), { follow: false, previous: true, signal: stop }).catch(() => undefined);
      }
      take(reader.end());
      const why = reader.otherLines.at(-1);
      join.restarted(key, `${v.variant} generator ${shard}: ${instance.uid === old.uid ? `container restarted in pod ${old.name}` : `pod ${old.name} replaced by ${instance.name}`}${why === undefined ? '' : ` (${why})`}`, Date.now());
      reader = new ChunkReader();
    }
    if (instance !== undefined) following = instance;
    if (instance === undefined || !instance.running) {
      await sleep(POLL_MS, undefined, { signal: stop }).catch(() => undefined);
      continue;
    }
    // Follow the log; a poll cuts the stream when the pod's instance changed under it.
    cut = new AbortController();
    const watchdog = setInterval(() => {
      void current().then(
        (c) => {
          if (c?.key !== instance.key) cut.abort();
        },
        () => undefined,
      );
    }, POLL_MS);
    try {
      await kube.streamLogs(v.namespace, instance.name, GENERATOR_CONTAINER, (t) => take(reader.push(t)), { follow: true, signal: AbortSignal.any([stop, cut.signal]) });
    } catch {
      // the pod went away between the lookup and the request: look again
    } finally {
      clearInterval(watchdog);
    }
    if (!ended) await sleep(250, undefined, { signal: stop }).catch(() => undefined);
  }
  take(reader.end());
}
