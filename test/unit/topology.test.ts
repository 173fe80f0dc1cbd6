import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderUp, type UpInfo } from '../../src/cli/up.js';
import { parseScenarioText } from '../../src/config/load.js';
import type { SidecarPlacement } from '../../src/config/schema.js';
import { checkProbe } from '../../src/envs/proof.js';
import { MESH_PROFILES, meshedExpectation } from '../../src/envs/kubernetes/meshes.js';
import { checkPods } from '../../src/envs/kubernetes/prove.js';
import { renderFiles } from '../../src/envs/kubernetes/render.js';
import { packageRoot } from '../../src/paths.js';
import { renderClientSidecar, renderServerSidecar, sidecarsOf, type SidecarMode, type SidecarPlan } from '../../src/envs/local/haproxy-config.js';
import { createPki, type PkiFiles } from '../../src/envs/local/pki.js';
import { hopsSentence, hopsTable, topologyOf } from '../../src/report/topology.js';
import type { MeshExpectation, ProtocolResult, ResultDocument } from '../../src/result.js';
import { chainOf, forwardedHeaders, hopMark } from '../../src/workloads/relay.js';
import { problemsOf } from '../scenario-problems.js';

const run = promisify(execFile);

const scenario = (env: string, protocols = '[{ name: http1 }]'): string => `name: t\nenv: ${env}\nprotocols: ${protocols}\nbudgets: { p99OverheadMs: 3 }\n`;

describe('scenario: env.hops and env.sidecars', () => {
  it('defaults to one hop with both sidecars', () => {
    const s = parseScenarioText(scenario('{ kind: local }'), 't.yaml');
    expect(s.env).toMatchObject({ hops: 1, sidecars: 'both' });
  });

  it.each([
    ['hops 3, client-only', '{ kind: local, hops: 3, sidecars: client-only }', { hops: 3, sidecars: 'client-only' }],
    ['server-only, tcp', '{ kind: local, sidecars: server-only, sidecarMode: tcp }', { hops: 1, sidecars: 'server-only' }],
    ['kubernetes client-only', '{ kind: kubernetes, mesh: istio-sidecar, sidecars: client-only }', { sidecars: 'client-only' }],
  ])('accepts %s', (_name, env, expected) => {
    expect(parseScenarioText(scenario(env), 't.yaml').env).toMatchObject(expected);
  });

  it.each([
    ['hops 0', scenario('{ kind: local, hops: 0 }'), /^env\.hops: /],
    ['hops 9', scenario('{ kind: local, hops: 9 }'), /^env\.hops: /],
    ['hops 1.5', scenario('{ kind: local, hops: 1.5 }'), /^env\.hops: /],
    ['an unknown placement', scenario('{ kind: local, sidecars: ingress }'), /^env\.sidecars: /],
    ['gRPC in a chain', scenario('{ kind: local, hops: 2 }', '[{ name: http1 }, { name: grpc-bidi }]'), /^protocols\[1\]\.name: .*HTTP\/1\.1 only/],
    ['websocket in a chain', scenario('{ kind: local, hops: 2 }', '[{ name: websocket }]'), /^protocols\[0\]\.name: /],
    ['one-sided placement on ambient', scenario('{ kind: kubernetes, mesh: istio-ambient, sidecars: server-only }'), /^env\.sidecars: .*runs none/],
    ['hops on a static env', scenario('{ kind: static, hops: 2, variants: { unmeshed: { targets: { http1: "http://a:1/" } }, meshed: { targets: { http1: "http://b:1/" } } } }'), /^env(\.hops)?: /],
  ])('rejects %s, naming the field path', (_name, text, problem) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => problem.test(p)), problems.join('\n')).toBe(true);
  });
});

const FILES = { caFile: '/p/ca.pem', serverPem: '/p/server.pem', clientPem: '/p/client.pem', identitiesMap: '/p/identities.map' };

