import type { Scenario } from '../config/schema.js';
import { defaultOutDir, writeReports } from '../report/index.js';
import { renderCiSummary } from '../report/ci-summary.js';
import { renderSummary } from '../report/summary.js';
import { runScenario } from '../run/run-scenario.js';
import { exitCodeForVerdict } from './exit-codes.js';
import { progressReporter } from './progress.js';
import { appendStepSummary } from './step-summary.js';

export interface RunCommandOptions {
  out?: string;
  json?: boolean;
  quiet?: boolean;
  /** A/A calibration: both variants drive the unmeshed targets. */
  aa?: boolean;
  signal: AbortSignal;
}

/** `meshbench run`: the whole pipeline, then the files, then stdout. Returns the exit code. */
export async function runCommand(scenario: Scenario, scenarioPath: string, opts: RunCommandOptions): Promise<number> {
  const doc = await runScenario(scenario, {
    scenarioPath,
    aa: opts.aa === true,
    signal: opts.signal,
    onEvent: progressReporter(process.stderr, opts.quiet === true),
  });
  const outDir = opts.out ?? defaultOutDir(opts.aa === true ? `${scenario.name}-aa` : scenario.name, new Date(doc.startedAt));
  const files = await writeReports(doc, outDir);
  await appendStepSummary(renderCiSummary(doc));
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderSummary(doc)}\n\nwrote ${files.join(', ')}\n`);
  }
  return exitCodeForVerdict(doc.verdict.status);
}
