import { randomInt } from 'node:crypto';
import type { DrillEvent, KubernetesEnvConfig } from '../../config/schema.js';
import { errorMessage, interrupted, MeshbenchError } from '../../errors.js';
import { mergeResults, type LoadProgress } from '../../load/pool.js';
import type { LoadResult, LoadSpec } from '../../load/types.js';
import type { Protocol, VariantName } from '../../protocols.js';
import type { ProofRecord } from '../../result.js';
import type { DrillOutcome, RunningEnv, VariantTargets } from '../env.js';
import { inclusterBundle } from './bundle.js';
import { httpStatusOf, Kube, type KubeItem } from './client.js';
import { completionIndexOf, deploymentFailure, explainPods, mergeOutputs, podTrouble } from './collect.js';
import { ProxyMeter } from './cost.js';
import { parseOutputLog, type GeneratorJob, type GeneratorOutput, type PodSelf } from './generator.js';
import {
  COMPONENT_LABEL,
  ECHO_NAME,
  GENERATOR_CONTAINER,
  JOB_LABEL,
  RUN_LABEL,
  START_AT_ANNOTATION,
  isOurs,
  profileOf,
  renderGeneratorJob,
  renderEchoDeployment,
  renderPair,
  selectorOf,
  targetsOf,
  variantsOf,
  hasSidecar,
  type K8sPlan,
  type VariantPlan,
} from './manifests.js';
import { meshedExpectation } from './meshes.js';
import { PlacementLog } from './placement.js';
import { streamPilotLoad } from './pilot-stream.js';
import { checkPods, newTraceHeaders, proofRecord } from './prove.js';

/**
 * The kubernetes environment: two namespaces per run, `meshbench-<run>-unmeshed` and `-meshed` (the mesh's own
 * switch on the latter, an explicit opt-out on the former), each with the echo Deployment + Service; the
 * generators run per round as an Indexed Job inside the same namespace, so the meshed client has its own
 * sidecar. Start: preflight (kubeconfig, API server, metrics API) → server-side apply → watch until the echo
 * is ready. Then prove() runs a probe Job per namespace, runLoad() a generator Job per round (results read
 * from the pods' logs, merged exactly), and close() deletes the run's namespaces — selected by the run's label,
 * never anything unlabelled — on every path: success, failure, abort.
 */

export interface KubernetesEnvOptions {
  /** Test hook: the client to use instead of one built from env.kubeconfig / env.context. */
  kube?: Kube;
  runId?: string;
  /** How often proxy metrics are polled while a round runs (metrics-server refreshes every ~15 s). */
  metricsIntervalMs?: number;
}

const JOB_SLACK_MS = 60_000;
const RUN_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Six characters, DNS-safe, starting with a letter. */
export function newRunId(): string {
  let id = RUN_ID_ALPHABET[randomInt(26)] ?? 'm';
  for (let i = 0; i < 5; i++) id += RUN_ID_ALPHABET[randomInt(RUN_ID_ALPHABET.length)] ?? '0';
  return id;
}

/**
 * Deletes every namespace labelled with the run (or, without a run id, every meshbench namespace), except
 * `spare`: names that turned out to belong to someone else (a 409 when creating them).
 */
export async function deleteByLabel(kube: Kube, runId?: string, spare: ReadonlySet<string> = new Set()): Promise<string[]> {
  const { items } = await kube.list('Namespace', undefined, selectorOf(runId));
  const deleted: string[] = [];
  for (const ns of items) {
    const name = ns.metadata?.name;
    if (name === undefined || spare.has(name) || !isOurs(ns.metadata?.labels, runId)) continue; // the selector did; check anyway
    if (await kube.delete('Namespace', name)) deleted.push(name);
  }
  return deleted;
}

/**
 * Bring-your-own namespaces: deletes the run's labelled objects in them (Jobs and Deployments take their pods
 * along), never the namespaces, never anything without the run's label.
 */