function planFor(mode: SidecarMode, placement: SidecarPlacement, files: SidecarPlan['files'] = FILES): SidecarPlan {
  return {
    mode,
    placement,
    clientPorts: { http: 21001, grpc: mode === 'http' ? 21001 : 21002 },
    serverPorts: { http: 21003, grpc: mode === 'http' ? 21003 : 21004 },
    echoes: [{ host: '127.0.0.1', httpPort: 21005, grpcPort: 21006 }],
    bindHost: '127.0.0.1',
    files,
    maxconn: 9000,
  };
}

describe('sidecar placement', () => {
  it.each([
    ['both', { client: true, server: true, entry: 'client' }],
    ['client-only', { client: true, server: false, entry: 'client' }],
    ['server-only', { client: false, server: true, entry: 'server' }],
  ] as const)('%s runs the sidecars it names', (placement, expected) => {
    expect(sidecarsOf(planFor('http', placement))).toEqual(expected);
  });

  it.each([
    ['client-only', renderClientSidecar, 'bind 127.0.0.1:21001', 'via "1.1 client-sidecar"'],
    ['server-only', renderServerSidecar, 'bind 127.0.0.1:21003', 'via "1.1 server-sidecar"'],
  ] as const)('%s (http): its one sidecar binds clear text, marks the request with via and goes straight to the echoes', (placement, render, bind, via) => {
    const cfg = render(planFor('http', placement));
    expect(cfg).toContain(`    ${bind}\n`);
    expect(cfg).toContain(`http-request set-header ${via}`);
    expect(cfg).toContain('http-request del-header x-forwarded-client-cert');
    expect(cfg).toContain('server echo1 127.0.0.1:21005');
    expect(cfg).toContain('server echo1 127.0.0.1:21006 proto h2');
    expect(cfg).not.toMatch(/ ssl crt | ca-file /);
  });

  it.each(['client-only', 'server-only'] as const)('%s (tcp): plain tunnels for both echo ports, no TLS, no headers', (placement) => {
    const render = placement === 'client-only' ? renderClientSidecar : renderServerSidecar;
    const cfg = render(planFor('tcp', placement));
    expect(cfg.match(/^listen /gm)).toHaveLength(2);
    expect(cfg).not.toMatch(/ ssl crt | ca-file |http-request/);
  });

  it('both: unchanged mTLS pair (no via)', () => {
    const plan = planFor('http', 'both');
    expect(renderClientSidecar(plan)).toContain('ssl crt');
    expect(renderServerSidecar(plan)).toContain('verify required');
    expect(renderClientSidecar(plan) + renderServerSidecar(plan)).not.toContain('via');
  });

  describe('with a real PKI', () => {
    let dir = '';
    let pki: PkiFiles;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'meshbench-topology-'));
      pki = await createPki(dir);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it.each([
      ['http', 'client-only'],
      ['http', 'server-only'],
      ['tcp', 'client-only'],
      ['tcp', 'server-only'],
    ] as const)('haproxy -c accepts the %s-mode %s sidecar', async (mode, placement) => {
      const plan = planFor(mode, placement, pki);
      const file = join(dir, `${mode}-${placement}.cfg`);
      await writeFile(file, placement === 'client-only' ? renderClientSidecar(plan) : renderServerSidecar(plan));
      const { stdout } = await run('haproxy', ['-c', '-f', file]);
      expect(stdout).toContain('Configuration file is valid');
    });
  });
});

