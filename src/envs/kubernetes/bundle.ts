import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshbenchError } from '../../errors.js';
import { distPath, protoDir } from '../../paths.js';
import { toolVersion } from '../../version.js';

/**
 * The no-image-build path: meshbench's in-cluster code (cli/incluster.ts: the echo, the generator, the load
 * worker) bundled by esbuild into one ES module that the stock `node` image runs from a ConfigMap. The
 * ConfigMap holds a mini package tree — package.json (so the bundle is an ES module and finds its root),
 * the bundle, and proto/echo.proto (read by the gRPC echo) — mounted at CODE_MOUNT with `items` paths.
 *
 * A ConfigMap holds at most 1 MiB; the bundle (≈ 0.7 MB minified: gRPC, protobufjs, HdrHistogram, ws) fits
 * as plain text, with room to spare checked here, so no decompression step and a read-only mount suffice.
 */

export const CODE_MOUNT = '/opt/meshbench';
export const CODE_ENTRY = `${CODE_MOUNT}/dist/incluster.js`;
/** What a ConfigMap may hold, less room for its metadata. */
export const CODE_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;
/**
 * Modules started as threads by path (distPath): each must exist at its dist/ path in the pod. A thread
 * entry added to src/load must be listed here (the bundle test runs a real load from the bundle to catch it).
 */
export const THREAD_ENTRIES: readonly string[] = ['load/worker', 'timing/ticker'];

export interface CodeBundle {
  /** ConfigMap data: key → text (keys cannot hold "/", so "dist/load/worker.js" is "dist__load__worker.js"). */
  files: Record<string, string>;
  /** ConfigMap volume items: key → path under CODE_MOUNT. */
  items: { key: string; path: string }[];
  bytes: number;
}

export function keyOfPath(path: string): string {
  return path.replaceAll('/', '__');
}

let cached: Promise<CodeBundle> | undefined;

/** Builds the bundle once per process (≈ 0.3 s); rejects with a message saying to set env.image when it cannot. */
export function inclusterBundle(): Promise<CodeBundle> {
  cached ??= build().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function build(): Promise<CodeBundle> {
  const entry = distPath('cli/incluster.js');
  if (!existsSync(entry)) {
    throw new MeshbenchError('MB_ENV_FAILED', `${entry} is missing — build meshbench first (npm run build), or set env.image`);
  }
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new MeshbenchError(
      'MB_MISSING_DEPENDENCY',
      'esbuild is needed to bundle meshbench for the stock node image (a dev dependency: run npm ci in the meshbench checkout), ' +
        'or set env.image to an image built from the Dockerfile',
      { cause: err },
    );
  }
  const entryPoints: Record<string, string> = { incluster: entry };
  for (const name of THREAD_ENTRIES) entryPoints[name] = distPath(`${name}.js`);
  // esbuild's JS API runs a service child process; stop it once the one build is done (nothing outlives a call).
  const result = await esbuild.build({
    entryPoints,
    outdir: '/meshbench-bundle/dist', // virtual: write is false
    bundle: true,
    splitting: true, // the entries share one chunk (gRPC, drivers, histograms)
    chunkNames: 'chunk-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    external: ['@kubernetes/client-node', 'esbuild'],
    // CommonJS dependencies (gRPC) call require() for Node built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __mbRequire } from 'node:module'; const require = __mbRequire(import.meta.url);" },
  }).finally(() => esbuild.stop());
  const files: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  const add = (path: string, text: string): void => {
    files[keyOfPath(path)] = text;
    items.push({ key: keyOfPath(path), path });
  };
  add('package.json', `${JSON.stringify({ name: 'meshbench', version: toolVersion, private: true, type: 'module' })}\n`);
  for (const out of result.outputFiles) add(out.path.slice('/meshbench-bundle/'.length), out.text);
  add('proto/echo.proto', await readFile(join(protoDir, 'echo.proto'), 'utf8'));
  items.sort((x, y) => x.path.localeCompare(y.path));
  const bytes = Object.values(files).reduce((n, text) => n + Buffer.byteLength(text), 0);
  if (bytes > CODE_LIMIT_BYTES) {
    throw new MeshbenchError(
      'MB_ENV_FAILED',
      `the in-cluster bundle is ${(bytes / 1024).toFixed(0)} KiB, more than a ConfigMap holds (1 MiB): set env.image to an image built from the Dockerfile`,
    );
  }
  return { files, items, bytes };
}