export async function deleteRunObjects(kube: Kube, namespaces: readonly string[], runId: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const namespace of namespaces) {
    for (const kind of ['Job', 'Deployment', 'Service', 'ConfigMap'] as const) {
      for (const item of (await kube.list(kind, namespace, selectorOf(runId))).items) {
        const name = item.metadata?.name;
        if (name !== undefined && isOurs(item.metadata?.labels, runId) && (await kube.delete(kind, name, namespace))) deleted.push(`${kind} ${namespace}/${name}`);
      }
    }
  }
  return deleted;
}

export async function startKubernetesEnv(
  config: KubernetesEnvConfig,
  protocols: readonly Protocol[],
  signal?: AbortSignal,
  options: KubernetesEnvOptions = {},
): Promise<RunningEnv> {
  const kube = options.kube ?? Kube.connect(config);
  const runId = options.runId ?? newRunId();
  const serverVersion = await kube.version();
  const profile = profileOf({ runId, env: config });
  const meter = new ProxyMeter(kube, profile, runId, config.fleetPods, options.metricsIntervalMs ?? 5000);
  const metering = config.proxyMetrics && meter.measures;
  // fails fast, before anything exists, without metrics-server (in a namespace the run may read)
  if (metering) await kube.podMetrics(config.namespaces?.unmeshed ?? 'kube-system');
  const code = config.image === undefined ? await inclusterBundle() : undefined;
  const plan: K8sPlan = code === undefined ? { runId, env: config } : { runId, env: config, code };
  const variants = variantsOf(plan);

  const own = config.namespaces;
  const cleanup = own === undefined ? `meshbench k8s cleanup --run ${runId}` : `kubectl delete jobs,deployments,services,configmaps -l ${RUN_LABEL}=${runId} -n <namespace>`;
  const facts: Record<string, unknown> = {
    context: kube.context,
    server: kube.server,
    serverVersion,
    runId,
    cleanup,
    mesh: config.mesh,
    ...(config.istioRevision === undefined ? {} : { istioRevision: config.istioRevision }),
    namespaces: Object.fromEntries(variants.map((v) => [v.variant, v.namespace])),
    image: config.image ?? `${config.nodeImage} + meshbench from ConfigMap (${Math.round((code?.bytes ?? 0) / 1024)} KiB)`,
    replicas: config.replicas,
    generators: config.generators,
    sidecarResources: config.sidecarResources ?? 'mesh defaults',
  };
  const placement = new PlacementLog(config.nodePlacement, variants.map((v) => v.variant));
  /** Records where the pods ran; refuses an asymmetric placement unless the rule is `any`. */
  const checkPlacement = (): void => {
    const record = placement.record();
    facts['placement'] = record;
    if (config.nodePlacement !== 'any' && !record.symmetric) {
      throw new MeshbenchError('MB_ENV_FAILED', `the variants are not placed alike (env.nodePlacement ${config.nodePlacement}): ${record.problems.join('; ')}`);
    }
  };
  let closing: Promise<void> | undefined;
  const foreign = new Set<string>();
  const close = (): Promise<void> =>
    (closing ??= (own === undefined ? deleteByLabel(kube, runId, foreign) : deleteRunObjects(kube, variants.map((v) => v.namespace), runId)).then(
      () => undefined,
      (err: unknown) => {
        const where = own === undefined ? '' : ` for ${variants.map((v) => v.namespace).join(' and ')}`;
        throw new MeshbenchError('MB_ENV_FAILED', `could not delete the run's objects (${errorMessage(err)}): run  ${cleanup}${where}`, { cause: err });
      },
    ));

  try {
    for (const obj of renderPair(plan)) {
      if (signal?.aborted === true) throw interrupted('applying the kubernetes objects');
      if (obj.kind !== 'Namespace') await kube.apply(obj);
      else await kube.create(obj).catch((err: unknown) => {
        if (httpStatusOf((err as { cause?: unknown }).cause) === 409) foreign.add(obj.metadata?.name ?? '');
        throw err;
      });
    }
    await Promise.all(variants.map((v) => waitEchoReady(kube, plan, v, signal)));
    for (const v of variants) placement.echo(v.variant, (await kube.list('Pod', v.namespace, `${selectorOf(runId)},${COMPONENT_LABEL}=echo`)).items);
    checkPlacement();
    if (metering) await meter.readIdle();
  } catch (err) {
    await close().catch(() => undefined);
    throw signal?.aborted === true ? interrupted('starting the kubernetes environment') : err;
  }

  const targets: VariantTargets[] = variants.map((v) => {
    const all = targetsOf(plan, v);
    const t: Partial<Record<Protocol, string>> = {};
    for (const p of protocols) t[p] = all[p];
    return { name: v.variant, targets: t, expect: v.meshed ? meshedExpectation(profile, config.sidecars) : { kind: 'none' } };
  });
  const variantOf = (name: VariantName): VariantPlan => {
    const v = variants.find((x) => x.variant === name);
    if (v === undefined) throw new MeshbenchError('MB_ENV_FAILED', `the kubernetes env has no variant "${name}"`);
    return v;
  };
  /** What every Job of a variant adds: the proxy's shutdown URL, and (ambient) the capture annotation to report. */
  const jobExtras = (v: VariantPlan): { shutdownUrl?: string; awaitAnnotation?: string } => ({
    ...(hasSidecar(plan, v, 'generator') && profile.shutdownUrl !== undefined ? { shutdownUrl: profile.shutdownUrl } : {}),
    ...(v.meshed && profile.podMarker !== undefined ? { awaitAnnotation: profile.podMarker.annotation } : {}),
  });
  let jobSeq = 0;
  let maxStartLagMs = 0;
  const readyTimeoutMs = config.readyTimeoutS * 1000;

  const prove = async (protos: readonly Protocol[], abort: AbortSignal | undefined): Promise<ProofRecord[]> => {
    const perVariant = await Promise.all(
      variants.map(async (v) => {
        const sent = protos.map((protocol) => ({ protocol, trace: newTraceHeaders() }));
        const all = targetsOf(plan, v);
        const job: GeneratorJob = {
          kind: 'probe',
          probes: sent.map((s) => ({ protocol: s.protocol, target: all[s.protocol], headers: { ...s.trace.headers } })),
          readyTimeoutMs,
          ...jobExtras(v),
        };
        const { outputs, pods: jobPods } = await runJob(kube, plan, v, `probe-${++jobSeq}`, job, 1, readyTimeoutMs + JOB_SLACK_MS, abort);
        placement.generators(v.variant, outputs, jobPods);
        const pods = (await kube.list('Pod', v.namespace, selectorOf(runId))).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
        // Ambient capture is checked on running pods only (the CNI agent removes the annotation from a terminated
        // pod), the probe's own capture as it reported it while running.
        const selves = outputs.flatMap((o) => (o.self === undefined ? [] : [selfAsPod(o.self)]));
        const podCheck = checkPods(profile, v.meshed, v.meshed && profile.podMarker !== undefined ? [...pods.filter(running), ...selves] : pods, config.sidecars);
        const outcomes = outputs[0]?.kind === 'probe' ? outputs[0].results : [];
        return sent.map((s) => {
          const outcome = outcomes.find((o) => o.protocol === s.protocol) ?? { protocol: s.protocol, target: all[s.protocol], error: 'the probe reported nothing for this protocol' };
          return proofRecord({ variant: v.variant, meshed: v.meshed, expect: v.meshed ? meshedExpectation(profile, config.sidecars) : { kind: 'none' }, profile, outcome, sent: s.trace, pods: podCheck, traceCheck: config.traceCheck });
        });
      }),
    );
    const records = perVariant.flat();
    checkPlacement();
    if (config.nodePlacement !== 'any') plan.generatorNode = placement.generatorNode();
    facts['traceContext'] = config.traceCheck ? 'traceparent and b3 trace ids checked through the meshed path' : 'not checked (env.traceCheck: false)';
    const failed = records.filter((r) => !r.ok);
    if (failed.length > 0) {
      const problems = failed.map((r) => `${r.variant}/${r.protocol}: ${r.detail}`);
      throw new MeshbenchError('MB_MESH_UNPROVEN', `could not prove ${failed.length} path(s) — ${problems.join(' | ')}`, { problems });
    }
    return records;
  };

  const runLoad = async (variant: VariantName, spec: LoadSpec, abort: AbortSignal | undefined, onProgress?: (p: LoadProgress) => void): Promise<LoadResult> => {
    const v = variantOf(variant);
    const job: GeneratorJob = {
      kind: 'load',
      spec,
      shards: config.generators,
      startAnnotation: START_AT_ANNOTATION,
      readyTimeoutMs,
      ...jobExtras(v),
    };
    const name = `load-${spec.protocol}-${++jobSeq}`;
    const spanMs = spec.warmupMs + spec.durationMs;
    let round: ReturnType<ProxyMeter['startRound']> | undefined;
    try {
      const timeoutMs = readyTimeoutMs + config.startLeadS * 1000 + spanMs + spec.timeoutMs + JOB_SLACK_MS;
      const { outputs, pods } = await runJob(kube, plan, v, name, job, config.generators, timeoutMs, abort, async () => {
        const startAtMs = await startBarrier(kube, plan, v, name, config.generators, abort);
        if (startAtMs === undefined) return;
        if (metering) round = meter.startRound(v, startAtMs);
        // anchors a drill's clock (src/drills/schedule.ts) on the published start: its warm-up begins in this many ms
        onProgress?.({ elapsedMs: Date.now() - startAtMs, count: 0, rateHz: 0, p99Us: 0 });
      });
      placement.generators(v.variant, outputs, pods);
      checkPlacement();
      if (v.meshed && profile.podMarker !== undefined) {
        const uncaptured = checkPods(profile, true, outputs.flatMap((o) => (o.self === undefined ? [] : [selfAsPod(o.self)])));
        if (!uncaptured.ok) throw new MeshbenchError('MB_MESH_UNPROVEN', `the meshed generators of ${job.spec.protocol} were not captured: ${uncaptured.detail}`);
      }
      const startLagsMs = outputs.map((o) => (o.kind === 'load' ? o.startLagMs : 0));
      maxStartLagMs = Math.max(maxStartLagMs, ...startLagsMs);
      facts['generatorMaxStartLagMs'] = maxStartLagMs;
      return { ...mergeOutputs(spec, outputs, config.generators), generatorStartLagsMs: startLagsMs };
    } catch (err) {
      if (abort?.aborted === true) return mergeResults(spec, []); // a cut-short round is dropped by the pipeline
      throw err;
    } finally {
      if (round !== undefined) {
        await round.stop(spanMs);
        facts['sidecarCost'] = meter.facts();
      }
    }
  };

  // A pilot meters its proxies window by window: each window handed over closes a metering round of every variant.
  let metered: Promise<void> = Promise.resolve();
  const runPilotLoad: NonNullable<RunningEnv['runPilotLoad']> = async (load, abort, onWindow) => {
    let fromMs = load.gridStartMs;
    const rounds = new Map(variants.map((v) => [v, metering ? meter.startRound(v, fromMs) : undefined]));
    const closeRounds = (nowMs: number, again: boolean): void => {
      const spanMs = Math.max(0, nowMs - fromMs);
      fromMs = nowMs;
      const stopping = [...rounds].map(([v, r]) => {
        rounds.set(v, again && metering ? meter.startRound(v, nowMs) : undefined);
        return r?.stop(spanMs);
      });
      metered = metered.then(() => Promise.all(stopping)).then(() => {
        if (metering) facts['sidecarCost'] = meter.facts();
      });
    };
    try {
      await streamPilotLoad(kube, plan, variants, load, abort, (w) => {
        closeRounds(Date.now(), true);
        onWindow(w);
      });
    } finally {
      closeRounds(Date.now(), false);
      await metered.catch(() => undefined);
    }
  };

  /**
   * A drill's restart-sidecars: `kubectl rollout restart` of the meshed echo Deployment — the full manifest applied
   * again with a new restartedAt pod annotation (a partial apply would drop the fields meshbench manages), so every
   * pod and its sidecar are replaced as the Deployment's rolling update allows. Over when the rollout is complete.
   */
  const drill = async (event: DrillEvent, abort: AbortSignal | undefined): Promise<DrillOutcome> => {
    const startedAtMs = Date.now();
    const v = variants.find((x) => x.meshed);
    if (event.action !== 'restart-sidecars' || v === undefined) {
      throw new MeshbenchError('MB_ENV_FAILED', `the kubernetes environment can restart-sidecars of a meshed variant only, not ${event.action}`);
    }
    const restartedAt = new Date(startedAtMs).toISOString();
    await kube.apply(renderEchoDeployment(plan, v, restartedAt));
    await waitEchoReady(kube, plan, v, abort, true);
    return {
      startedAtMs, finishedAtMs: Date.now(),
      detail: `rollout restart of ${v.namespace}/${ECHO_NAME} (every pod and its sidecar replaced by the Deployment's rolling update)`,
      facts: { namespace: v.namespace, deployment: ECHO_NAME, restartedAt },
    };
  };

  return {
    kind: 'kubernetes',
    facts,
    variants: targets,
    prove,
    runLoad,
    runPilotLoad,
    drill,
    loadStartLeadMs: config.startLeadS * 1000,
    sampleProxies: (variant) => metered.then(() => meter.sample(variant)),
    close,
  };
}

