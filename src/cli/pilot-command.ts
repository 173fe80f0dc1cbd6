import { join } from 'node:path';
import { loadScenario } from '../config/load.js';
import { MeshbenchError } from '../errors.js';
import { PilotMetrics } from '../metrics/exporter.js';
import type { PilotSummary } from '../pilot-record.js';
import { summarizePilot } from '../pilot/documents.js';
import { resumePilot, startPilot, type PilotEvent } from '../pilot/run.js';
import { isPilotDir, readPilot } from '../pilot/store.js';
import { defaultOutDir, writeFiles, writeReports } from '../report/index.js';
import { renderPilotFiles } from '../report/pilot.js';
import { exitCodeForVerdict, EXIT } from './exit-codes.js';
import { withSignals } from './signals.js';

export interface PilotCommandOptions {
  out?: string;
  for: number;
  window?: number;
  resume?: string;
  metricsPort?: number;
  metricsHost: string;
  quiet?: boolean;
}

/** Writes the pilot's reports into its folder (from disk alone); returns the summary and the paths. */
export async function writePilotReports(dir: string): Promise<{ summary: PilotSummary; files: string[] }> {
  const { meta, records } = await readPilot(dir);
  const summary = summarizePilot(meta, records);
  return { summary, files: await writeFiles(renderPilotFiles(summary), dir) };
}

function progress(quiet: boolean, metrics: PilotMetrics | undefined): (e: PilotEvent) => void {
  const say = (text: string): void => {
    if (!quiet) process.stderr.write(`${text}\n`);
  };
  return (e) => {
    switch (e.type) {
      case 'segment':
        say(e.resumed ? `pilot resumed (segment ${e.segment}) at window ${e.nextWindow}; runs until ${e.endsAt}` : `pilot started; runs until ${e.endsAt}`);
        break;
      case 'interval':
        metrics?.addInterval(e.protocol, e.variant, e.interval);
        break;
      case 'window': {
        metrics?.addWindow(e.summary);
        const overheads = e.summary.protocols.flatMap((p) =>
          Object.entries(p.p99OverheadUs).map(([v, o]) => `${p.name} ${v} p99 overhead ${o === null ? '–' : `${(o.estimate / 1000).toFixed(3)} ms [${(o.low / 1000).toFixed(3)}, ${(o.high / 1000).toFixed(3)}]`}`),
        );
        say(`window ${e.record.index} (day ${e.summary.day}) written: ${e.summary.status}; ${overheads.join('; ')}${e.summary.marks.length > 0 ? `; marks: ${e.summary.marks.join(', ')}` : ''}`);
        for (const d of e.record.drills ?? []) {
          const errors = Object.entries(d.variants).map(([v, f]) => `${v} ${f.errors} errors, p99 ${f.recoveryS === null ? 'not recovered in the window' : `recovered in ${f.recoveryS.toFixed(1)} s`}`);
          say(`  event ${d.event + 1} ${d.action} (${d.protocol}): ${d.error ?? `${d.detail ?? ''}; ${errors.join('; ')}`}`);
        }
        break;
      }
      case 'proxies':
        metrics?.addProxies(e.variant, e.samples);
        break;
    }
  };
}

export async function pilotCommand(scenarioArg: string | undefined, opts: PilotCommandOptions): Promise<number> {
  const controller = withSignals();
  const metrics = opts.metricsPort === undefined ? undefined : new PilotMetrics();
  const server = metrics === undefined ? undefined : await metrics.listen(opts.metricsPort ?? 0, opts.metricsHost);
  if (server !== undefined && opts.quiet !== true) process.stderr.write(`metrics: http://${opts.metricsHost}:${server.port}/metrics\n`);
  try {
    const runOptions = { signal: controller.signal, onEvent: progress(opts.quiet === true, metrics) };
    let outcome;
    if (opts.resume !== undefined) {
      if (scenarioArg !== undefined || opts.out !== undefined || opts.window !== undefined) {
        throw new MeshbenchError('MB_BAD_ARGUMENT', '--resume DIR continues the pilot in DIR with its own scenario, length and windows: give no scenario, --out, or --window with it');
      }
      outcome = await resumePilot(opts.resume, runOptions);
    } else {
      const { path, scenario } = await loadScenario(scenarioArg ?? 'quickstart');
      const withWindow = opts.window === undefined ? scenario : { ...scenario, pilot: { ...scenario.pilot, windowS: opts.window } };
      const dir = opts.out ?? defaultOutDir(`pilot-${scenario.name}`, new Date());
      outcome = await startPilot(dir, withWindow, path, opts.for, runOptions);
    }
    const { summary, files } = await writePilotReports(outcome.dir);
    const steady = summary.whole.verdict?.status ?? 'inconclusive';
    // The exit code is the worse of the steady-state verdict and the drill's (fail, then inconclusive, then pass).
    const drill = summary.drills.status;
    const status = drill === 'fail' || (drill === 'inconclusive' && steady === 'pass') ? drill : steady;
    process.stdout.write(
      `pilot ${summary.pilotId}: ${summary.windows.length} window(s) on disk (${outcome.windowsWritten} written now); whole pilot so far: ${steady}${drill === null ? '' : `; drill: ${drill}`}\n` +
        (outcome.finished ? '' : `stopped before its end: continue with \`meshbench pilot --resume ${outcome.dir}\`\n`) +
        `wrote ${files.join(', ')}\n`,
    );
    return outcome.finished ? exitCodeForVerdict(status) : EXIT.inconclusive;
  } finally {
    await server?.close();
  }
}


