import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProbeResult } from '../../drivers/driver.js';
import { drivers } from '../../drivers/index.js';
import { errorMessage, MeshbenchError } from '../../errors.js';
import { runLoad } from '../../load/pool.js';
import { shareOf } from '../../load/schedule.js';
import type { LoadResult, LoadSpec } from '../../load/types.js';
import { PROTOCOLS, type Protocol } from '../../protocols.js';
import { chunkLines, readChunkedLog } from './chunks.js';
import { runPilotGenerator, type PilotGeneratorJob } from './pilot-generator.js';
import { serveReadiness } from './readiness.js';

/**
 * What runs inside a generator pod (`meshbench k8s generate --job <json>`): one pod of an Indexed Job, which
 * reads its share from JOB_COMPLETION_INDEX, waits until the echo answers through its own sidecar, starts at
 * the common instant, drives the load with the same generator as everywhere else, and prints its output as one
 * chunked record (chunks.ts: bounded lines, never one giant line) that the environment reads back from the pod's
 * log and merges exactly.
 * A probe job instead sends one request per protocol with trace headers and prints what the echo reflected.
 *
 * This module must not import @kubernetes/client-node: it is bundled into the in-cluster code.
 */

export interface ProbeRequest {
  protocol: Protocol;
  target: string;
  headers: Record<string, string>;
}

/** What a pod knows of itself through the downward API (env POD_NAME, NODE_NAME; its annotations as a file). */
export interface PodSelfSource {
  name: string;
  nodeName: string;
  annotations(): Promise<Record<string, string>>;
  /** Reports the pod ready to start (a start barrier's job): its readiness endpoint turns 200 (readiness.ts). */
  ready?(): void;
}

/** A pod's report of itself: where it ran and, if the job asked, the value of one of its annotations (null: absent). */
export interface PodSelf {
  name: string;
  nodeName: string;
  annotations: Record<string, string | null>;
}

/** Where the generator pods mount their own metadata (manifests.ts renders the downwardAPI volume). */
export const PODINFO_MOUNT = '/etc/meshbench-pod';

/**
 * Reads the downward API's annotations file: one `key="value"` line each, the value quoted as Go's %q (JSON's
 * escapes for what Kubernetes annotations hold).
 */
export function parseAnnotationsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^=]+)=(".*")$/.exec(line.trim());
    if (m?.[1] === undefined || m[2] === undefined) continue;
    try {
      out[m[1]] = JSON.parse(m[2]) as string;
    } catch {
      out[m[1]] = m[2].slice(1, -1);
    }
  }
  return out;
}

/** The pod's own view as the manifests give it: env from the downward API, annotations from its volume. */
export function downwardSelf(env: NodeJS.ProcessEnv = process.env): PodSelfSource {
  return {
    name: env['POD_NAME'] ?? '',
    nodeName: env['NODE_NAME'] ?? '',
    annotations: async () => parseAnnotationsFile(await readFile(`${PODINFO_MOUNT}/annotations`, 'utf8').catch(() => '')),
  };
}

export type GeneratorJob =
  | {
      kind: 'load';
      /** The whole round's spec; each pod takes shard `index` of `shards`. */
      spec: LoadSpec;
      shards: number;
      /**
       * The start barrier: the pod reports ready (PodSelfSource.ready) once its target answers and its capture is
       * seen, then starts its load (warm-up first) at the epoch ms meshbench writes into this annotation of the pod
       * once every pod of the Job is Ready. Absent: at once (a rendered Job run by hand).
       */
      startAnnotation?: string;
      readyTimeoutMs: number;
      shutdownUrl?: string;
      /** Report this annotation of the pod, waiting (up to readyTimeoutMs) until the mesh sets it (ambient capture). */
      awaitAnnotation?: string;
    }
  | { kind: 'probe'; probes: ProbeRequest[]; readyTimeoutMs: number; shutdownUrl?: string; awaitAnnotation?: string }
  | PilotGeneratorJob;