describe('relay', () => {
  it.each([
    [{ 'x-forwarded-client-cert': 'By=a' }, '', 'mtls'],
    [{ 'l5d-client-id': 'sa.ns' }, '', 'mtls'],
    [{ via: '1.1 client-sidecar' }, '', 'sidecar'],
    [{ 'x-forwarded-client-cert': '' }, '', 'direct'],
    [{}, '', 'direct'],
    [{ 'x-echo-x-forwarded-client-cert': 'By=a' }, 'x-echo-', 'mtls'],
    [{ 'x-echo-via': '1.1 server-sidecar' }, 'x-echo-', 'sidecar'],
  ] as const)('hopMark(%j, %j) = %s', (headers, prefix, mark) => {
    expect(hopMark(headers, prefix)).toBe(mark);
  });

  it.each([
    ['the echo behind (its reflection)', { 'x-echo-x-forwarded-client-cert': 'By=a' }, 'mtls, mtls'],
    ['a relay behind (its chain)', { 'x-echo-chain': 'mtls, mtls', 'x-echo-x-forwarded-client-cert': 'By=a' }, 'mtls, mtls, mtls'],
    ['a direct echo', {}, 'mtls, direct'],
  ])('chainOf: own mark, then %s', (_name, downstream, chain) => {
    expect(chainOf('mtls', downstream)).toBe(chain);
  });

  it('forwards end-to-end headers, never hop-by-hop ones or another hop\'s mesh markers', () => {
    const out = forwardedHeaders({
      traceparent: 'tp',
      'x-request-id': 'r',
      'content-type': 'text/plain',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      host: 'a',
      'content-length': '3',
      'transfer-encoding': 'chunked',
      'x-forwarded-client-cert': 'By=a',
      'l5d-client-id': 'id',
      via: '1.1 x',
    });
    expect(out).toEqual({ traceparent: 'tp', 'x-request-id': 'r', 'content-type': 'text/plain', 'content-length': '3' });
  });
});

describe('proof of a chain: every hop as the first', () => {
  const XFCC: MeshExpectation = { kind: 'header', header: 'x-forwarded-client-cert' };
  const VIA: MeshExpectation = { kind: 'header', header: 'via' };
  it.each([
    ['meshed, all mTLS', XFCC, { 'x-echo-x-forwarded-client-cert': 'By=a', 'x-echo-chain': 'mtls, mtls, mtls' }, true],
    ['meshed, hop 2 direct', XFCC, { 'x-echo-x-forwarded-client-cert': 'By=a', 'x-echo-chain': 'mtls, direct, mtls' }, false],
    ['unmeshed, all direct', { kind: 'none' } as MeshExpectation, { 'x-echo-chain': 'direct, direct' }, true],
    ['unmeshed, hop 2 meshed', { kind: 'none' } as MeshExpectation, { 'x-echo-chain': 'direct, mtls' }, false],
    ['one-sided, all through a sidecar', VIA, { 'x-echo-via': '1.1 client-sidecar', 'x-echo-chain': 'sidecar, sidecar' }, true],
    ['one-sided, last hop direct', VIA, { 'x-echo-via': '1.1 client-sidecar', 'x-echo-chain': 'sidecar, direct' }, false],
    ['L4, unverified', { kind: 'unverified', why: 'L4' } as MeshExpectation, { 'x-echo-chain': 'direct, direct' }, true],
  ])('%s', (_name, expect_, headers, ok) => {
    const verdict = checkProbe(expect_, { status: 200, headers }, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(verdict.ok, verdict.detail).toBe(ok);
    if (!ok) expect(verdict.detail).toMatch(/hop 2 of \d was reached/);
    else expect(verdict.detail).toMatch(/every one of \d hops/);
  });
});

describe('report: per-hop overhead', () => {
  const protocol = (p50Us: number, p99Us: number): ProtocolResult =>
    ({ name: 'http1', overhead: { meshed: { p50Us, p90Us: 0, p99Us, p999Us: p99Us * 2, p99Ratio: 1 } } }) as unknown as ProtocolResult;
  const doc = (facts: Record<string, unknown>): ResultDocument => ({ environment: { facts } }) as unknown as ResultDocument;

  it.each([
    [{ hops: 3, sidecarPlacement: 'client-only' }, { hops: 3, placement: 'client-only' }],
    [{ hops: 1, sidecarPlacement: 'both' }, null],
    [{}, null],
    [{ hops: 'three' }, null],
  ])('topologyOf(%j)', (facts, expected) => {
    expect(topologyOf(doc(facts))).toEqual(expected);
  });

  it('per hop is the chain overhead ÷ hops, and k hops come to k × per hop', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: -5_000, max: 50_000 }), (hops, p50Us) => {
        const row = hopsTable(protocol(p50Us, 1000), undefined, hops).rows[0] as string[];
        expect(Number(row[2])).toBeCloseTo(p50Us / 1000, 3);
        expect(Number(row[3])).toBeCloseTo(p50Us / 1000 / hops, 2);
        const steps = (row[4] as string).split(' · ').map((s) => Number(s.split(' ').at(-1)));
        expect(steps).toHaveLength(hops);
        steps.forEach((v, k) => expect(v).toBeCloseTo(((k + 1) * p50Us) / hops / 1000, 2));
      }),
    );
  });

  it('divides the interval by the hops too, and says so in one sentence', () => {
    const estimates = { protocol: 'http1', variants: {}, overhead: { meshed: { p50Us: { estimate: 600, low: 300, high: 900, confidence: 0.95 }, p99Us: null, p999Us: null, p99Ratio: null } } };
    const table = hopsTable(protocol(610, 1000), estimates as never, 3);
    expect(table.rows[0]).toEqual(['meshed − unmeshed', 'p50', '0.600 [0.300, 0.900]', '0.200 [0.100, 0.300]', 'after 1 hop 0.200 · after 2 hops 0.400 · after 3 hops 0.600']);
    expect(hopsSentence(protocol(610, 1000), estimates as never, { hops: 3, placement: 'both' })).toMatch(/chain of 3 services.*meshed adds 0\.600 ms at p50 over the chain, 0\.200 ms per hop/);
  });
});

