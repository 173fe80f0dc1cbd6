import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFLECT_PREFIX, REFLECTED_HEADERS } from '../../src/protocols.js';
import { reflectHeaders, REFLECTED_RESPONSE_NAMES, type IncomingHeaders } from '../../src/workloads/reflect.js';

describe('reflectHeaders', () => {
  const cases: { name: string; headers: IncomingHeaders; expected: string[] }[] = [
    { name: 'no headers', headers: {}, expected: [] },
    { name: 'only unrelated headers', headers: { host: 'a', 'content-length': '3', 'x-other': 'y' }, expected: [] },
    {
      name: 'one reflected header among others',
      headers: { host: 'a', traceparent: '00-abc-def-01' },
      expected: ['x-echo-traceparent', '00-abc-def-01'],
    },
    {
      name: 'REFLECTED_HEADERS order, not input order',
      headers: { 'l5d-client-id': 'client.ns', b3: '1-2-1', traceparent: 't' },
      expected: ['x-echo-traceparent', 't', 'x-echo-b3', '1-2-1', 'x-echo-l5d-client-id', 'client.ns'],
    },
    { name: 'empty value is reflected (it was carried)', headers: { 'x-request-id': '' }, expected: ['x-echo-x-request-id', ''] },
    {
      name: 'repeated values are joined as HTTP folds them',
      headers: { 'x-forwarded-client-cert': ['By=a', 'By=b'] },
      expected: ['x-echo-x-forwarded-client-cert', 'By=a, By=b'],
    },
    {
      name: 'binary values are skipped, strings kept',
      headers: { 'x-b3-sampled': [Buffer.from('1'), '1'], 'x-b3-flags': [Buffer.from('x')] },
      expected: ['x-echo-x-b3-sampled', '1'],
    },
    { name: 'empty value list counts as absent', headers: { 'x-b3-traceid': [] }, expected: [] },
    { name: 'explicit undefined counts as absent', headers: { tracestate: undefined }, expected: [] },
    { name: 'names are matched exactly (lower case)', headers: { Traceparent: 'x' }, expected: [] },
  ];

  it.each(cases)('$name', ({ headers, expected }) => {
    expect(reflectHeaders(headers)).toEqual(expected);
  });

  it('reflects every REFLECTED_HEADERS entry under x-echo-<name>', () => {
    const headers = Object.fromEntries(REFLECTED_HEADERS.map((name) => [name, `v-${name}`]));
    const out = reflectHeaders(headers);
    expect(out).toHaveLength(REFLECTED_HEADERS.length * 2);
    REFLECTED_HEADERS.forEach((name, i) => {
      expect(out[2 * i]).toBe(REFLECT_PREFIX + name);
      expect(out[2 * i + 1]).toBe(`v-${name}`);
    });
  });

  it('appends to the array it is given and returns it', () => {
    const out = ['content-length', '5'];
    expect(reflectHeaders({ b3: '0' }, out)).toBe(out);
    expect(out).toEqual(['content-length', '5', 'x-echo-b3', '0']);
  });

  it('precomputes the prefixed names in REFLECTED_HEADERS order', () => {
    expect(REFLECTED_RESPONSE_NAMES).toEqual(REFLECTED_HEADERS.map((name) => `x-echo-${name}`));
  });

  it('reflects exactly the reflected headers present, with their values', () => {
    const headerName = fc.oneof(fc.constantFrom(...REFLECTED_HEADERS), fc.string({ minLength: 1, maxLength: 12 }));
    const headerValue = fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue), (headers) => {
        const out = reflectHeaders(headers);
        const expected = REFLECTED_HEADERS.filter((name) => Object.hasOwn(headers, name)).flatMap((name) => {
          const value = headers[name] as string | string[];
          return [REFLECT_PREFIX + name, typeof value === 'string' ? value : value.join(', ')];
        });
        expect(out).toEqual(expected);
      }),
    );
  });
});
