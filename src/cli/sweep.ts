import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scenario } from '../config/schema.js';
import { defaultOutDir } from '../report/index.js';
import { renderSweepMarkdown, renderSweepSummary } from '../report/sweep.js';
import { runSweep } from '../sweep/run-sweep.js';
import { EXIT } from './exit-codes.js';

export interface SweepCommandOptions {
  out?: string;
  json?: boolean;
  quiet?: boolean;
  signal: AbortSignal;
}

/**
 * `meshbench sweep`: the rate steps, then sweep.json and sweep.md, then stdout. Exit 0 when every variant's knee
 * is bracketed (a step held and a later one broke), 2 when one is not (nothing held, nothing broke up to maxRateHz,
 * or interrupted).
 */
export async function sweepCommand(scenario: Scenario, scenarioPath: string, opts: SweepCommandOptions): Promise<number> {
  const say = (line: string): void => {
    if (opts.quiet !== true) process.stderr.write(`${line}\n`);
  };
  const doc = await runSweep(scenario, {
    scenarioPath,
    signal: opts.signal,
    onEvent: (e) => {
      if (e.type === 'env-ready') say(`environment ${e.kind} ready: variants ${e.variants.join(', ')}`);
      else say(`${e.protocol} ${e.variant} at ${e.step.rateHz} req/s${e.step.refinement ? ' (refining)' : ''}: p99 ${(e.step.p99Us / 1000).toFixed(3)} ms, ${e.step.errors} errors — ${e.step.outcome}${e.step.reason === '' ? '' : ` (${e.step.reason})`}`);
    },
  });
  const outDir = opts.out ?? defaultOutDir(`${scenario.name}-sweep`, new Date(doc.startedAt));
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'sweep.json'), `${JSON.stringify(doc, null, 2)}\n`);
  await writeFile(join(outDir, 'sweep.md'), renderSweepMarkdown(doc));
  process.stdout.write(opts.json === true ? `${JSON.stringify(doc, null, 2)}\n` : `${renderSweepSummary(doc)}\n\nwrote ${join(outDir, 'sweep.json')}, ${join(outDir, 'sweep.md')}\n`);
  const bracketed = doc.protocols.every((p) => Object.values(p.variants).every((v) => v.knee.holdsUpToHz !== null && v.knee.breaksAtHz !== null));
  return bracketed && doc.interrupted !== true ? EXIT.pass : EXIT.inconclusive;
}
