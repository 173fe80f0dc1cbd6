import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/config/load.js';
import { MeshbenchError } from '../../src/errors.js';
import { scenariosDir } from '../../src/paths.js';

function problemsOf(text: string): string[] {
  try {
    parseScenarioText(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MeshbenchError);
    const e = err as MeshbenchError;
    expect(e.code).toBe('MB_BAD_SCENARIO');
    return [...e.problems];
  }
  throw new Error('expected the scenario to be rejected');
}

const minimal = 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  p99OverheadMs: 3\n';

describe('scenario schema', () => {
  it('fills defaults for a minimal scenario', () => {
    const s = parseScenarioText(minimal, 'min.yaml');
    expect(s.env).toEqual({ kind: 'local', haproxy: 'haproxy', sidecarMode: 'http', plantedDelayMs: 0, hops: 1, sidecars: 'both' });
    expect(s.rounds).toBe(4);
    expect(s.protocols[0]).toMatchObject({ name: 'http1', model: 'open', rateHz: 1000, connections: 16, path: '/', workers: 1 });
    expect(s.validity.maxErrorRate).toBe(0.01);
  });

  it.each(readdirSync(scenariosDir).filter((f) => f.endsWith('.yaml')))('shipped scenario %s is valid', (file) => {
    const s = parseScenarioText(readFileSync(join(scenariosDir, file), 'utf8'), file);
    expect(s.protocols.length).toBeGreaterThan(0);
  });

  it('the quickstart has the seed budgets and all three protocols', () => {
    const s = parseScenarioText(readFileSync(join(scenariosDir, 'quickstart.yaml'), 'utf8'), 'quickstart.yaml');
    expect(s.budgets).toEqual({ p99Ms: 5, p99OverheadMs: 3, errorRateOverhead: 0.001 });
    expect(s.protocols.map((p) => p.name)).toEqual(['http1', 'grpc-bidi', 'websocket']);
  });

  it.each([
    ['unknown top-level field', `${minimal}colour: blue\n`, /^\(root\): unknown field "colour"/],
    ['unknown protocol field', 'name: t\nprotocols:\n  - name: http1\n    rate: 5\n', /^protocols\[0\]: unknown field "rate"/],
    ['negative rate', 'name: t\nprotocols:\n  - name: http1\n    rateHz: -5\n', /^protocols\[0\]\.rateHz: .*>0/],
    ['wrong type', 'name: t\nprotocols:\n  - name: http1\n    connections: many\n', /^protocols\[0\]\.connections: .*number/],
    ['fractional connections', 'name: t\nprotocols:\n  - name: http1\n    connections: 1.5\n', /^protocols\[0\]\.connections: .*int/],
    ['unknown protocol', 'name: t\nprotocols:\n  - name: http3\n', /^protocols\[0\]\.name: must be one of "http1", "grpc-bidi", "grpc-unary", "websocket"/],
    ['no protocols', 'name: t\nprotocols: []\n', /^protocols: .*>=1/],
    ['duplicate protocol', 'name: t\nprotocols:\n  - name: http1\n  - name: http1\n', /^protocols\[1\]\.name: "http1" appears twice/],
    ['bad env kind', 'name: t\nenv:\n  kind: docker\nprotocols:\n  - name: http1\n', /^env\.kind: .*'local' \| 'static'/],
    ['workers above connections', 'name: t\nprotocols:\n  - name: http1\n    connections: 2\n    workers: 4\n', /^protocols\[0\]\.workers: workers \(4\) must not exceed connections \(2\)/],
    ['static target missing', 'name: t\nenv:\n  kind: static\n  variants:\n    unmeshed:\n      targets: {}\n    meshed:\n      targets:\n        http1: http://127.0.0.1:1/\nprotocols:\n  - name: http1\n', /^env\.variants\.unmeshed\.targets\.http1: required/],
    ['static target not a URL', 'name: t\nenv:\n  kind: static\n  variants:\n    unmeshed:\n      targets:\n        http1: nowhere\n    meshed:\n      targets:\n        http1: http://127.0.0.1:1/\nprotocols:\n  - name: http1\n', /^env\.variants\.unmeshed\.targets\.http1: /],
    ['bad name', 'name: Quick Start\nprotocols:\n  - name: http1\n', /^name: lower-case letters/],
    ['budget ratio below 1', 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  p99OverheadRatio: 0.5\n', /^budgets\.p99OverheadRatio: /],
    ['error-rate budget above 1', 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  p99Ms: 5\n  errorRateOverhead: 2\n', /^budgets\.errorRateOverhead: /],
    // no evidence is never a pass: a latency budget is required (the default error-rate budget does not count)
    ['no budgets at all', 'name: t\nprotocols:\n  - name: http1\n', /^budgets: no latency budget: add at least one of p99Ms, p99OverheadMs, p99OverheadRatio here \(e\.g\. budgets: \{ p99OverheadMs: 3 \}\) or in every protocol's budgets; /],
    ['only the error-rate budget', 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  errorRateOverhead: 0.01\n', /^budgets: no latency budget/],
    ['a latency budget in only some protocols', 'name: t\nprotocols:\n  - name: http1\n    budgets: { p99Ms: 5 }\n  - name: websocket\n', /^budgets: no latency budget: .*\(protocols without one: websocket\)/],
  ])('%s → one line naming the field', (_label, text, pattern) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => pattern.test(p)), problems.join('\n')).toBe(true);
  });

  it.each([
    ['scenario-wide', 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  p99OverheadRatio: 2\n'],
    ['in every protocol', 'name: t\nprotocols:\n  - name: http1\n    budgets: { p99Ms: 5 }\n  - name: websocket\n    budgets: { p99OverheadMs: 1 }\n'],
    ['with the error-rate budget switched off', 'name: t\nprotocols:\n  - name: http1\nbudgets:\n  p99Ms: 5\n  errorRateOverhead: null\n'],
  ])('accepts a latency budget set %s', (_label, text) => {
    expect(parseScenarioText(text, 'test.yaml').budgets).toBeDefined();
  });

  it('reports every problem, not just the first', () => {
    const problems = problemsOf('name: t\nrounds: 0\nprotocols:\n  - name: http1\n    rateHz: -1\n    payloadBytes: -3\nbudgets:\n  p99Ms: 5\n');
    expect(problems.length).toBe(3);
  });

  it('rejects YAML syntax errors with a line number', () => {
    const problems = problemsOf('name: t\nprotocols: [\n');
    expect(problems[0]).toMatch(/^line \d+: /);
  });
});
