import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exitCodeForError } from '../../src/cli/exit-codes.js';
import { reportCommand } from '../../src/cli/report.js';
import { isMeshbenchError } from '../../src/errors.js';
import { renderComparisonFiles, writeFiles } from '../../src/report/index.js';
import type { ResultDocument } from '../../src/result.js';
import { compareRuns } from '../../src/run/judge.js';

/** `meshbench report`: what each format writes, and bad input (exit 3) with a message that says what to do. */
const fixture = 'test/fixtures/quickstart-result.json';
const work = mkdtempSync(join(tmpdir(), 'meshbench-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(work, 'run-'));
  copyFileSync(fixture, join(dir, 'result.json'));
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function failure(p: Promise<unknown>): Promise<{ code: string; exit: number; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isMeshbenchError(err)) throw err;
    return { code: err.code, exit: exitCodeForError(err), message: err.message };
  }
  throw new Error('expected a failure');
}

describe('meshbench report', () => {
  const hlogs = ['grpc-bidi.meshed.hlog', 'grpc-bidi.unmeshed.hlog', 'http1.meshed.hlog', 'http1.unmeshed.hlog', 'websocket.meshed.hlog', 'websocket.unmeshed.hlog'];
  it.each([
    ['html', ['report.html']],
    ['md', ['report.md', 'summary.md']],
    ['all', [...hlogs, 'junit.xml', 'report.html', 'report.md', 'summary.md']],
  ] as const)('--format %s writes %j beside result.json, which it leaves alone', async (format, files) => {
    const before = readFileSync(join(dir, 'result.json'), 'utf8');
    expect(await reportCommand(join(dir, 'result.json'), { format })).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([...files, 'result.json'].sort());
    expect(readFileSync(join(dir, 'result.json'), 'utf8')).toBe(before);
  });

  it('takes the folder, and --out', async () => {
    const out = join(dir, 'elsewhere');
    expect(await reportCommand(dir, { format: 'html', out })).toBe(0);
    expect(readdirSync(out)).toEqual(['report.html']);
  });

  it('renders a comparison: Markdown from comparison.json alone, report.html also from the two results', async () => {
    const doc = JSON.parse(readFileSync(fixture, 'utf8')) as ResultDocument;
    const resultPath = join(dir, 'result.json');
    const cmp = join(dir, 'cmp');
    await writeFiles(renderComparisonFiles(compareRuns(doc, doc, { toleranceMs: 0.5, toleranceRatio: 0, baselinePath: resultPath, candidatePath: resultPath }), null), cmp);
    expect(await reportCommand(cmp, { format: 'all' })).toBe(0);
    expect(readdirSync(cmp).sort()).toEqual(['compare.md', 'comparison.json', 'junit.xml', 'report.html', 'summary.md']);

    rmSync(resultPath);
    expect(await reportCommand(cmp, { format: 'md' })).toBe(0);
    const f = await failure(reportCommand(cmp, { format: 'html' }));
    expect(f).toMatchObject({ code: 'MB_BAD_ARGUMENT', exit: 3 });
    expect(f.message).toMatch(/comparison\.json: its report\.html shows the two results it compared, but .*result\.json cannot be read .* or use --format md/);
  });

  it.each([
    ['a missing file', () => join(dir, 'nope.json'), 'MB_BAD_ARGUMENT', /nope\.json: cannot read \(ENOENT\)/],
    ['a folder without a document', () => mkdtempSync(join(work, 'empty-')), 'MB_BAD_ARGUMENT', /is a folder without a result\.json or comparison\.json/],
    ['not JSON', () => write('x.json', '{'), 'MB_INCOMPATIBLE_RESULTS', /x\.json: not JSON/],
    ['another tool\'s JSON', () => write('y.json', '{"a":1}'), 'MB_INCOMPATIBLE_RESULTS', /y\.json: not a meshbench result document/],
  ])('refuses %s (exit 3)', async (_label, path, code, message) => {
    const f = await failure(reportCommand(path(), { format: 'all' }));
    expect(f).toMatchObject({ code, exit: 3 });
    expect(f.message).toMatch(message);
  });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, text);
  return path;
}
