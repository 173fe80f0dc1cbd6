import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { renderCiSummary } from '../../src/report/ci-summary.js';
import { renderComparisonJunit, renderJunit, xmlEscape } from '../../src/report/junit.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { compareRuns } from '../../src/run/judge.js';
import { QUICKSTART_MODEL, syntheticDocument, syntheticProtocol } from '../fixtures/noise-model.js';

const parser = new XMLParser({
  ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, trimValues: false,
  processEntities: true, htmlEntities: true, isArray: (name) => ['testsuite', 'testcase'].includes(name),
});

interface JunitCase { '@name': string; '@classname': string; failure?: { '@message': string; '@type': string }; error?: { '@message': string; '@type': string } }
interface JunitSuite { '@name': string; '@tests': string; '@failures': string; '@errors': string; testcase: JunitCase[] }
interface Junit { testsuites: { '@tests': string; '@failures': string; '@errors': string; testsuite: JunitSuite[] } }

function parseJunit(xml: string): Junit {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml) as Junit;
}

const QUIET = { ...QUICKSTART_MODEL, stallsPerS: 2 };
const scenario = (budgets: Record<string, number>) => parseScenario({
  name: 'ci', rounds: 3, budgets,
  protocols: [{ name: 'http1', rateHz: 1000, durationS: 3 }, { name: 'grpc-bidi', rateHz: 1000, durationS: 3 }],
}, 'test');
const protocols = (extraUs: number) => [syntheticProtocol({ ...QUIET, meshedExtraUs: extraUs }, 1, 'http1'), syntheticProtocol(QUIET, 2, 'grpc-bidi')];

describe('junit.xml', () => {
  it('one suite per protocol, one case per budget plus validity; a failed budget carries figures and interval', () => {
    const doc = syntheticDocument(protocols(2000), scenario({ p99Ms: 50, p99OverheadMs: 0.5 }));
    const junit = parseJunit(renderJunit(doc));
    const suites = junit.testsuites.testsuite;
    expect(suites.map((s) => s['@name'])).toEqual(['meshbench.ci.http1', 'meshbench.ci.grpc-bidi']);
    const http1 = suites[0]?.testcase ?? [];
    expect(http1.map((c) => c['@name'])).toEqual(['run validity', 'unmeshed P99 ≤ 50 ms', 'meshed P99 ≤ 50 ms', 'meshed P99 overhead ≤ 0.5 ms', 'meshed error-rate overhead ≤ 0.100 %']);
    const failed = http1.find((c) => c.failure !== undefined);
    expect(failed?.failure?.['@type']).toBe('p99OverheadMs');
    expect(failed?.failure?.['@message']).toMatch(/^http1\/meshed: P99 overhead \d\.\d{3} ms \[\d\.\d{3}, \d\.\d{3}\] \(95 %\) > budget 0\.500 ms$/);
    expect(Number(junit.testsuites['@tests'])).toBe(10);
    expect(Number(junit.testsuites['@failures'])).toBe(doc.verdict.checks.filter((c) => c.status === 'fail').length);
  });

  it('an invalid run turns every check into an error, never a pass', () => {
    const doc = syntheticDocument(protocols(0), scenario({ p99Ms: 50 }));
    doc.verdict.validity.push({ protocol: 'http1', variant: 'meshed', round: 0, rule: 'maxErrorRate', detail: 'http1/meshed round 1: 5 % of requests failed' });
    const cases = parseJunit(renderJunit(doc)).testsuites.testsuite.flatMap((s) => s.testcase);
    expect(cases.filter((c) => c['@name'] !== 'run validity').every((c) => c.error?.['@type'] === 'inconclusive')).toBe(true);
    expect(cases[0]?.error?.['@message']).toMatch(/5 % of requests failed/); // http1's validity
  });

  it('compare: one case per protocol × figure; a regression is a failure', () => {
    const base = syntheticDocument(protocols(0), scenario({ p99Ms: 1000 }));
    const cand = syntheticDocument(protocols(2000), scenario({ p99Ms: 1000 }));
    const junit = parseJunit(renderComparisonJunit(compareRuns(base, cand, { toleranceMs: 0.5, toleranceRatio: 0, baselinePath: 'b', candidatePath: 'c' })));
    const http1 = junit.testsuites.testsuite[0]?.testcase ?? [];
    expect(http1.map((c) => c['@name'])).toEqual([
      'both runs valid', 'unmeshed P99 did not regress by more than 0.500 ms', 'meshed P99 did not regress by more than 0.500 ms', 'meshed P99 overhead did not regress by more than 0.500 ms',
    ]);
    expect(http1[3]?.failure?.['@type']).toBe('regression');
  });

  it('escapes any text so that it parses back to itself (law)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => {
      const xml = `<a b="${xmlEscape(text)}">${xmlEscape(text)}</a>`;
      expect(XMLValidator.validate(xml)).toBe(true);
      const parsed = parser.parse(xml) as { a: string | { '#text'?: string; '@b': string } };
      const clean = text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
      const node = typeof parsed.a === 'string' ? { '#text': parsed.a, '@b': '' } : parsed.a;
      expect(node['@b'] ?? '').toBe(clean);
      expect(node['#text'] ?? '').toBe(clean);
    }));
  });
});

describe('report.md and summary.md', () => {
  it('show each budget\'s estimate, interval and decision, and a plain-language conclusion', () => {
    const doc = syntheticDocument(protocols(300), scenario({ p99OverheadMs: 3 }));
    const md = renderMarkdown(doc);
    expect(md).toMatch(/On HTTP\/1\.1 the mesh adds \d\.\d\d ms \[-?\d\.\d\d, \d\.\d\d\] to p99; within the 3 ms budget\./);
    expect(md).toMatch(/On gRPC streams the mesh (adds|changes p99 by)/);
    expect(md).toMatch(/\| http1 \| meshed \| p99OverheadMs \| \d\.\d{3} \| \[-?\d\.\d{3}, \d\.\d{3}\] \| ≤ 3\.000 \| pass \|/);
    expect(md).toMatch(/Estimates with 95 % intervals/);
    expect(md).toMatch(/Per round:/);
    expect(renderCiSummary(doc)).toMatch(/^### meshbench ci: PASS\n\nOn HTTP\/1\.1 the mesh adds/);
  });
});
