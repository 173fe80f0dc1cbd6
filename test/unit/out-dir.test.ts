import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutDir, writeFailed } from '../../src/cli/out-dir.js';
import { exitCodeForError } from '../../src/cli/exit-codes.js';
import { writeFiles } from '../../src/report/index.js';

const work = mkdtempSync(join(tmpdir(), 'meshbench-out-dir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
writeFileSync(join(work, 'a-file'), 'x\n');

describe('checkOutDir: an --out that can never be written stops before anything starts', () => {
  it.each([
    ['under a regular file', join(work, 'a-file', 'out'), /cannot be written \(ENOTDIR\)/],
    ['a regular file itself', join(work, 'a-file'), /cannot be written \((EEXIST|ENOTDIR)\)/],
  ])('%s: bad input (exit 3) naming the path', async (_label, dir, why) => {
    const err = await checkOutDir(dir).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'MB_BAD_ARGUMENT' });
    expect(exitCodeForError(err)).toBe(3);
    expect(String((err as Error).message)).toContain(`--out ${dir} `);
    expect(String((err as Error).message)).toMatch(why);
  });

  it('creates a missing folder, leaves no test file, and discard() removes only the empty folders it created', async () => {
    mkdirSync(join(work, 'kept'));
    const dir = join(work, 'kept', 'new', 'deeper');
    const out = await checkOutDir(dir);
    expect(readdirSync(dir)).toEqual([]);
    await out.discard();
    expect(existsSync(join(work, 'kept', 'new'))).toBe(false);
    expect(existsSync(join(work, 'kept'))).toBe(true);
  });

  it('discard() keeps a created folder once something was written in it', async () => {
    const dir = join(work, 'written', 'x');
    const out = await checkOutDir(dir);
    await writeFiles(new Map([['result.json', '{}\n']]), dir);
    await out.discard();
    expect(readdirSync(dir)).toEqual(['result.json']);
  });
});

describe('writeFiles: whole files or none', () => {
  it('a file that cannot be written leaves no partial file and names the file (exit 4)', async () => {
    const dir = join(work, 'blocked');
    mkdirSync(join(dir, 'b.json'), { recursive: true }); // a folder where the file should go: rename fails
    const err = await writeFiles(new Map([['a.json', 'a\n'], ['b.json', 'b\n']]), dir).then(() => null, (e: unknown) => e);
    expect(err).not.toBeNull();
    const failed = writeFailed(dir, err);
    expect(failed.message).toMatch(new RegExp(`could not write ${join(dir, 'b.json')} \\(`));
    expect(exitCodeForError(failed)).toBe(4);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.json']);
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(false);
  });
});
