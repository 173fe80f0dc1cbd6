import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument } from '../../src/result.js';
import { isAlive, runCli } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-topology-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EXIT_OF = { pass: 0, fail: 1, inconclusive: 2 } as const;
const ROUNDS = 3;
const RATE_HZ = 200;
const DURATION_S = 1;

/** A shipped scenario with its load cut short (what is tested is the topology, not the figures). */
function shortened(name: string): string {
  const scenario = parse(readFileSync(join(packageRoot, 'scenarios', `${name}.yaml`), 'utf8')) as { rounds: number; protocols: Record<string, unknown>[] };
  scenario.rounds = ROUNDS;
  scenario.protocols = scenario.protocols.map((p) => ({ ...p, rateHz: RATE_HZ, connections: 4, durationS: DURATION_S, warmupS: 0.3, firstWarmupS: 1.5 }));
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, stringify(scenario));
  return file;
}

async function runShipped(name: string): Promise<{ doc: ResultDocument; out: string; code: number | null; log: string }> {
  const out = join(work, name);
  const run = await runCli(['run', shortened(name), '--out', out]);
  const log = `${run.stdout}\n${run.stderr}`;
  const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
  // every relay, echo and sidecar the run started (result.json records their pids) is gone
  const facts = doc.environment.facts as { echoes: { pid: number }[]; sidecars: Record<string, { pid: number }>; relays?: { pid: number }[] };
  const pids = [...facts.echoes, ...Object.values(facts.sidecars), ...(facts.relays ?? [])].map((p) => p.pid);
  expect(pids.length).toBeGreaterThanOrEqual(3);
  expect(pids.filter(isAlive), log).toEqual([]);
  return { doc, out, code: run.code, log };
}

/** An open loop's requests: never more than intended, none failed (a busy machine may leave some unsent). */
function expectCounts(variant: { count: number; errors: number } | undefined): void {
  expect(variant?.errors).toBe(0);
  expect(variant?.count).toBeGreaterThan(0);
  expect(variant?.count).toBeLessThanOrEqual(RATE_HZ * DURATION_S * ROUNDS);
}

function proofOf(doc: ResultDocument, variant: string): string {
  return doc.proofs.find((p) => p.variant === variant && p.protocol === 'http1')?.detail ?? '';
}

describe('topologies (e2e: real relays, echoes and HAProxy sidecars)', () => {
  it('scenarios/chain.yaml: three hops, each meshed hop through its own mTLS pair; per-hop overhead in report.md', async () => {
    const { doc, out, code, log } = await runShipped('chain');
    expect(code, log).toBe(EXIT_OF[doc.verdict.status]);
    expect(doc.environment.facts).toMatchObject({ hops: 3, sidecarPlacement: 'both' });
    // the proof saw every hop: mTLS all the way meshed, direct all the way unmeshed
    expect(proofOf(doc, 'meshed')).toMatch(/x-echo-x-forwarded-client-cert: By=spiffe:.*every one of 3 hops mtls \(x-echo-chain: mtls, mtls, mtls\)/);
    expect(proofOf(doc, 'unmeshed')).toMatch(/every one of 3 hops direct \(x-echo-chain: direct, direct, direct\)/);
    const http1 = doc.protocols[0];
    for (const variant of ['unmeshed', 'meshed']) expectCounts(http1?.variants[variant]);
    expect((doc.environment.facts['relays'] as unknown[]).length).toBe(2);
    // six sidecars, two per hop, each sampled
    expect(http1?.variants['meshed']?.proxies.map((p) => p.name).sort()).toEqual(['hop1-client-sidecar', 'hop1-server-sidecar', 'hop2-client-sidecar', 'hop2-server-sidecar', 'hop3-client-sidecar', 'hop3-server-sidecar']);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/A chain of 3 services, each calling the next: .* meshed adds -?[\d.]+ ms at p50 over the chain, -?[\d.]+ ms per hop\./);
    expect(report).toMatch(/\| meshed − unmeshed \| p50 \| .* \| after 1 hop -?[\d.]+ · after 2 hops -?[\d.]+ · after 3 hops -?[\d.]+ \|/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('id="per-hop"');
    expect(html).toMatch(/after 1 hop -?[\d.]+ · after 2 hops -?[\d.]+ · after 3 hops -?[\d.]+/);
    const p50 = http1?.overhead['meshed']?.p50Us ?? NaN;
    console.log(`chain of 3: p50 overhead ${(p50 / 1000).toFixed(3)} ms (${(p50 / 3000).toFixed(3)} ms per hop), verdict ${doc.verdict.status}`);
  });

  it.each([
    ['client', 'client-sidecar'],
    ['server', 'server-sidecar'],
  ])('scenarios/sidecars-%s-only.yaml: one sidecar, clear text, proven by its via header', async (side, proxy) => {
    const { doc, code, log } = await runShipped(`sidecars-${side}-only`);
    expect(code, log).toBe(EXIT_OF[doc.verdict.status]);
    expect(doc.environment.facts).toMatchObject({ hops: 1, sidecarPlacement: `${side}-only`, mtls: expect.stringMatching(/^none: /) });
    expect(doc.proofs.find((p) => p.variant === 'meshed')?.expect).toEqual({ kind: 'header', header: 'via' });
    expect(proofOf(doc, 'meshed')).toContain(`x-echo-via: 1.1 ${side}-sidecar`);
    expect(proofOf(doc, 'meshed')).not.toContain('x-forwarded-client-cert');
    expect(proofOf(doc, 'unmeshed')).toMatch(/no mesh marker came back/);
    const http1 = doc.protocols[0];
    expectCounts(http1?.variants['meshed']);
    expect(http1?.variants['meshed']?.proxies.map((p) => p.name)).toEqual([proxy]);
  });
});
