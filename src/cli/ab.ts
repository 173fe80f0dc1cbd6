import { parseScenario } from '../config/load.js';
import { MeshbenchError } from '../errors.js';
import type { ScenarioInput } from '../config/schema.js';
import { defaultOutDir, writeReports } from '../report/index.js';
import { checkOutDir, writeFailed } from './out-dir.js';
import { renderCiSummary } from '../report/ci-summary.js';
import { renderDifferences, renderSummary } from '../report/summary.js';
import { runScenario } from '../run/run-scenario.js';
import { defaultWorkers } from '../load/pool.js';
import { EXIT, exitCodeForVerdict } from './exit-codes.js';
import { requestSetup, type LoadFlags } from './load-options.js';
import { progressReporter } from './progress.js';
import { appendStepSummary } from './step-summary.js';

export interface AbCommandOptions extends LoadFlags {
  rounds: number;
  budgetP99Ms?: number;
  signal: AbortSignal;
}

/**
 * The scenario `meshbench ab A B` runs: a static pair — A the baseline (`unmeshed` in the reports), B the
 * candidate (`meshed`) — neither proven by headers (`unverified`: they are whatever the user points at), driven
 * paired in time as `run` does, `-d` seconds split into `rounds`. Latency budgets are optional (adHoc).
 */
export function abScenario(a: string, b: string, opts: Omit<AbCommandOptions, 'signal'>): { input: ScenarioInput; setup: ReturnType<typeof requestSetup> } {
  if (opts.duration / opts.rounds < 1) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `-d ${opts.duration} s over --rounds ${opts.rounds} leaves rounds under 1 s; a round is made of 1 s intervals: give -d ≥ ${opts.rounds} (or fewer rounds)`);
  }
  const setup = requestSetup([a, b], opts, true);
  const variant = (target: string) => ({ targets: { [setup.protocol]: target }, proof: 'unverified' as const, ...(setup.tls === undefined ? {} : { tls: setup.tls }) });
  const warmupS = opts.warmup;
  const input: ScenarioInput = {
    name: 'ab',
    description: `meshbench ab ${a} ${b}`,
    adHoc: true,
    env: { kind: 'static', variants: { unmeshed: variant(a), meshed: variant(b) } },
    pairing: 'time',
    rounds: opts.rounds,
    protocols: [{
      name: setup.protocol,
      model: opts.rate === undefined ? 'closed' : 'open',
      ...(opts.rate === undefined ? {} : { rateHz: opts.rate }),
      connections: opts.connections,
      durationS: opts.duration / opts.rounds,
      warmupS,
      firstWarmupS: warmupS,
      payloadBytes: setup.payloadBytes,
      timeoutMs: opts.timeout,
      workers: Math.min(opts.workers ?? defaultWorkers(), opts.connections),
      headers: setup.headers,
    }],
    budgets: opts.budgetP99Ms === undefined ? {} : { p99OverheadMs: opts.budgetP99Ms },
  };
  return { input, setup };
}

/** `meshbench ab <A> <B>`: both driven paired in time, B − A with intervals, a verdict when a budget is given. */
export async function abCommand(a: string, b: string, opts: AbCommandOptions): Promise<number> {
  const { input, setup } = abScenario(a, b, opts);
  const scenario = parseScenario(input, 'meshbench ab');
  if (setup.tls?.insecure === true) process.stderr.write(`WARNING: --insecure: the certificates of ${a} and ${b} are NOT verified\n`);
  const { tls: _tls, ...driverOptions } = setup.driverOptions; // each variant's TLS comes from its env
  const out = await checkOutDir(opts.out ?? defaultOutDir('ab', new Date()));
  const doc = await runScenario(scenario, { scenarioPath: '(meshbench ab)', signal: opts.signal, driverOptions, onEvent: progressReporter(process.stderr, opts.quiet === true) }).catch(async (err: unknown) => {
    await out.discard();
    throw err;
  });
  const written = await writeReports(doc, out.path).then((files) => ({ files }), (err: unknown) => ({ err }));
  await appendStepSummary(renderCiSummary(doc));
  if (opts.json === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`A = ${a}\nB = ${b}\n\n${renderDifferences(doc, { baseline: 'A', candidate: 'B' })}\n\n${renderSummary(doc)}\n${'files' in written ? `\nwrote ${written.files.join(', ')}\n` : ''}`);
  if ('err' in written) throw writeFailed(out.path, written.err);
  // Without a budget the differences are measured, not judged: a valid measurement exits 0.
  if (opts.budgetP99Ms === undefined) return doc.interrupted === true || doc.verdict.validity.length > 0 ? EXIT.inconclusive : EXIT.pass;
  return exitCodeForVerdict(doc.verdict.status);
}
