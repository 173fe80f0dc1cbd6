import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this module that holds package.json. */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('meshbench: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

/**
 * Path of a compiled module under dist/, for code that must start a separate JS entry point (worker threads,
 * child processes). Works the same whether the caller runs from dist/ or from src/ under vitest, as long as
 * `npm run build` has run (npm test builds first).
 */
export function distPath(relative: string): string {
  return join(packageRoot, 'dist', relative);
}

export const protoDir: string = join(packageRoot, 'proto');
export const scenariosDir: string = join(packageRoot, 'scenarios');
