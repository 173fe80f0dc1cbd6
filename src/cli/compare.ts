import { InvalidArgumentError, type Command } from 'commander';
import { exitCodeForVerdict } from './exit-codes.js';
import { resultFromWindows, selectWindows } from '../pilot/documents.js';
import { isPilotDir, readPilot } from '../pilot/store.js';
import { appendStepSummary } from './step-summary.js';
import { readResult } from './stored.js';
import { checkOutDir, writeFailed } from './out-dir.js';

export interface CompareCommandOptions {
  toleranceMs: number;
  toleranceRatio: number;
  out?: string;
  json?: boolean;
}

export async function compareCommand(baselineArg: string, candidateArg: string, opts: CompareCommandOptions): Promise<number> {
  // Loaded when the command runs: the renderers (ECharts) and the statistics cost every other command nothing.
  const { renderComparisonMarkdown, renderComparisonText } = await import('../report/ci-summary.js');
  const { defaultOutDir, renderComparisonFiles, writeFiles } = await import('../report/index.js');
  const { compareRuns } = await import('../run/judge.js');
  const baseline = await readResult(baselineArg);
  const candidate = await readResult(candidateArg);
  const doc = compareRuns(baseline.doc, candidate.doc, {
    toleranceMs: opts.toleranceMs,
    toleranceRatio: opts.toleranceRatio,
    baselinePath: baseline.path,
    candidatePath: candidate.path,
  });
  const outDir = (await checkOutDir(opts.out ?? defaultOutDir(`compare-${doc.candidate.scenario}`, new Date()))).path;
  const files = await writeFiles(renderComparisonFiles(doc, { baseline: baseline.doc, candidate: candidate.doc }), outDir).catch((err: unknown) => {
    throw writeFailed(outDir, err);
  });
  await appendStepSummary(renderComparisonMarkdown(doc));
  if (opts.json === true) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`${renderComparisonText(doc)}\n\nwrote ${files.join(', ')}\n`);
  return exitCodeForVerdict(doc.verdict.status);
}

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
    return n;
  };
}

/** `meshbench compare <baseline> <candidate>`; exit codes as for `run` (0 no regression, 1 regression, 2 inconclusive). */
export function registerCompareCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('compare')
    .description('judge whether a candidate result regressed against a baseline result (P99 and overhead, with intervals)')
    .argument('<baseline>', 'baseline result.json (or the folder holding it), or part of a pilot: DIR@day2, DIR@windows:10-20')
    .argument('<candidate>', 'candidate result.json (or the folder holding it), or part of a pilot')
    .option('--tolerance-ms <ms>', 'a figure may rise by this many ms before it counts as a regression', nonNegative('--tolerance-ms'), 0.5)
    .option('--tolerance-ratio <r>', "… plus this fraction of the baseline's P99 (e.g. 0.1 = 10 %)", nonNegative('--tolerance-ratio'), 0)
    .option('--out <dir>', 'output directory (default: reports/compare-<scenario>-<UTC timestamp>/)')
    .option('--json', 'print comparison.json to stdout instead of the summary')
    .action(async (baseline: string, candidate: string, opts: CompareCommandOptions) => {
      setExitCode(await compareCommand(baseline, candidate, opts));
    });
}