describe('kubernetes: sidecar placement per pod (render level)', () => {
  const podsOf = async (mesh: string, sidecars: string, text = scenario_(`{ kind: kubernetes, mesh: ${mesh}, sidecars: ${sidecars} }`)): Promise<Record<string, Record<string, string>>> => {
    const scenario = parseScenarioText(text, 't.yaml');
    const files = await renderFiles(scenario, { runId: 'test', image: 'meshbench:dev' });
    const out: Record<string, Record<string, string>> = {};
    for (const [path, text] of files) {
      for (const doc of parseAllDocuments(text).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } })) {
        if (doc.kind !== 'Deployment' && doc.kind !== 'Job') continue;
        const ns = doc.metadata?.namespace?.endsWith('-meshed') === true ? 'meshed' : 'unmeshed';
        const generator = doc.kind === 'Job' || doc.metadata?.name?.startsWith('pilot-generator') === true;
        out[`${ns} ${generator ? `generator (${path})` : 'echo'}`] = doc.spec?.template?.metadata?.annotations ?? {};
      }
    }
    return out;
  };
  const scenario_ = (env: string): string => `name: t\nenv: ${env}\nprotocols: [{ name: http1, connections: 2 }]\nbudgets: { p99OverheadMs: 3 }\n`;

  it.each([
    ['istio-sidecar', 'client-only', 'sidecar.istio.io/inject', 'false', 'echo'],
    ['istio-sidecar', 'server-only', 'sidecar.istio.io/inject', 'false', 'generator'],
    ['linkerd', 'client-only', 'linkerd.io/inject', 'disabled', 'echo'],
    ['linkerd', 'server-only', 'linkerd.io/inject', 'disabled', 'generator'],
  ])('%s %s: the meshed %s pods opt out; the placed side keeps its proxy settings', async (mesh, sidecars, key, value, optedOut) => {
    const pods = await podsOf(mesh, sidecars);
    const meshed = Object.entries(pods).filter(([name]) => name.startsWith('meshed '));
    expect(meshed.length).toBeGreaterThanOrEqual(2);
    for (const [name, annotations] of meshed) {
      if (name.includes(optedOut)) expect(annotations[key], name).toBe(value);
      else expect(annotations[key], name).toBeUndefined();
    }
    // the generator's proxy hooks (hold until the proxy starts, shutdown endpoint) only where it has a proxy
    const generatorHooks = Object.entries(pods).filter(([name]) => name.startsWith('meshed generator')).map(([, a]) => Object.keys(a).some((k) => k.startsWith('proxy.istio.io') || k.startsWith('config.linkerd.io/proxy-a')));
    expect(generatorHooks.every((h) => h === (sidecars === 'client-only'))).toBe(true);
  });

  it('both (the default) renders no opt-out anywhere in the meshed namespace', async () => {
    const pods = await podsOf('istio-sidecar', 'both');
    for (const [name, annotations] of Object.entries(pods)) if (name.startsWith('meshed ')) expect(annotations['sidecar.istio.io/inject'], name).toBeUndefined();
  });

  it.each([
    ['client-only', 'istio-proxy in the generator pods only'],
    ['server-only', 'istio-proxy in the echo pods only'],
  ] as const)('%s: the pod check wants the proxy exactly in the placed pods, and the probe is unverified', (placement, detail) => {
    const pod = (name: string, role: string, proxy: boolean) => ({ metadata: { name, labels: { 'app.kubernetes.io/component': role } }, spec: { containers: [{ name: role }, ...(proxy ? [{ name: 'istio-proxy' }] : [])] } });
    const generatorHasIt = placement === 'client-only';
    const right = [pod('g', 'generator', generatorHasIt), pod('e', 'echo', !generatorHasIt)];
    const wrong = [pod('g', 'generator', true), pod('e', 'echo', true)];
    expect(checkPods(MESH_PROFILES['istio-sidecar'], true, right, placement)).toMatchObject({ ok: true, detail: expect.stringContaining(detail) });
    expect(checkPods(MESH_PROFILES['istio-sidecar'], true, wrong, placement)).toMatchObject({ ok: false, detail: expect.stringContaining(generatorHasIt ? 'e' : 'g') });
    expect(meshedExpectation(MESH_PROFILES['istio-sidecar'], placement).kind).toBe('unverified');
    expect(meshedExpectation(MESH_PROFILES['istio-sidecar'], 'both')).toEqual({ kind: 'header', header: 'x-forwarded-client-cert' });
  });

  it('the shipped example (scenarios/k8s-istio-client-only.yaml) renders the generator with its sidecar and the echo without', async () => {
    const pods = await podsOf('', '', readFileSync(join(packageRoot, 'scenarios', 'k8s-istio-client-only.yaml'), 'utf8'));
    expect(pods['meshed echo']?.['sidecar.istio.io/inject']).toBe('false');
    const generators = Object.entries(pods).filter(([name]) => name.startsWith('meshed generator'));
    expect(generators.length).toBeGreaterThan(0);
    for (const [name, annotations] of generators) expect(annotations, name).toMatchObject({ 'sidecar.istio.io/proxyCPU': '100m' });
  });
});