export type ProbeOutcome =
  | { protocol: Protocol; target: string; status: number | string; headers: Record<string, string> }
  | { protocol: Protocol; target: string; error: string };

export type GeneratorOutput =
  | {
      kind: 'load'; index: number; shards: number; result: LoadResult;
      /** With a start barrier: the published start (epoch ms) and how late this pod's load began after it (≥ 0); else 0. */
      startAtMs?: number; startLagMs: number;
      nodeVersion: string; self?: PodSelf;
    }
  | { kind: 'probe'; index: number; results: ProbeOutcome[]; nodeVersion: string; self?: PodSelf };

const ERROR_PREFIX = 'meshbench-error ';
const PROBE_TIMEOUT_MS = 5000;
const RETRY_MS = 500;
/** How often a pod at the barrier reads its annotations file (a small local file; only before the load). */
const START_POLL_MS = 50;
/** meshbench publishes the start once every pod is Ready, at most its ready timeout after creating the Job (≤ this pod's own deadline), plus its patch calls. */
const PUBLISH_SLACK_MS = 60_000;

/** Shard `index` of `shards` of a load spec: connections, workers and request cap split, rate divided. */
export function shardSpec(spec: LoadSpec, shards: number, index: number): LoadSpec {
  const connections = shareOf(spec.connections, shards, index);
  return {
    ...spec,
    connections,
    rateHz: spec.model === 'open' ? spec.rateHz / shards : 0,
    workers: Math.max(1, Math.min(shareOf(spec.workers, shards, index), connections)),
    maxRequests: spec.maxRequests > 0 ? shareOf(spec.maxRequests, shards, index) : 0,
  };
}

/** Probes until the target answers at all (DNS, the sidecar and the echo are up) or the deadline passes. */
async function probeWhenReachable(request: ProbeRequest, payloadBytes: number, deadlineMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  for (;;) {
    try {
      return await drivers[request.protocol].probe({ target: request.target, payloadBytes, headers: request.headers }, PROBE_TIMEOUT_MS);
    } catch (err) {
      if (Date.now() + RETRY_MS > deadlineMs) {
        throw new MeshbenchError('MB_UNREACHABLE_TARGET', `${request.target} (${request.protocol}) did not answer from the generator pod: ${errorMessage(err)}`);
      }
      await sleep(RETRY_MS, undefined, { signal });
    }
  }
}

export function completionIndex(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['JOB_COMPLETION_INDEX'] ?? '0';
  const index = Number(raw);
  if (!Number.isInteger(index) || index < 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `JOB_COMPLETION_INDEX="${raw}" is not a completion index`);
  return index;
}

/**
 * The pod's report of itself, read while it runs (the mesh may remove what it set once the pod terminates:
 * Istio's CNI agent deletes ambient.istio.io/redirection then). Waits for `awaitAnnotation` until the deadline:
 * the kubelet refreshes the downward API file a while after the annotation is set.
 */
async function reportSelf(source: PodSelfSource, awaitAnnotation: string | undefined, deadlineMs: number, signal?: AbortSignal): Promise<PodSelf> {
  const self: PodSelf = { name: source.name, nodeName: source.nodeName, annotations: {} };
  if (awaitAnnotation === undefined) return self;
  for (;;) {
    const value = (await source.annotations())[awaitAnnotation];
    if (value !== undefined || Date.now() + RETRY_MS > deadlineMs) return { ...self, annotations: { [awaitAnnotation]: value ?? null } };
    await sleep(RETRY_MS, undefined, { signal });
  }
}

/**
 * Waits at the barrier until the start time appears in the pod's annotation (the kubelet rewrites the downward API
 * file after meshbench patched the pod), up to the deadline: MB_LOAD_FAILED then, as meshbench never published it.
 */
