import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderUp, type UpInfo } from '../../src/cli/up.js';
import { misread } from '../../src/drivers/grpc.js';
import { prepareRequests } from '../../src/drivers/http1.js';
import { Http1ResponseParser } from '../../src/drivers/http1-parser.js';
import { MAX_MIX_CYCLE, weightedOrder } from '../../src/drivers/mix.js';
import { isExpectedStatus, parseExpectStatus } from '../../src/drivers/status.js';

describe('--expect-status', () => {
  it.each([
    { spec: '2xx,3xx', yes: [200, 204, 301, 399], no: [199, 400, 404, 500] },
    { spec: '200,204', yes: [200, 204], no: [201, 203, 205, 404] },
    { spec: '200-299, 404', yes: [200, 250, 299, 404], no: [300, 403, 405] },
    { spec: '5XX', yes: [500, 599], no: [499, 200] },
  ])('$spec', ({ spec, yes, no }) => {
    const table = parseExpectStatus(spec);
    for (const s of yes) expect(isExpectedStatus(table, s)).toBe(true);
    for (const s of no) expect(isExpectedStatus(table, s)).toBe(false);
    expect(isExpectedStatus(table, 600)).toBe(false);
    expect(isExpectedStatus(table, 9999)).toBe(false);
  });

  it.each(['', 'ok', '2x', '600', '299-200', '99', '6xx'])('rejects "%s" as bad input naming the forms', (spec) => {
    expect(() => parseExpectStatus(spec)).toThrow(/--expect-status .*e\.g\. 2xx/);
  });
});

describe('weightedOrder', () => {
  it('3:1 is spread, not bunched', () => {
    expect([...weightedOrder([3, 1])]).toEqual([0, 0, 1, 0]);
  });

  it('law: one cycle holds each request exactly its weight, and every stretch from the start stays within 2 of its even share', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), (weights) => {
      const order = weightedOrder(weights);
      const total = weights.reduce((a, b) => a + b, 0);
      expect(order.length).toBe(total);
      const count = weights.map(() => 0);
      order.forEach((i, k) => {
        count[i] = (count[i] ?? 0) + 1;
        weights.forEach((w, j) => expect(Math.abs((count[j] ?? 0) - ((k + 1) * w) / total)).toBeLessThan(2));
      });
      expect(count).toEqual(weights);
    }));
  });

  it.each([[[]], [[0]], [[1.5]], [[MAX_MIX_CYCLE, 1]]])('rejects %j', (weights) => {
    expect(() => weightedOrder(weights)).toThrow(expect.objectContaining({ code: 'MB_BAD_ARGUMENT' }));
  });
});

describe('http1 requests as people write them', () => {
  const text = (b: Buffer): string => b.toString('latin1');
  it.each([
    { name: 'default with a payload: POST of x', opts: { payloadBytes: 3 }, head: 'POST /p?q=1 HTTP/1.1', has: ['Content-Length: 3', 'Content-Type: application/octet-stream'], body: 'xxx' },
    { name: 'no payload: GET, no length', opts: { payloadBytes: 0 }, head: 'GET /p?q=1 HTTP/1.1', has: [], lacks: ['Content-Length'], body: '' },
    { name: '-m DELETE', opts: { payloadBytes: 0, method: 'DELETE' }, head: 'DELETE /p?q=1 HTTP/1.1', has: [], lacks: ['Content-Length'], body: '' },
    { name: '-m PUT without a body says length 0', opts: { payloadBytes: 0, method: 'PUT' }, head: 'PUT /p?q=1 HTTP/1.1', has: ['Content-Length: 0'], body: '' },
    { name: 'body and its own content-type', opts: { payloadBytes: 0, method: 'PATCH', body: Buffer.from('{"a":1}'), headers: { 'content-type': 'application/json' } }, head: 'PATCH /p?q=1 HTTP/1.1', has: ['Content-Length: 7', 'content-type: application/json'], lacks: ['application/octet-stream'], body: '{"a":1}' },
  ])('$name', ({ opts, head, has, lacks, body }) => {
    const { requests } = prepareRequests({ target: 'http://h:1/p?q=1', headers: {}, ...opts });
    const bytes = text(requests[0]?.bytes ?? Buffer.alloc(0));
    expect(bytes.startsWith(`${head}\r\nHost: h:1\r\n`)).toBe(true);
    for (const h of has) expect(bytes).toContain(`${h}\r\n`);
    for (const h of lacks ?? []) expect(bytes).not.toContain(h);
    expect(bytes.slice(bytes.indexOf('\r\n\r\n') + 4)).toBe(body);
  });

  it('a mix: one request per entry on the target\'s origin, HEAD marked bodiless, order by weight', () => {
    const { requests, order } = prepareRequests({
      target: 'https://api.example:8443/ignored',
      payloadBytes: 64,
      headers: { 'x-run': '1' },
      requests: [
        { path: '/a', method: 'HEAD', headers: {}, weight: 1 },
        { path: '/b?x=y', method: 'POST', headers: { 'x-b': '2' }, body: Buffer.from('hi'), weight: 2 },
      ],
    });
    expect(requests.map((r) => text(r.bytes).split('\r\n')[0])).toEqual(['HEAD /a HTTP/1.1', 'POST /b?x=y HTTP/1.1']);
    expect(requests.map((r) => r.bodiless)).toEqual([true, false]);
    expect(text(requests[1]?.bytes ?? Buffer.alloc(0))).toMatch(/Host: api\.example:8443\r\n[\s\S]*x-run: 1\r\n[\s\S]*x-b: 2\r\n\r\nhi$/);
    expect([...order].sort()).toEqual([0, 1, 1]);
  });

  it.each([
    { method: 'GE T' }, { method: 'GET\r\n' },
  ])('rejects method $method', ({ method }) => {
    expect(() => prepareRequests({ target: 'http://h:1/', headers: {}, payloadBytes: 0, method })).toThrow(/not an HTTP method/);
  });

  it('a HEAD response with a Content-Length has no body to wait for', () => {
    const statuses: number[] = [];
    const parser = new Http1ResponseParser({ onParsedResponse: (s) => statuses.push(s), onParseError: () => statuses.push(-1) });
    parser.bodiless = true;
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'));
    expect(statuses).toEqual([200, 204]);
  });
});

