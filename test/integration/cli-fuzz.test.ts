import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../e2e/helpers.js';

// Hostile command lines, fuzzed against the built CLI: whatever the arguments, an exit code from 0 to 4 and, on
// failure, a plain message — never a stack trace. `run` is given an --out under a regular
// file as its last word, so the worst any argument can do is fail the folder check (exit 3) before anything runs.
// Bounded: at most RUNS command lines, and no new one after BUDGET_MS.

const RUNS = 30;
const BUDGET_MS = 20_000;
const work = mkdtempSync(join(tmpdir(), 'meshbench-cli-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const blocked = join(work, 'a-file');
writeFileSync(blocked, 'not a folder\n');
const fixtures = join(packageRoot, 'test', 'fixtures');

const word = fc.oneof(
  fc.constantFrom('--out', '--json', '--quiet', '--aa', '--format', 'html', 'md', 'xml', '--tolerance-ms', '-1', 'NaN', '1e309', '--',
    '--help', '-r', '-c', '0', '--rounds', '--budget-p99-ms', 'quickstart', 'no-such-scenario', '/proc/self/mem', '/dev/null',
    join(fixtures, 'bad-scenario.yaml'), join(fixtures, 'faulted-result.json'), join(fixtures, 'quickstart-result.json'), fixtures, `${fixtures}@day2`),
  fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0')),
);
const commandLine = fc.tuple(
  // no bare words first: a random one could be `up` or `echo`, which serve until stopped
  fc.constantFrom('validate', 'compare', 'report', 'run', 'no-such-command', '--version'),
  fc.array(word, { maxLength: 5 }),
).map(([command, args]) => {
  const line = [command, ...args];
  // `run` could start an environment and load: the folder check stops it first. (`load` and `ab` are left out:
  // a random word can be a host name, and tests reach only loopback.)
  if (command === 'run') return [...line, '--out', join(blocked, 'out')];
  if (['compare', 'report'].includes(command)) return [...line, '--out', join(work, 'out')];
  return line;
});

describe('hostile command lines (fast-check, the built CLI)', () => {
  it('exit 0–4, never a stack trace', async () => {
    const started = Date.now();
    await fc.assert(fc.asyncProperty(commandLine, async (args) => {
      if (Date.now() - started > BUDGET_MS) return; // the time budget is spent: pass the rest unrun
      const run = await runCli(args);
      expect(run.signal, args.join(' ')).toBeNull();
      expect([0, 1, 2, 3, 4], `${args.join(' ')}\n${run.stderr}`).toContain(run.code);
      expect(run.stderr, args.join(' ')).not.toMatch(/unexpected error|\n\s+at \S+ \(|\n\s+at file:/);
      if (run.code !== 0) expect(run.stderr.trim().length, args.join(' ')).toBeGreaterThan(0);
    }), { numRuns: RUNS });
  });
});