async function awaitStartAtMs(source: PodSelfSource, annotation: string, deadlineMs: number, signal?: AbortSignal): Promise<number> {
  for (;;) {
    const raw = (await source.annotations())[annotation];
    const startAtMs = raw === undefined ? NaN : Number(raw);
    if (Number.isFinite(startAtMs) && startAtMs > 0) return startAtMs;
    if (raw !== undefined) throw new MeshbenchError('MB_LOAD_FAILED', `pod annotation ${annotation}="${raw}" is not an epoch time in ms`);
    if (Date.now() + START_POLL_MS > deadlineMs) throw new MeshbenchError('MB_LOAD_FAILED', `no start time in pod annotation ${annotation} within the ready timeout: meshbench did not publish it (it waits for every generator pod of the Job to be Ready)`);
    await sleep(START_POLL_MS, undefined, { signal });
  }
}

export async function runGenerator(job: Exclude<GeneratorJob, PilotGeneratorJob>, index: number, signal?: AbortSignal, source: PodSelfSource = downwardSelf()): Promise<GeneratorOutput> {
  const deadlineMs = Date.now() + job.readyTimeoutMs;
  if (job.kind === 'probe') {
    const results: ProbeOutcome[] = [];
    for (const probe of job.probes) {
      try {
        const r = await probeWhenReachable(probe, 16, deadlineMs, signal);
        results.push({ protocol: probe.protocol, target: probe.target, status: r.status, headers: r.headers });
      } catch (err) {
        results.push({ protocol: probe.protocol, target: probe.target, error: errorMessage(err) });
      }
    }
    return { kind: 'probe', index, results, nodeVersion: process.version, self: await reportSelf(source, job.awaitAnnotation, deadlineMs, signal) };
  }
  if (index >= job.shards) throw new MeshbenchError('MB_BAD_ARGUMENT', `completion index ${index} is outside the job's ${job.shards} shard(s)`);
  const spec = shardSpec(job.spec, job.shards, index);
  await probeWhenReachable({ protocol: spec.protocol, target: spec.target, headers: spec.headers }, spec.payloadBytes, deadlineMs, signal);
  const self = await reportSelf(source, job.awaitAnnotation, deadlineMs, signal);
  if (job.startAnnotation === undefined) {
    return { kind: 'load', index, shards: job.shards, result: await runLoad(spec, signal), startLagMs: 0, nodeVersion: process.version, self };
  }
  source.ready?.();
  // The load pool opens its connections first, then starts at startAtMs (or at once when that has passed).
  const startAtMs = await awaitStartAtMs(source, job.startAnnotation, deadlineMs + PUBLISH_SLACK_MS, signal);
  const result = await runLoad({ ...spec, startAtMs }, signal);
  // When the load really began: its workers' common start, on the clock the recorder stamps the window with.
  const startLagMs = Math.max(0, Math.round(result.startedAtMs - spec.warmupMs - startAtMs));
  return { kind: 'load', index, shards: job.shards, result, startAtMs, startLagMs, nodeVersion: process.version, self };
}

