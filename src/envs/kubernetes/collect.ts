import { sumErrors } from '../../drivers/driver.js';
import { MeshbenchError } from '../../errors.js';
import { createLatencyHistogram, encodeHistogram } from '../../histograms/index.js';
import type { LoopResult } from '../../load/loop.js';
import { mergeResults } from '../../load/pool.js';
import type { LoadResult, LoadSpec } from '../../load/types.js';
import type { KubeItem } from './client.js';
import type { GeneratorOutput } from './generator.js';
import { COMPLETION_INDEX_ANNOTATION } from './manifests.js';

/**
 * Collecting a round: the generator pods' outputs (one per completion index) merged into one LoadResult with
 * the same exact merge the worker pool uses (histograms added bucket by bucket, counts summed, intervals
 * merged by index). Each pod's LoadResult lacks the pool's late/sent counts; for a finished round every
 * measured send ended in a response or an error, so sent = count + errors and late = lateShare × sent.
 */

type LoadOutput = Extract<GeneratorOutput, { kind: 'load' }>;

function asLoopResult(r: LoadResult): LoopResult {
  const sentCount = r.count + sumErrors(r.errors);
  const { protocol: _p, target: _t, model: _m, hiccupHistogram: _h, ...rest } = r;
  // A generator image older than the lag histogram reports none: an empty one, not a crash.
  const lagHistogram = typeof r.lagHistogram === 'string' ? r.lagHistogram : encodeHistogram(createLatencyHistogram());
  return { ...rest, lagHistogram, sentCount, lateCount: Math.round(r.lateShare * sentCount) };
}

/** Merges the outputs of shards 0…shards−1 (each exactly once) for `spec`; MB_LOAD_FAILED names what is missing. */
export function mergeOutputs(spec: LoadSpec, outputs: readonly GeneratorOutput[], shards: number): LoadResult {
  const byIndex = new Map<number, LoadOutput>();
  for (const o of outputs) {
    if (o.kind !== 'load') throw new MeshbenchError('MB_LOAD_FAILED', `generator ${o.index} printed a ${o.kind} result, not a load result`);
    if (byIndex.has(o.index)) throw new MeshbenchError('MB_LOAD_FAILED', `two generator pods reported completion index ${o.index}`);
    if (o.result.protocol !== spec.protocol) throw new MeshbenchError('MB_LOAD_FAILED', `generator ${o.index} ran ${o.result.protocol}, expected ${spec.protocol}`);
    byIndex.set(o.index, o);
  }
  const missing = Array.from({ length: shards }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0 || byIndex.size !== shards) {
    throw new MeshbenchError('MB_LOAD_FAILED', `results of generator(s) ${missing.join(', ') || '?'} of ${shards} are missing`);
  }
  const sorted = [...byIndex.values()].sort((a, b) => a.index - b.index);
  // A generator image older than the hiccup meter reports none.
  const hiccups = sorted.flatMap((o) => (typeof o.result.hiccupHistogram === 'string' ? [o.result.hiccupHistogram] : []));
  return mergeResults(spec, sorted.map((o) => asLoopResult(o.result)), hiccups);
}

/** A pod's completion index (Indexed Jobs annotate it), or undefined. */
export function completionIndexOf(pod: KubeItem): number | undefined {
  const raw = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) ? n : undefined;
}

/** One line per pod that is not fine: phase and each container's waiting/terminated reason. */
export function explainPods(pods: KubeItem[]): string {
  if (pods.length === 0) return 'no pods were created (check the namespace events: quota, admission webhooks, image pull secrets)';
  return pods
    .map((p) => {
      const states = (p.status?.containerStatuses ?? []).map((c) => {
        const waiting = c.state?.waiting;
        const terminated = c.state?.terminated;
        if (waiting !== undefined) return `${c.name}: ${waiting.reason ?? 'waiting'}${waiting.message === undefined ? '' : ` (${waiting.message})`}`;
        if (terminated !== undefined) return `${c.name}: ${terminated.reason ?? 'terminated'} (exit ${terminated.exitCode ?? '?'})`;
        return `${c.name}: ${c.ready === true ? 'ready' : 'not ready'}${(c.restartCount ?? 0) > 0 ? `, ${c.restartCount ?? 0} restarts` : ''}`;
      });
      return `pod ${p.metadata?.name ?? '?'}: ${p.status?.phase ?? 'unknown'}${states.length > 0 ? `; ${states.join('; ')}` : ''}`;
    })
    .join(' | ');
}

/** Waiting reasons that do not clear up by themselves: fail at once with them instead of after readyTimeoutS. */
const STUCK_REASONS: ReadonlySet<string> = new Set(['CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName', 'ImagePullBackOff', 'ErrImageNeverPull', 'CrashLoopBackOff']);

/**
 * What keeps pods from ever running, as soon as the API shows it: a pod the scheduler cannot place (with the
 * scheduler's message: resources, affinity), or a container stuck on its image or configuration. undefined: nothing.
 */
export function podTrouble(pods: readonly KubeItem[]): string | undefined {
  for (const p of pods) {
    const name = p.metadata?.name ?? '?';
    const unschedulable = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
    if (unschedulable !== undefined) return `pod ${name} cannot be scheduled: ${unschedulable.message ?? 'no node fits'}`;
    for (const c of p.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      if (waiting?.reason !== undefined && STUCK_REASONS.has(waiting.reason)) return `pod ${name}: ${c.name} ${waiting.reason}${waiting.message === undefined ? '' : ` (${waiting.message})`}`;
    }
  }
  return undefined;
}

/**
 * A Deployment whose ReplicaSet cannot create pods (PodSecurity admission, quota, a webhook) says so in its
 * ReplicaFailure condition; the pods never exist, so nothing else would show it.
 */
export function deploymentFailure(d: KubeItem | undefined): string | undefined {
  const c = d?.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  return c === undefined ? undefined : `${c.reason ?? 'ReplicaFailure'}: ${c.message ?? 'the ReplicaSet cannot create pods'}`;
}
