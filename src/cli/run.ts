import type { Scenario } from '../config/schema.js';
import { defaultOutDir, writeReports } from '../report/index.js';
import { renderCiSummary } from '../report/ci-summary.js';
import { renderSummary } from '../report/summary.js';
import { runScenario } from '../run/run-scenario.js';
import { exitCodeForVerdict } from './exit-codes.js';
import { progressReporter } from './progress.js';
import { appendStepSummary } from './step-summary.js';
import { checkOutDir, writeFailed } from './out-dir.js';

export interface RunCommandOptions {
  out?: string;
  json?: boolean;
  quiet?: boolean;
  /** A/A calibration: both variants drive the unmeshed targets. */
  aa?: boolean;
  signal: AbortSignal;
}

/**
 * `meshbench run`: checks the output folder (exit 3 before anything starts when it can never be written), runs the
 * pipeline, writes the files, then stdout — the summary is printed even when writing failed (exit 4 naming the path).
 * Returns the exit code.
 */
export async function runCommand(scenario: Scenario, scenarioPath: string, opts: RunCommandOptions): Promise<number> {
  const outDir = await checkOutDir(opts.out ?? defaultOutDir(opts.aa === true ? `${scenario.name}-aa` : scenario.name, new Date()));
  const report = progressReporter(process.stderr, opts.quiet === true);
  const doc = await runScenario(scenario, { scenarioPath, aa: opts.aa === true, signal: opts.signal, onEvent: report }).catch(async (err: unknown) => {
    await outDir.discard();
    throw err;
  });
  if (opts.quiet !== true) process.stderr.write(`writing the reports to ${outDir.path}\n`);
  const written = await writeReports(doc, outDir.path).then((files) => ({ files }), (err: unknown) => ({ err }));
  await appendStepSummary(renderCiSummary(doc));
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderSummary(doc)}\n${'files' in written ? `\nwrote ${written.files.join(', ')}\n` : ''}`);
  }
  if ('err' in written) throw writeFailed(outDir.path, written.err);
  return exitCodeForVerdict(doc.verdict.status);
}