describe('meshbench up text', () => {
  it('lists every address and what to try, from its info alone', () => {
    const info: UpInfo = {
      scenario: 'quickstart',
      sidecarMode: 'http',
      variants: [
        { name: 'unmeshed', targets: { http1: 'http://127.0.0.1:1001/', 'grpc-unary': '127.0.0.1:1002' } },
        { name: 'meshed', targets: { http1: 'http://127.0.0.1:2001/', 'grpc-unary': '127.0.0.1:2001' } },
      ],
      serverSidecar: { address: '127.0.0.1:3001', serverName: 'echo.meshbench.local', caFile: '/t/ca.pem', clientPem: '/t/client.pem' },
      dir: '/t',
      pids: [1],
    };
    const text = renderUp(info, '/proto');
    for (const line of [
      'http1       http://127.0.0.1:2001/',
      'grpc-unary  127.0.0.1:1002',
      'curl -si http://127.0.0.1:2001/',
      'curl -si --cacert /t/ca.pem --cert /t/client.pem https://127.0.0.1:3001/',
      'grpcurl -plaintext -import-path /proto -proto echo.proto',
      'meshbench ab http://127.0.0.1:1001/ http://127.0.0.1:2001/',
    ]) expect(text).toContain(line);
  });
});


describe('gRPC --data read back (misread)', () => {
  it.each([
    { given: { sku: 'a', quantity: 3 }, decoded: { sku: 'a', quantity: 3, region: 'REGION_UNSPECIFIED' }, problem: null },
    { given: { region: 1 }, decoded: { region: 'EU' }, problem: null },
    { given: { ratio: 0.1 }, decoded: { ratio: 0.10000000149011612 }, problem: null },
    { given: { id: 123 }, decoded: { id: '123' }, problem: null },
    { given: { blob: 'aGk=' }, decoded: { blob: Buffer.from('hi') }, problem: null },
    { given: { items: [{ sku: 'a' }] }, decoded: { items: [{ sku: 'a', quantity: 0 }] }, problem: null },
    { given: { quantity: 'many' }, decoded: { quantity: 0 }, problem: 'quantity: "many" was read as 0' },
    { given: { reservationId: 'x' }, decoded: { reservation_id: '' }, problem: 'reservationId: no such field (field names as in the .proto)' },
    { given: { region: 'MARS' }, decoded: { region: 'REGION_UNSPECIFIED' }, problem: 'region: "MARS" was read as "REGION_UNSPECIFIED"' },
    { given: { items: [{ sku: 'a', nope: 1 }] }, decoded: { items: [{ sku: 'a' }] }, problem: 'items[0].nope: no such field (field names as in the .proto)' },
    { given: { tags: 'a' }, decoded: { tags: ['a'] }, problem: 'tags: "a" was read as ["a"]' },
  ])('$given → $problem', ({ given, decoded, problem }) => {
    expect(misread(given, decoded, '')).toBe(problem);
  });
});
