import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';
import { runCli, startCli } from '../e2e/helpers.js';
import { ApiStandin, type StandinOptions } from './k8s-standin.js';

// `meshbench run` / `meshbench k8s cleanup` as a user runs them, against the API STAND-IN (not a cluster).

let echo: EchoServers;
let dir: string;
let api: ApiStandin | undefined;

beforeAll(async () => {
  echo = await startEchoServers();
  dir = mkdtempSync(join(tmpdir(), 'meshbench-k8s-cli-'));
});
afterAll(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function standin(opts: Partial<StandinOptions> = {}): Promise<{ kubeconfig: string; scenario: (env?: Record<string, unknown>) => string }> {
  api = new ApiStandin({ echo: { httpPort: echo.httpPort, grpcPort: echo.grpcPort }, ...opts });
  await api.start();
  api.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-payments' } });
  const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, api.kubeconfig());
  const scenario = (env: Record<string, unknown> = {}): string => {
    const file = join(dir, `scenario-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      stringify({
        name: 'k8s-cli',
        env: { kind: 'kubernetes', mesh: 'istio-sidecar', kubeconfig, generators: 1, startLeadS: 0, readyTimeoutS: 20, ...env },
        rounds: 3, // the fewest a pass rests on
        protocols: [{ name: 'http1', rateHz: 100, connections: 2, durationS: 0.6, warmupS: 0.2, firstWarmupS: 0.2 }],
        budgets: { p99OverheadMs: 2000, errorRateOverhead: 1 },
        validity: { maxErrorRate: 1, minAchievedRateRatio: 0, maxLateShare: 1 },
      }),
    );
    return file;
  };
  return { kubeconfig, scenario };
}

function ourNamespaces(): string[] {
  return (api?.list('namespaces') ?? []).filter((n) => n.metadata.labels?.['app.kubernetes.io/managed-by'] === 'meshbench').map((n) => n.metadata.name);
}

describe('meshbench CLI with a kubernetes scenario (API stand-in)', () => {
  it('run: the same result document and files as the local env, nothing left behind', async () => {
    const { scenario } = await standin();
    const out = join(dir, 'out');
    const run = await runCli(['run', scenario(), '--out', out, '--json', '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
      schemaVersion: number;
      environment: { kind: string; facts: Record<string, unknown> };
      verdict: { status: string };
      protocols: { name: string; variants: Record<string, { count: number }> }[];
    };
    expect(doc.environment.kind).toBe('kubernetes');
    expect(doc.verdict.status).toBe('pass');
    expect(Object.keys(doc.protocols[0]?.variants ?? {}).sort()).toEqual(['meshed', 'unmeshed']);
    expect(doc.protocols[0]?.variants['meshed']?.count).toBeGreaterThan(0);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(ourNamespaces()).toEqual([]);
    expect(api?.list('namespaces').map((n) => n.metadata.name)).toEqual(['team-payments']);
  });

  it('Ctrl-C during load: exit 2 and the namespaces are deleted', async () => {
    const started = { child: undefined as ReturnType<typeof startCli>['child'] | undefined };
    const { scenario } = await standin({
      onRequest: (method, path) => {
        if (method === 'PATCH' && path.includes('/jobs/load-') && started.child?.exitCode === null) started.child.kill('SIGINT');
      },
    });
    const cli = startCli(['run', scenario({ proxyMetrics: false }), '--out', join(dir, 'out-int'), '--quiet']);
    started.child = cli.child;
    const run = await cli.done;
    expect(run.code).toBe(2);
    expect(ourNamespaces()).toEqual([]);
    expect(api?.list('namespaces').map((n) => n.metadata.name)).toEqual(['team-payments']);
  });

  it.each([
    ['a kubeconfig that is not YAML', 3, (k: string) => (writeFileSync(k, '{{{ not yaml'), {}), /kubeconfig .* cannot be read/],
    ['a missing context', 3, () => ({ context: 'prod-eu' }), /env\.context: "prod-eu" is not a context in .* \(contexts in it: standin\)/],
    ['no metrics API', 4, () => ({}), /metrics\.k8s\.io is not served .*install metrics-server/],
  ])('%s: exit %i with a message, not a stack trace', async (_what, code, setup, message) => {
    const { kubeconfig, scenario } = await standin({ metricsApi: false });
    const env = setup(kubeconfig);
    const run = await runCli(['run', scenario(env), '--out', join(dir, 'out-err'), '--quiet']);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(ourNamespaces()).toEqual([]);
  });

  it('k8s cleanup removes meshbench leftovers by label and nothing else', async () => {
    const { kubeconfig } = await standin();
    const labels = (run: string) => ({ 'app.kubernetes.io/managed-by': 'meshbench', 'meshbench.dev/run': run });
    api?.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshbench-old1-meshed', labels: labels('old1') } });
    api?.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshbench-old2-meshed', labels: labels('old2') } });
    api?.seed('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'meshbench-lookalike' } }); // no label: not ours
    const dry = await runCli(['k8s', 'cleanup', '--kubeconfig', kubeconfig, '--dry-run']);
    expect(dry.stdout).toContain('would delete namespace meshbench-old1-meshed (run old1), meshbench-old2-meshed (run old2)');
    // neither --run nor --all: list only, so a concurrent run's namespaces survive
    const bare = await runCli(['k8s', 'cleanup', '--kubeconfig', kubeconfig]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('nothing deleted: pass --run <id> for one run, or --all');
    expect(ourNamespaces()).toEqual(['meshbench-old1-meshed', 'meshbench-old2-meshed']);
    const one = await runCli(['k8s', 'cleanup', '--kubeconfig', kubeconfig, '--run', 'old1']);
    expect(one.code).toBe(0);
    expect(ourNamespaces()).toEqual(['meshbench-old2-meshed']);
    const both = await runCli(['k8s', 'cleanup', '--kubeconfig', kubeconfig, '--all', '--run', 'old2']);
    expect(both.code).toBe(3);
    expect(ourNamespaces()).toEqual(['meshbench-old2-meshed']);
    await runCli(['k8s', 'cleanup', '--kubeconfig', kubeconfig, '--all']);
    expect(api?.list('namespaces').map((n) => n.metadata.name).sort()).toEqual(['meshbench-lookalike', 'team-payments']);
  });
});
