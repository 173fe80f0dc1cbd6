import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../src/drivers/driver.js';
import type { RunningEnv } from '../../src/envs/env.js';
import type { MeshExpectation } from '../../src/result.js';
import { checkProbe, newTraceparent, provePaths, type ProbeFn } from '../../src/envs/proof.js';
import { isMeshbenchError } from '../../src/errors.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const HEADER: MeshExpectation = { kind: 'header', header: 'x-forwarded-client-cert' };

function reply(status: number | string, headers: Record<string, string>): ProbeResult {
  return { status, headers };
}

describe('checkProbe', () => {
  const cases: [string, MeshExpectation, ProbeResult, boolean, RegExp][] = [
    ['header present', HEADER, reply(200, { 'x-echo-x-forwarded-client-cert': 'By=a;Hash=b' }), true, /x-echo-x-forwarded-client-cert: By=a;Hash=b/],
    ['header missing', HEADER, reply(200, { 'x-echo-traceparent': TP }), false, /did not come back.*reflected: x-echo-traceparent/],
    ['header empty', HEADER, reply('OK', { 'x-echo-x-forwarded-client-cert': '' }), false, /did not come back/],
    ['header name matched case-insensitively', { kind: 'header', header: 'L5D-Client-Id' }, reply(101, { 'x-echo-l5d-client-id': 'sa.ns' }), true, /sa\.ns/],
    ['none and clean', { kind: 'none' }, reply(204, {}), true, /no mesh marker/],
    ['none but xfcc came back', { kind: 'none' }, reply(200, { 'x-echo-x-forwarded-client-cert': 'By=x' }), false, /x-forwarded-client-cert came back/],
    ['none but l5d-client-id came back', { kind: 'none' }, reply('OK', { 'x-echo-l5d-client-id': 'id' }), false, /l5d-client-id came back/],
    ['unverified', { kind: 'unverified', why: 'L4' }, reply(200, {}), true, /unverified: L4/],
    ['error status fails whatever the expectation', { kind: 'none' }, reply(503, {}), false, /status 503/],
    ['gRPC error status fails', { kind: 'unverified', why: 'L4' }, reply('UNIMPLEMENTED', {}), false, /status UNIMPLEMENTED/],
  ];
  it.each(cases)('%s', (_name, expectation, result, ok, detail) => {
    const verdict = checkProbe(expectation, result, TP);
    expect(verdict.ok).toBe(ok);
    expect(verdict.detail).toMatch(detail);
  });

  it.each([
    [TP, 'propagated unchanged'],
    ['00-0af7651916cd43dd8448eb211c80319c-0000000000000001-01', 'trace id kept'],
    ['00-11111111111111111111111111111111-b7ad6b7169203331-01', 'changed to'],
    [undefined, 'not propagated'],
  ])('records traceparent propagation (%s)', (echoed, note) => {
    const headers: Record<string, string> = echoed === undefined ? {} : { 'x-echo-traceparent': echoed };
    expect(checkProbe({ kind: 'none' }, reply(200, headers), TP).detail).toContain(note);
  });
});

describe('newTraceparent', () => {
  it('is a valid, fresh W3C traceparent', () => {
    const a = newTraceparent();
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(newTraceparent()).not.toBe(a);
  });
});

describe('provePaths', () => {
  const env: RunningEnv = {
    kind: 'test',
    facts: {},
    variants: [
      { name: 'unmeshed', targets: { http1: 'http://u/', 'grpc-unary': 'u:1' }, expect: { kind: 'none' } },
      { name: 'meshed', targets: { http1: 'http://m/', 'grpc-unary': 'm:1' }, expect: HEADER },
    ],
    sampleProxies: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  /** An echo: reflects traceparent; adds xfcc only on targets starting with "http://m" or "m:". */
  const echo: ProbeFn = (_protocol, options) => {
    const headers: Record<string, string> = { 'x-echo-traceparent': options.headers['traceparent'] ?? '' };
    if (/^(http:\/\/m|m:)/.test(options.target)) headers['x-echo-x-forwarded-client-cert'] = 'By=b;Subject="CN=c"';
    return Promise.resolve({ status: 200, headers });
  };

  it('returns one ok record per variant × protocol, with a fresh traceparent each', async () => {
    const sent: string[] = [];
    const records = await provePaths(env, ['http1', 'grpc-unary'], (p, o, t) => {
      sent.push(o.headers['traceparent'] ?? '');
      return echo(p, o, t);
    });
    expect(records.map((r) => [r.variant, r.protocol, r.ok])).toEqual([
      ['unmeshed', 'http1', true],
      ['unmeshed', 'grpc-unary', true],
      ['meshed', 'http1', true],
      ['meshed', 'grpc-unary', true],
    ]);
    expect(records[2]?.marker).toBe('By=b;Subject="CN=c"');
    expect(new Set(sent).size).toBe(4);
  });

  it('throws MB_MESH_UNPROVEN naming the variant/protocol and what was seen', async () => {
    const leaky: ProbeFn = (p, o, t) => echo(p, { ...o, target: o.target.replace('http://u', 'http://m') }, t);
    const err: unknown = await provePaths(env, ['http1', 'grpc-unary'], leaky).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MESH_UNPROVEN');
    expect(String((err as Error).message)).toMatch(/unmeshed\/http1: mesh marker x-forwarded-client-cert came back/);
    expect((err as { problems: string[] }).problems).toHaveLength(1);
  });

  it('a probe that fails is a failed proof, and a missing target too', async () => {
    const down: ProbeFn = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const err: unknown = await provePaths(env, ['websocket', 'http1'], down).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MESH_UNPROVEN');
    const problems = (err as { problems: string[] }).problems;
    expect(problems).toContain('unmeshed/websocket: the environment has no target for this protocol');
    expect(problems).toContain('meshed/http1: http://m/ did not answer the probe: connect ECONNREFUSED');
  });
});
