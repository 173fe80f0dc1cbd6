import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MeshbenchError } from '../errors.js';

/**
 * How long creating and test-writing an output folder may take. Node 20's `mkdir(…, { recursive: true })` never
 * settles under /proc (it spins on EEXIST/ENOENT there), so the wait is bounded instead of trusted.
 */
export const OUT_CHECK_TIMEOUT_MS = 5_000;

/** The output folder, checked before any work: created if missing, and a file written in it and removed. */
export interface OutDir {
  path: string;
  /** Removes the folders this check created when nothing was written into them (the command failed first). */
  discard(): Promise<void>;
}

/**
 * Creates `dir` (with its parents) and proves a file can be written there, so a path that can never be written —
 * under a regular file, read-only, under /proc, a full disk — stops the command before anything starts: bad input
 * (exit 3) naming the path and the flag. A disk that fills later still fails at write time (MB_WRITE_FAILED).
 */
export async function checkOutDir(dir: string, flag = '--out'): Promise<OutDir> {
  const fail = (why: string): MeshbenchError =>
    new MeshbenchError('MB_BAD_ARGUMENT', `${flag} ${dir} cannot be written (${why}): give a folder meshbench can create and write files in`);
  let created: string | undefined;
  const check = async (): Promise<void> => {
    try {
      created = await mkdir(dir, { recursive: true });
      const probe = join(dir, `.meshbench-write-check-${process.pid}`);
      await writeFile(probe, 'meshbench\n');
      await rm(probe, { force: true });
    } catch (err) {
      throw fail(String((err as { code?: unknown }).code ?? err));
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(fail(`creating it did not finish within ${OUT_CHECK_TIMEOUT_MS / 1000} s`)), OUT_CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return {
    path: dir,
    discard: async () => {
      if (created === undefined) return;
      // Empty folders only, from the deepest up to the first one this check created (rmdir refuses anything else).
      for (let d = resolve(dir); d.startsWith(resolve(created)); d = dirname(d)) {
        if (!(await rmdir(d).then(() => true, () => false))) return;
      }
    },
  };
}

/** A report that could not be written (a disk that filled during the run): a runtime error naming the path. */
export function writeFailed(dir: string, err: unknown): MeshbenchError {
  const e = err as { code?: unknown; path?: unknown };
  const where = typeof e.path === 'string' ? e.path : dir;
  return new MeshbenchError('MB_WRITE_FAILED', `could not write ${where} (${String(e.code ?? err)}): free space there or give another --out; the summary above is what was measured`, { cause: err });
}
