import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { describeError, exitCodeForError } from '../../src/cli/exit-codes.js';
import { readStored } from '../../src/cli/stored.js';
import { parseScenarioText } from '../../src/config/load.js';
import { isMeshbenchError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';
import { renderComparisonFiles, renderReportFiles } from '../../src/report/index.js';
import { compareRuns } from '../../src/run/judge.js';

// Hostile input, fuzzed: whatever a scenario or a stored result holds, meshbench answers with a coded error (exit 3)
// whose message is plain text — never an unexpected error with a stack trace. Bounded: a fixed number of runs each.

const work = mkdtempSync(join(tmpdir(), 'meshbench-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const quickstartText = readFileSync(join(packageRoot, 'scenarios', 'quickstart.yaml'), 'utf8');
// A run cut short by a dying sidecar (written by this meshbench): one protocol, a `fault`, small enough to render fast.
const resultText = readFileSync(join(packageRoot, 'test', 'fixtures', 'faulted-result.json'), 'utf8');
/** Each property stops after this long (fast-check interruptAfterTimeLimit), however many runs it got through. */
const BUDGET_MS = 12_000;

/** What a person would see for `err`, and its exit code: a MeshbenchError of bad input, without a stack. */
function expectPlainBadInput(err: unknown): void {
  expect(isMeshbenchError(err), describeError(err)).toBe(true);
  expect(exitCodeForError(err)).toBe(3);
  expect(describeError(err)).not.toMatch(/unexpected error|\n\s+at /);
}

/** Any JSON value: what a mutation puts in place of a field. */
const anyValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, Number.NaN, '', 'x', [], {}),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);

type Mutation = { kind: 'set' | 'delete'; at: number; value: unknown };
const mutations = fc.array(fc.record({ kind: fc.constantFrom('set' as const, 'delete' as const), at: fc.nat(), value: anyValue }), { minLength: 1, maxLength: 4 });

/** Applies each mutation at the `at`-th (mod the count) object or array slot of `root` in depth-first order. */
function mutate(root: unknown, list: readonly Mutation[]): unknown {
  const copy = structuredClone(root);
  for (const m of list) {
    const slots: [Record<string, unknown> | unknown[], string | number][] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach((v, i) => { slots.push([node, i]); walk(v); });
      else if (typeof node === 'object' && node !== null) for (const [k, v] of Object.entries(node)) { slots.push([node as Record<string, unknown>, k]); walk(v); }
    };
    walk(copy);
    const slot = slots[m.at % Math.max(1, slots.length)];
    if (slot === undefined) continue;
    const [parent, key] = slot;
    if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else if (Array.isArray(parent)) parent[key as number] = m.value;
    else parent[key as string] = m.value;
  }
  return copy;
}

describe('hostile scenarios (fast-check)', () => {
  it('random text: a scenario or a coded bad-scenario error, never anything else', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 })), (text) => {
      try {
        parseScenarioText(text, 'fuzz.yaml');
      } catch (err) {
        expectPlainBadInput(err);
      }
    }), { numRuns: 300, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false });
  });

  it('the quickstart scenario mutated (fields removed or replaced): a scenario or a coded error', () => {
    const base: unknown = parseScenarioText(quickstartText, 'quickstart.yaml');
    fc.assert(fc.property(mutations, (list) => {
      try {
        parseScenarioText(stringify(mutate(base, list)), 'fuzz.yaml');
      } catch (err) {
        expectPlainBadInput(err);
      }
    }), { numRuns: 300, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false });
  });
});

describe('hostile result.json files (fast-check): `report` and `compare` read them through the zod schema', () => {
  const base: unknown = JSON.parse(resultText);
  let n = 0;
  const write = (text: string): string => {
    const path = join(work, `r${n++}.json`);
    writeFileSync(path, text);
    return path;
  };

  it('the stored fixture passes the schema, renders and compares with itself', async () => {
    const stored = await readStored(write(resultText));
    expect(stored.kind).toBe('run');
    expect(stored.kind === 'run' && stored.doc.fault?.code).toBe('MB_ENV_FAILED');
    if (stored.kind !== 'run') return;
    expect(renderReportFiles(stored.doc).get('report.md')).toMatch(/Verdict/);
    expect(compareRuns(stored.doc, stored.doc, { toleranceMs: 0.5, toleranceRatio: 0, baselinePath: 'a', candidatePath: 'b' }).verdict.status).toBeDefined();
  });

  it('mutated or cut short: either every report renders and it compares, or a coded error naming the file', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(
      mutations.map((list) => JSON.stringify(mutate(base, list))),
      fc.nat({ max: resultText.length }).map((cut) => resultText.slice(0, cut)),
      fc.string({ maxLength: 100 }),
    ), async (text) => {
      const path = write(text);
      try {
        const stored = await readStored(path);
        if (stored.kind === 'run') {
          renderReportFiles(stored.doc);
          const doc = compareRuns(stored.doc, stored.doc, { toleranceMs: 0.5, toleranceRatio: 0, baselinePath: path, candidatePath: path });
          renderComparisonFiles(doc, { baseline: stored.doc, candidate: stored.doc });
        }
      } catch (err) {
        expectPlainBadInput(err);
        expect(describeError(err)).toContain(path);
      }
    }), { numRuns: 150, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false });
  });
});