const running = (p: KubeItem): boolean => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** A generator's report of itself, in the shape checkPods reads (its annotations as it saw them while running). */
function selfAsPod(self: PodSelf): KubeItem {
  const annotations: Record<string, string> = {};
  for (const [k, value] of Object.entries(self.annotations)) if (value !== null) annotations[k] = value;
  return { metadata: { name: `${self.name} (as it reported itself)`, annotations }, status: { phase: 'Running' } };
}

/**
 * Runs `main` while watching the pods it waits for: the first pod that cannot be scheduled or is stuck on its
 * image or configuration (podTrouble) fails it at once, naming the reason, instead of a timeout minutes later.
 */
async function failFast<T>(kube: Kube, plan: K8sPlan, namespace: string, labelSelector: string, what: string, signal: AbortSignal | undefined, main: Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const trouble = kube
    .waitFor({ kind: 'Pod', namespace, labelSelector, what, timeoutMs: 24 * 3600_000, signal: stop.signal, check: podTrouble, onTimeout: () => Promise.resolve(interrupted(what)) })
    .then((message): never => {
      const hint = / cannot be scheduled: /.test(message) && plan.env.nodePlacement !== 'any' ? ` — env.nodePlacement ${plan.env.nodePlacement} places pods by rule (README "Placement"): ${plan.env.nodePlacement === 'spread' ? 'it needs two nodes with room; on a single-node cluster set nodePlacement: one-node' : 'the one node must have room for every pod'}` : '';
      throw new MeshbenchError('MB_ENV_FAILED', `${what}: ${message}${hint}`);
    });
  trouble.catch(() => undefined); // settles after the race when main wins
  try {
    return await Promise.race([main, trouble]);
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Until the echo is ready; `rollout`: until a rollout is complete too (every replica updated and available, no old one left). */
async function waitEchoReady(kube: Kube, plan: K8sPlan, v: VariantPlan, signal: AbortSignal | undefined, rollout = false): Promise<void> {
  const what = `waiting for the echo in ${v.namespace}`;
  const timeoutMs = plan.env.readyTimeoutS * 1000;
  const ready = kube.waitFor({
    kind: 'Deployment',
    namespace: v.namespace,
    fieldSelector: `metadata.name=${ECHO_NAME}`,
    what,
    timeoutMs,
    signal,
    check: (items) => {
      const d = items[0] as (KubeItem & { metadata?: { generation?: number }; status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number } }) | undefined;
      const failure = deploymentFailure(d);
      if (failure !== undefined) return { failure };
      const want = d?.spec?.replicas ?? plan.env.replicas;
      const fresh = (d?.status?.observedGeneration ?? 0) >= (d?.metadata?.generation ?? 0);
      const rolled = !rollout || ((d?.status?.updatedReplicas ?? 0) >= want && (d?.status?.availableReplicas ?? 0) >= want && (d?.status?.replicas ?? 0) <= want);
      return d !== undefined && fresh && rolled && (d.status?.readyReplicas ?? 0) >= want ? { failure: undefined } : undefined;
    },
    onTimeout: async () => {
      const pods = await kube.list('Pod', v.namespace, selectorOf(plan.runId)).catch(() => ({ items: [] }));
      return new MeshbenchError('MB_ENV_FAILED', `the echo in ${v.namespace} was not ready after ${plan.env.readyTimeoutS} s (env.readyTimeoutS): ${explainPods(pods.items)}`);
    },
  });
  const { failure } = await failFast(kube, plan, v.namespace, `${selectorOf(plan.runId)},${COMPONENT_LABEL}=echo`, what, signal, ready);
  if (failure !== undefined) {
    throw new MeshbenchError('MB_ENV_FAILED', `the echo in ${v.namespace} cannot start: ${failure}${/PodSecurity/.test(failure) ? ' — see README "Kubernetes": sidecar meshes on restricted namespaces need istio-cni or linkerd-cni' : ''}`);
  }
}

const podReady = (p: KubeItem): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * The start barrier of a load Job: waits (up to env.readyTimeoutS) until all `pods` generator pods are Ready — a
 * generator reports ready once its target answers through its own sidecar (readiness.ts), and with a sidecar the
 * pod is Ready only when the proxy is too — then publishes the start, now + env.startLeadS, as an annotation on
 * every pod, which each pod reads from its downward API file and waits for (generator.ts).
 * Why pod annotations and not a ConfigMap the pods mount: the kubelet rewrites a pod's downward API files as part
 * of syncing the pod, which a change to the pod itself triggers at once, while a mounted ConfigMap is refreshed only
 * by the kubelet's periodic sync (up to a minute plus its cache's TTL); watching a ConfigMap instead would need an
 * API token in every generator pod, which they do not mount. The lead must cover the patch calls and that rewrite.
 * Returns the start (epoch ms), or undefined when a pod ended before it (the Job's failure then says why).
 */
async function startBarrier(kube: Kube, plan: K8sPlan, v: VariantPlan, name: string, pods: number, signal: AbortSignal | undefined): Promise<number | undefined> {
  const selector = `${JOB_LABEL}=${name}`;
  const ready = await kube.waitFor({
    kind: 'Pod',
    namespace: v.namespace,
    labelSelector: selector,
    what: `waiting for the generators of ${v.namespace}/${name} to be ready`,
    timeoutMs: plan.env.readyTimeoutS * 1000,
    signal,
    check: (items) => {
      const live = items.filter((p) => p.metadata?.deletionTimestamp === undefined);
      if (live.some((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) return [];
      const readyPods = live.filter(podReady);
      return readyPods.length >= pods ? readyPods : undefined;
    },
    onTimeout: async () => {
      const items = (await kube.list('Pod', v.namespace, selector).catch(() => ({ items: [] }))).items;
      const waiting = items.filter((p) => !podReady(p)).map((p) => p.metadata?.name ?? '?');
      return new MeshbenchError(
        'MB_ENV_FAILED',
        `the generator pods of ${v.namespace}/${name} were not all ready after ${plan.env.readyTimeoutS} s (env.readyTimeoutS): ${items.length - waiting.length} of ${pods} ready` +
          `${waiting.length > 0 ? `, not ready: ${waiting.join(', ')}` : ''} — a generator is ready once its target answers through its sidecar and the sidecar is ready; ${explainPods(items)}`,
      );
    },
  });
  if (ready.length === 0) return undefined;
  const startAtMs = Date.now() + plan.env.startLeadS * 1000;
  await Promise.all(ready.map((p) => kube.annotate('Pod', p.metadata?.name ?? '', v.namespace, { [START_AT_ANNOTATION]: String(startAtMs) })));
  return startAtMs;
}

/**
 * Runs one Indexed Job of `pods` pods to completion and returns each pod's output (by completion index);
 * `barrier` (a load Job's startBarrier) runs once the Job is created. The Job is deleted afterwards unless the run
 * was aborted (close() deletes the whole namespace then).
 */
async function runJob(
  kube: Kube, plan: K8sPlan, v: VariantPlan, name: string, job: GeneratorJob, pods: number, timeoutMs: number, signal: AbortSignal | undefined,
  barrier?: () => Promise<void>,
): Promise<{ outputs: GeneratorOutput[]; pods: KubeItem[] }> {
  await kube.apply(renderGeneratorJob(plan, v, name, job, timeoutMs / 1000));
  const podsOf = async (): Promise<KubeItem[]> => (await kube.list('Pod', v.namespace, `${JOB_LABEL}=${name}`)).items;
  try {
    const finished = (barrier?.() ?? Promise.resolve()).then(() => kube.waitFor({
      kind: 'Job',
      namespace: v.namespace,
      fieldSelector: `metadata.name=${name}`,
      what: `running job ${v.namespace}/${name}`,
      timeoutMs,
      signal,
      check: (items) => {
        const conditions = items[0]?.status?.conditions ?? [];
        if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'complete' as const;
        if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed' as const;
        return undefined;
      },
      onTimeout: async () => new MeshbenchError('MB_LOAD_FAILED', `job ${v.namespace}/${name} did not finish in ${Math.round(timeoutMs / 1000)} s: ${explainPods(await podsOf().catch(() => []))}`),
    }));
    const outcome = await failFast(kube, plan, v.namespace, `${JOB_LABEL}=${name}`, `running job ${v.namespace}/${name}`, signal, finished);
    const items = await podsOf();
    if (outcome === 'failed') {
      const tails = await Promise.all(items.filter((p) => p.status?.phase === 'Failed').map(async (p) => `${p.metadata?.name ?? '?'}: ${(await kube.logs(v.namespace, p.metadata?.name ?? '', GENERATOR_CONTAINER).catch(() => '')).trim().split('\n').slice(-3).join(' / ')}`));
      throw new MeshbenchError('MB_LOAD_FAILED', `job ${v.namespace}/${name} failed: ${explainPods(items)}${tails.length > 0 ? ` — logs: ${tails.join(' | ')}` : ''}`);
    }
    const outputs: GeneratorOutput[] = [];
    for (let index = 0; index < pods; index++) {
      const pod = items.find((p) => completionIndexOf(p) === index && p.status?.phase === 'Succeeded');
      if (pod?.metadata?.name === undefined) throw new MeshbenchError('MB_LOAD_FAILED', `job ${v.namespace}/${name}: no succeeded pod for completion index ${index}`);
      outputs.push(parseOutputLog(await kube.logs(v.namespace, pod.metadata.name, GENERATOR_CONTAINER), pod.metadata.name));
    }
    return { outputs, pods: items };
  } finally {
    if (signal?.aborted !== true) await kube.delete('Job', name, v.namespace).catch(() => false);
  }
}
