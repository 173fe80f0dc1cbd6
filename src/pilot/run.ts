import { randomBytes } from 'node:crypto';
import { isPilotEvent, type Scenario } from '../config/schema.js';
import type { ProxySample, RunningEnv } from '../envs/env.js';
import { provePaths, startEnv } from '../envs/index.js';
import { MeshbenchError } from '../errors.js';
import type { IntervalHistogram } from '../histograms/index.js';
import { analyzeWindowDrills } from '../drills/analyze.js';
import { WindowDrills } from '../drills/windows.js';
import { runLoads, type LoadProgress } from '../load/pool.js';
import { variantOrder } from '../load/rounds.js';
import { PILOT_KIND, PILOT_SCHEMA_VERSION, type PilotMeta, type PilotRecord, type SegmentRecord, type WindowRecord, type WindowSummary } from '../pilot-record.js';
import type { Protocol, VariantName } from '../protocols.js';
import { variantLanes } from '../run/lanes.js';
import { environmentRecord } from '../run/environment.js';
import { applyPlacement } from '../run/placement.js';
import { toolVersion } from '../version.js';
import { baseMarks, summarizeWindow } from './documents.js';
import { PilotStore } from './store.js';
import { keyOf, WindowAssembler, windowRecord, type WindowDraft } from './windows.js';

/** What the CLI (progress, Prometheus metrics) sees while a pilot runs; nothing in the pilot depends on it. */
export type PilotEvent =
  | { type: 'segment'; segment: number; resumed: boolean; endsAt: string; nextWindow: number }
  | { type: 'interval'; protocol: Protocol; variant: VariantName; interval: IntervalHistogram }
  | { type: 'window'; record: WindowRecord; summary: WindowSummary }
  | { type: 'proxies'; variant: VariantName; samples: ProxySample[] };

export interface PilotRunOptions {
  signal?: AbortSignal;
  onEvent?: (event: PilotEvent) => void;
}

export interface PilotOutcome {
  dir: string;
  meta: PilotMeta;
  /** Windows this process closed and wrote. */
  windowsWritten: number;
  /** The pilot reached the end of `--for` (else it was stopped, and `--resume` continues it). */
  finished: boolean;
}

/** How often the proxies are sampled for the live metrics (windows sample them at their close too). */
const PROXY_SAMPLE_MS = 5000;

/**
 * A pilot's events must name its windows (`window`, `every`), start inside a window (atS below windowS, which
 * `--window` may have changed) and in a window the pilot reaches. Bad input (exit 3), before anything starts.
 */
export function checkPilotEvents(scenario: Scenario, forS: number): void {
  const { windowS } = scenario.pilot;
  const windows = Math.ceil(forS / windowS);
  scenario.events.forEach((e, i) => {
    const fix = (what: string): never => {
      throw new MeshbenchError('MB_BAD_SCENARIO', `events[${i}] (${e.action}): ${what}`);
    };
    if (!isPilotEvent(e)) fix(`names no window: in a pilot an event happens atS seconds into a window — give it window: N (1-based; and every: K to repeat it every K windows), or run the scenario with \`meshbench run\``);
    if (e.atS >= windowS) fix(`atS ${e.atS} must fall inside the window: below its length (${windowS} s); lower atS or give a longer --window`);
    if ((e.window ?? 1) > windows) fix(`window ${e.window ?? 1} is past the pilot's last window (--for ${forS} s in windows of ${windowS} s: ${windows}); give an earlier window or a longer --for`);
  });
}

/** A new pilot of `scenario` in `dir`, for `forS` seconds from now. */
export async function startPilot(dir: string, scenario: Scenario, scenarioPath: string, forS: number, options: PilotRunOptions = {}): Promise<PilotOutcome> {
  checkPilotEvents(scenario, forS);
  const now = new Date();
  const meta: PilotMeta = {
    kind: PILOT_KIND,
    schemaVersion: PILOT_SCHEMA_VERSION,
    tool: { name: 'meshbench', version: toolVersion },
    pilotId: `${scenario.name}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`,
    scenarioPath,
    scenario,
    startedAt: now.toISOString(),
    startMs: now.getTime(),
    forS,
  };
  const store = await PilotStore.create(dir, meta);
  return runSegment(store, [], options);
}

/** Continues the pilot in `dir`: the same id and files, a new segment after a recorded gap. */
export async function resumePilot(dir: string, options: PilotRunOptions = {}): Promise<PilotOutcome> {
  const { store, records } = await PilotStore.resume(dir);
  return runSegment(store, records, options);
}