describe('meshbench up text for a topology', () => {
  const info = (topology?: UpInfo['topology']): UpInfo => ({
    scenario: 's',
    sidecarMode: 'http',
    variants: [
      { name: 'unmeshed', targets: { http1: 'http://127.0.0.1:1001/' } },
      { name: 'meshed', targets: { http1: 'http://127.0.0.1:2001/' } },
    ],
    serverSidecar: { address: '127.0.0.1:3001', serverName: 'echo.meshbench.local', caFile: '/t/ca.pem', clientPem: '/t/client.pem' },
    dir: '/t',
    pids: [1],
    ...(topology === undefined ? {} : { topology }),
  });
  it.each([
    [undefined, 'client → sidecar A → mTLS → sidecar B → the echo replicas', true],
    [{ hops: 3, sidecars: 'both' }, 'client → sidecar A → mTLS → sidecar B → relay 1 → … → relay 2 → sidecar A → mTLS → sidecar B → the echo replicas, 3 hops', true],
    [{ hops: 1, sidecars: 'client-only' }, 'client → sidecar A → the echo replicas', false],
    [{ hops: 2, sidecars: 'server-only' }, 'client → sidecar B → relay 1 → sidecar B → the echo replicas, 2 hops', false],
  ] as const)('%j: the meshed path in words; sidecar B\'s mTLS address only where B does mTLS', (topology, path, mtls) => {
    const text = renderUp(info(topology), '/proto');
    expect(text).toContain(`meshed (${path})`);
    expect(text.includes('https://127.0.0.1:3001')).toBe(mtls);
  });
});