/** Asks the pod's sidecar to exit (Istio quitquitquit, Linkerd /shutdown); errors are expected and ignored. */
export async function shutdownProxy(url: string | undefined): Promise<boolean> {
  if (url === undefined) return false;
  try {
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** The output as log lines: one chunked record (sequence 0). */
export function formatOutput(output: GeneratorOutput): string[] {
  return chunkLines(0, output);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the output record out of a pod's log; MB_LOAD_FAILED naming the pod when there is none or it is malformed. */
export function parseOutputLog(log: string, pod: string): GeneratorOutput {
  const { records, reader } = readChunkedLog(log);
  const value = records.find((r) => r.seq === 0)?.value;
  if (value === undefined) {
    const tail = reader.otherLines.join(' | ');
    const damaged = reader.damaged > 0 ? ` (${reader.damaged} damaged chunk(s))` : '';
    throw new MeshbenchError('MB_LOAD_FAILED', `pod ${pod} printed no whole result record${damaged}; its log ends: ${tail || '(no other output)'}`);
  }
  if (!isRecord(value) || typeof value['index'] !== 'number') throw new MeshbenchError('MB_LOAD_FAILED', `pod ${pod}: result line has no index`);
  if (value['kind'] === 'load') {
    const r = value['result'];
    if (!isRecord(r) || typeof r['count'] !== 'number' || typeof r['histogram'] !== 'string' || !isRecord(r['errors']) || !Array.isArray(r['intervals'])) {
      throw new MeshbenchError('MB_LOAD_FAILED', `pod ${pod}: result line has no load result`);
    }
  } else if (value['kind'] === 'probe') {
    const results = value['results'];
    if (!Array.isArray(results) || !results.every((x) => isRecord(x) && PROTOCOLS.includes(x['protocol'] as Protocol))) {
      throw new MeshbenchError('MB_LOAD_FAILED', `pod ${pod}: result line has no probe results`);
    }
  } else {
    throw new MeshbenchError('MB_LOAD_FAILED', `pod ${pod}: result line of unknown kind`);
  }
  return value as GeneratorOutput;
}

/** Reads `--job <json>` (the job description the environment put into the pod's args). */
export function parseJob(text: string): GeneratorJob {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--job: not JSON (${errorMessage(err)})`);
  }
  if (!isRecord(value) || typeof value['readyTimeoutMs'] !== 'number') throw new MeshbenchError('MB_BAD_ARGUMENT', '--job: not a generator job');
  if (value['kind'] === 'load' && isRecord(value['spec']) && typeof value['shards'] === 'number') return value as GeneratorJob;
  if (value['kind'] === 'probe' && Array.isArray(value['probes'])) return value as GeneratorJob;
  if (value['kind'] === 'pilot' && Array.isArray(value['specs']) && typeof value['shard'] === 'number' && typeof value['shards'] === 'number' && typeof value['gridStartMs'] === 'number') {
    return value as GeneratorJob;
  }
  throw new MeshbenchError('MB_BAD_ARGUMENT', '--job: not a load, probe or pilot job');
}

/** `k8s generate --job <json>` as the pod runs it: the output record's lines on stdout; exit code 0, or 4 with the error. */
export async function generateMain(jobText: string, write: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const job = parseJob(jobText);
  if (job.kind === 'pilot') return pilotMain(job, write, signal);
  const endpoint = job.kind === 'load' && job.startAnnotation !== undefined ? await serveReadiness() : undefined;
  try {
    const output = await runGenerator(job, completionIndex(), signal, endpoint === undefined ? downwardSelf() : { ...downwardSelf(), ready: endpoint.ready });
    for (const line of formatOutput(output)) write(line);
    return 0;
  } catch (err) {
    write(`${ERROR_PREFIX}${errorMessage(err)}`);
    return 4;
  } finally {
    await endpoint?.close();
    await shutdownProxy(job.shutdownUrl);
  }
}

/**
 * A pilot generator (a Deployment's pod): its shard of every protocol, windows written as they close. It never
 * exits on its own, even after the pilot's end (a Deployment would restart it): it idles until stopped.
 */
async function pilotMain(job: PilotGeneratorJob, write: (line: string) => void, signal?: AbortSignal): Promise<number> {
  const deadlineMs = Date.now() + job.readyTimeoutMs;
  try {
    if (job.shard >= job.shards) throw new MeshbenchError('MB_BAD_ARGUMENT', `shard ${job.shard} is outside the pilot's ${job.shards} generator(s)`);
    const specs = job.specs.map((s) => shardSpec(s, job.shards, job.shard));
    for (const s of specs) await probeWhenReachable({ protocol: s.protocol, target: s.target, headers: s.headers }, s.payloadBytes, deadlineMs, signal);
    await runPilotGenerator(job, specs, write, signal);
  } catch (err) {
    if (signal?.aborted === true) return 0;
    write(`${ERROR_PREFIX}${errorMessage(err)}`);
    return 4; // the Deployment restarts it: the pilot sees the restart
  }
  await idle(signal);
  return 0;
}

function idle(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => undefined, 3_600_000);
    const done = (): void => {
      clearInterval(timer);
      resolve();
    };
    if (signal === undefined) return; // until the process is killed
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