/**
 * One segment of a pilot — from a start or resume to the end of `--for`, an abort or a crash: starts the env,
 * proves the paths, runs every protocol's variants as one continuous time-paired load (streamed interval by
 * interval: src/load/pool.ts), and closes a window every `pilot.windowS` intervals — record and .hlog lines
 * written and fsynced before the next window closes (store.ts). Nothing of a closed window stays in memory.
 */
async function runSegment(store: PilotStore, previous: readonly PilotRecord[], options: PilotRunOptions): Promise<PilotOutcome> {
  const { signal, onEvent } = options;
  const { meta } = store;
  const { scenario } = meta;
  let written = 0;
  const endsAtMs = meta.startMs + meta.forS * 1000;
  try {
    let segment = previous.filter((r) => r.type === 'segment').length;
    const lastWindow = [...previous].reverse().find((r): r is WindowRecord => r.type === 'window');
    const firstIndex = lastWindow === undefined ? 0 : lastWindow.index + 1;
    const warmupMs = Math.max(...scenario.protocols.map((p) => Math.round(Math.max(p.warmupS, p.firstWarmupS) * 1000)));
    const loadMs = (): number => Math.floor((endsAtMs - Date.now() - warmupMs) / 1000) * 1000;
    if (loadMs() < 1000) return { dir: store.dir, meta, windowsWritten: 0, finished: true };

    const protocols = scenario.protocols.map((p) => p.name);
    const placement = applyPlacement(scenario.placement);
    let env: RunningEnv | undefined;
    try {
      env = await startEnv(scenario.env, protocols, signal);
      if (env.runLoad !== undefined && env.runPilotLoad === undefined) throw new MeshbenchError('MB_BAD_SCENARIO', `the ${env.kind} environment runs its own generators and cannot run a pilot's`);
      signal?.throwIfAborted();
      const proofs = env.prove !== undefined ? await env.prove(protocols, signal) : await provePaths(env, protocols);
      const variants = env.variants.map((v) => v.name);
      let segmentRecord: SegmentRecord = {
        type: 'segment', segment, startedAt: new Date().toISOString(), startMs: Date.now(),
        environment: environmentRecord(env, variants, placement.record),
        proofs,
      };
      await store.append(segmentRecord);
      onEvent?.({ type: 'segment', segment, resumed: segment > 0, endsAt: new Date(endsAtMs).toISOString(), nextWindow: firstIndex });

      const running = env;
      const stop = new AbortController();
      const cpuAt = new Map<string, number>(); // variant/proxy → cumulative CPU seconds at the last window close
      const sampleAll = async (): Promise<Record<VariantName, ProxySample[]>> =>
        Object.fromEntries(await Promise.all(variants.map(async (v) => [v, await running.sampleProxies(v)] as const)));
      for (const [variant, samples] of Object.entries(await sampleAll())) for (const s of samples) cpuAt.set(`${variant}/${s.name}`, s.cpuSeconds);

      // Measured from now, once the env is up and proven (starting it takes seconds on a busy machine): the load ends with --for.
      const durationMs = Math.max(1000, loadMs());
      // The scenario's pilot events, each at its window's start + atS on the pilot's grid (src/drills/windows.ts).
      const drills = new WindowDrills(running, scenario.events, scenario.pilot.windowS, firstIndex, endsAtMs, stop.signal);
      const assembler = new WindowAssembler(scenario.protocols.flatMap((p) => variants.map((variant) => ({ protocol: p.name, variant }))), scenario.pilot.windowS, firstIndex);
      let closing: Promise<void> = Promise.resolve();
      let failure: unknown;
      const onAbort = (): void => stop.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let firstOfSegment = firstIndex;
      const close = (draft: WindowDraft, restarts: readonly { what: string; atMs: number }[] = []): void => {
        closing = closing.then(async () => {
          if (failure !== undefined) return;
          try {
            if (restarts.length > 0) {
              // A generator restarted (env-run generators): a new segment, as a resume starts one, so the gap is
              // recorded and the window it lost is marked `restart`.
              const atMs = Math.min(...restarts.map((r) => r.atMs));
              segment++;
              segmentRecord = {
                ...segmentRecord, segment, startedAt: new Date(atMs).toISOString(), startMs: atMs,
                environment: { ...segmentRecord.environment, facts: { ...segmentRecord.environment.facts, restarts: restarts.map((r) => r.what) } },
              };
              await store.append(segmentRecord);
              firstOfSegment = draft.index;
            }
            const proxies: WindowRecord['proxies'] = {};
            for (const [variant, samples] of Object.entries(await sampleAll())) {
              proxies[variant] = samples.map((s) => {
                const key = `${variant}/${s.name}`;
                const cpuSeconds = Math.max(0, s.cpuSeconds - (cpuAt.get(key) ?? s.cpuSeconds));
                cpuAt.set(key, s.cpuSeconds);
                return { name: s.name, cpuSeconds, rssBytes: s.rssBytes };
              });
            }
            const occurrences = drills.active ? await drills.close(draft.index) : [];
            const series = [...draft.intervals].map(([key, intervals]) => {
              const [protocol, variant] = key.split('/') as [Protocol, VariantName];
              return { protocol, variant, intervals };
            });
            const { record, hlogLines } = windowRecord(draft, segment, scenario.pilot.blocksPerWindow, proxies, analyzeWindowDrills(occurrences, series));
            await store.append(record, hlogLines);
            written++;
            // baseMarks sees this window as its segment's first: only the one that is keeps `restart`.
            const marks = (baseMarks([segmentRecord, record]).get(record.index) ?? []).filter((m) => m !== 'restart' || record.index === firstOfSegment);
            onEvent?.({ type: 'window', record, summary: summarizeWindow(meta, [segmentRecord, record], record, marks) });
          } catch (err) {
            failure = err;
            stop.abort(err); // a pilot that cannot write its windows must not run on
          }
        });
      };
      const sampler = setInterval(() => {
        void sampleAll().then(
          (all) => { for (const [variant, samples] of Object.entries(all)) onEvent?.({ type: 'proxies', variant, samples }); },
          () => undefined, // a proxy gone is reported by the window's close
        );
      }, PROXY_SAMPLE_MS);
      try {
        if (running.runPilotLoad !== undefined) {
          // The env's generators (kubernetes: Deployments) cut the windows; they arrive closed, on the pilot's grid.
          const lanes = scenario.protocols.flatMap((config, index) =>
            variantLanes(running, variantOrder(variants, index), config, scenario.validity.lateThresholdMs).map((lane) => ({ variant: lane.name, spec: { ...lane.spec, warmupMs, durationMs } })),
          );
          const leadMs = scenario.env.kind === 'kubernetes' ? scenario.env.startLeadS * 1000 : 0;
          const plan = { lanes, gridStartMs: Date.now() + leadMs + warmupMs, firstWindow: firstIndex, windowS: scenario.pilot.windowS, endMs: endsAtMs };
          drills.anchor(plan.gridStartMs);
          await running.runPilotLoad(plan, stop.signal, (w) => {
            const intervals = new Map<string, IntervalHistogram[]>();
            for (const { protocol, variant, intervals: list } of w.series) {
              intervals.set(keyOf(protocol, variant), list);
              for (const interval of list) onEvent?.({ type: 'interval', protocol, variant, interval });
            }
            close({ index: w.index, partial: w.partial, intervals }, w.restarts);
          });
        } else {
          // The grid starts when the warm-up ends: estimated now, then from the first progress report (it says how
          // long ago the warm-up began), then exactly from the first interval's start.
          drills.anchor(Date.now() + warmupMs);
          let anchoredBy: 'estimate' | 'progress' | 'interval' = 'estimate';
          await Promise.all(
            scenario.protocols.map((config, index) => {
              const order = variantLanes(running, variantOrder(variants, index), config, scenario.validity.lateThresholdMs);
              const specs = order.map((lane) => ({ ...lane.spec, warmupMs, durationMs }));
              const onProgress = (_lane: number, p: LoadProgress): void => {
                if (anchoredBy !== 'estimate') return;
                anchoredBy = 'progress';
                drills.anchor(Date.now() - p.elapsedMs + warmupMs);
              };
              return runLoads(specs, stop.signal, drills.active ? onProgress : undefined, (lane, interval) => {
                if (anchoredBy !== 'interval') {
                  anchoredBy = 'interval';
                  drills.anchor(interval.startMs);
                }
                const variant = order[lane]?.name ?? '';
                onEvent?.({ type: 'interval', protocol: config.name, variant, interval });
                for (const draft of assembler.add(config.name, variant, interval)) close(draft);
              });
            }),
          );
        }
        // No event starts once the load is over; the window left open marks those it never reached.
        await drills.finish();
        const rest = assembler.flush();
        if (rest !== null) close(rest);
        await closing;
      } finally {
        await drills.finish(); // an action still running ends before the env is closed
        clearInterval(sampler);
        signal?.removeEventListener('abort', onAbort);
      }
      if (failure !== undefined) throw failure;
      return { dir: store.dir, meta, windowsWritten: written, finished: Date.now() >= endsAtMs - 1000 && signal?.aborted !== true };
    } finally {
      await env?.close();
      placement.restore();
    }
  } finally {
    await store.close();
  }
}
