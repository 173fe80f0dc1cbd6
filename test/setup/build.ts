import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup: tests import src/ directly, but worker threads and child processes (the load pool's
 * workers, the waker's ticker thread, the in-cluster bundle) can only start compiled entries from dist/. A
 * dist/ older than src/ would test old code, so when any src/ file is newer than its compiled form (or has
 * none), build first. `npm test` has just built, so this only checks there.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

function staleSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...staleSources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const compiled = join(root, 'dist', relative(join(root, 'src'), path)).replace(/\.ts$/, '.js');
      if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(path).mtimeMs) out.push(relative(root, path));
    }
  }
  return out;
}

export default function setup(): void {
  const stale = staleSources(join(root, 'src'));
  if (stale.length === 0) return;
  process.stderr.write(`dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): building\n`);
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  const still = staleSources(join(root, 'src'));
  if (still.length > 0) throw new Error(`dist/ is still older than ${still.join(', ')} after building`);
}
