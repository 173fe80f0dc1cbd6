import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { MeshbenchError } from '../errors.js';
import { renderComparisonMarkdown, renderComparisonText } from '../report/ci-summary.js';
import { defaultOutDir, renderComparisonFiles, writeFiles } from '../report/index.js';
import type { ResultDocument } from '../result.js';
import { compareRuns } from '../run/judge.js';
import { COMPARISON_KIND } from '../verdict/compare.js';
import { exitCodeForVerdict } from './exit-codes.js';
import { resultFromWindows, selectWindows } from '../pilot/documents.js';
import { isPilotDir, readPilot } from '../pilot/store.js';
import { appendStepSummary } from './step-summary.js';

export interface CompareCommandOptions {
  toleranceMs: number;
  toleranceRatio: number;
  out?: string;
  json?: boolean;
}

/**
 * Reads a result.json (or a folder holding one), or a part of a pilot — `DIR@day2`, `DIR@windows:10-20` — as the
 * result document of those windows; anything else is bad input (exit 3) naming the file.
 */
export async function readResult(arg: string): Promise<{ path: string; doc: ResultDocument }> {
  const at = arg.lastIndexOf('@');
  if (at > 0 && (await isPilotDir(arg.slice(0, at)))) {
    const { meta, records } = await readPilot(arg.slice(0, at));
    const selector = arg.slice(at + 1);
    return { path: arg, doc: resultFromWindows(meta, records, selectWindows(meta, records, selector), selector) };
  }
  let path = arg;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'EISDIR') throw new MeshbenchError('MB_BAD_ARGUMENT', `${arg}: cannot read (${String(code ?? err)}) — give a result.json written by \`meshbench run\``);
    path = join(arg, 'result.json');
    text = await readFile(path, 'utf8').catch(() => {
      throw new MeshbenchError('MB_BAD_ARGUMENT', `${arg} is a folder without a result.json`);
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: not JSON — give a result.json written by \`meshbench run\``);
  }
  const d = doc as Partial<ResultDocument> & { kind?: unknown };
  if (d.kind === COMPARISON_KIND) throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path} is a comparison, not a run result`);
  if (typeof d !== 'object' || d === null || d.tool?.name !== 'meshbench' || typeof d.schemaVersion !== 'number' || !Array.isArray(d.protocols) || d.scenario === undefined) {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: not a meshbench result document (no tool, schemaVersion, scenario and protocols)`);
  }
  return { path, doc: doc as ResultDocument };
}

export async function compareCommand(baselineArg: string, candidateArg: string, opts: CompareCommandOptions): Promise<number> {
  const baseline = await readResult(baselineArg);
  const candidate = await readResult(candidateArg);
  const doc = compareRuns(baseline.doc, candidate.doc, {
    toleranceMs: opts.toleranceMs,
    toleranceRatio: opts.toleranceRatio,
    baselinePath: baseline.path,
    candidatePath: candidate.path,
  });
  const outDir = opts.out ?? defaultOutDir(`compare-${doc.candidate.scenario}`, new Date());
  const files = await writeFiles(renderComparisonFiles(doc), outDir);
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
