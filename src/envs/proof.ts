import { randomBytes } from 'node:crypto';
import type { DriverOptions, ProbeResult } from '../drivers/driver.js';
import { drivers } from '../drivers/index.js';
import { errorMessage, MeshbenchError } from '../errors.js';
import { CHAIN_HEADER, REFLECT_PREFIX, type Protocol } from '../protocols.js';
import type { MeshExpectation, ProofRecord } from '../result.js';
import type { RunningEnv } from './env.js';

/**
 * Proof that each variant's path is what it claims, before any load: one probe per variant × protocol
 * through the real driver, reading what the echo reflects (`x-echo-<header>`).
 *  - expect header: the marker (e.g. x-forwarded-client-cert, which only the server sidecar can set after a
 *    verified mTLS handshake) must come back non-empty;
 *  - expect none: no mesh marker may come back (a "baseline" that went through a mesh is no baseline);
 *  - unverified: recorded as such (L4 paths add no headers), ok when the probe succeeds.
 * Every probe also carries a fresh traceparent; whether it came back is recorded (propagation), not judged.
 */

/** One probe of `protocol`; injectable for tests. */
export type ProbeFn = (protocol: Protocol, options: DriverOptions, timeoutMs: number) => Promise<ProbeResult>;

export const driverProbe: ProbeFn = (protocol, options, timeoutMs) => drivers[protocol].probe(options, timeoutMs);

/** Mesh markers that must not come back on an unmeshed path (Istio, Linkerd). */
export const MESH_MARKERS = ['x-forwarded-client-cert', 'l5d-client-id'] as const;

const PROBE_TIMEOUT_MS = 5000;
const PROBE_PAYLOAD_BYTES = 16;

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** A success status: HTTP 2xx, websocket 101, gRPC OK. */
export function isSuccessStatus(status: number | string): boolean {
  if (typeof status === 'number') return status === 101 || (status >= 200 && status < 300);
  return status === 'OK' || status === '0';
}

function traceNote(sent: string, echoed: string | undefined): string {
  if (echoed === undefined || echoed === '') return 'traceparent not propagated';
  if (echoed === sent) return 'traceparent propagated unchanged';
  const traceId = (tp: string): string | undefined => tp.split('-')[1];
  return traceId(echoed) === traceId(sent) ? 'traceparent propagated (trace id kept, span id changed)' : `traceparent changed to ${echoed}`;
}

/** Checks one probe result against the variant's expectation: was the path the one it should be? */
export function checkProbe(expect: MeshExpectation, result: ProbeResult, traceparent: string): { ok: boolean; marker: string | null; detail: string } {
  const first = checkFirstHop(expect, result, traceparent);
  const chain = result.headers[CHAIN_HEADER];
  if (!first.ok || chain === undefined) return first;
  // A call chain (local env.hops): every hop, not only the first, must have been reached as the first was.
  const want = expect.kind === 'none' ? 'direct' : expect.kind === 'header' ? (expect.header.toLowerCase() === 'via' ? 'sidecar' : 'mtls') : null;
  const marks = chain.split(',').map((m) => m.trim());
  const wrong = want === null ? -1 : marks.findIndex((m) => m !== want);
  if (wrong >= 0) return { ok: false, marker: first.marker, detail: `hop ${wrong + 1} of ${marks.length} was reached ${marks[wrong] ?? '?'}, not ${want ?? ''} (${CHAIN_HEADER}: ${chain}); ${first.detail}` };
  return { ...first, detail: `${first.detail}; every one of ${marks.length} hops ${want ?? 'answered'} (${CHAIN_HEADER}: ${chain})` };
}

function checkFirstHop(expect: MeshExpectation, result: ProbeResult, traceparent: string): { ok: boolean; marker: string | null; detail: string } {
  const trace = traceNote(traceparent, result.headers[`${REFLECT_PREFIX}traceparent`]);
  if (!isSuccessStatus(result.status)) {
    return { ok: false, marker: null, detail: `the probe answered with status ${String(result.status)}; ${trace}` };
  }
  switch (expect.kind) {
    case 'header': {
      const name = `${REFLECT_PREFIX}${expect.header.toLowerCase()}`;
      const value = result.headers[name];
      if (value === undefined || value === '') {
        const seen = Object.keys(result.headers).filter((h) => h.startsWith(REFLECT_PREFIX));
        return {
          ok: false,
          marker: null,
          detail: `${name} did not come back (the echo saw no ${expect.header}); reflected: ${seen.join(', ') || 'nothing'}; ${trace}`,
        };
      }
      return { ok: true, marker: value, detail: `${name}: ${value}; ${trace}` };
    }
    case 'none': {
      const found = MESH_MARKERS.map((m) => [m, result.headers[`${REFLECT_PREFIX}${m}`]] as const).find(([, v]) => v !== undefined && v !== '');
      if (found !== undefined) {
        return { ok: false, marker: found[1] ?? null, detail: `mesh marker ${found[0]} came back (${found[1] ?? ''}) on a path that must be unmeshed; ${trace}` };
      }
      return { ok: true, marker: null, detail: `no mesh marker came back; ${trace}` };
    }
    case 'unverified':
      return { ok: true, marker: null, detail: `unverified: ${expect.why}; the path answered; ${trace}` };
  }
}

/**
 * Proves every variant × protocol; returns the records (they go into result.json), or throws
 * MB_MESH_UNPROVEN naming each failed variant/protocol and what was seen.
 */
export async function provePaths(env: RunningEnv, protocols: readonly Protocol[], probe: ProbeFn = driverProbe, extras: Omit<DriverOptions, 'target' | 'payloadBytes' | 'headers'> = {}): Promise<ProofRecord[]> {
  const records: ProofRecord[] = [];
  for (const variant of env.variants) {
    for (const protocol of protocols) {
      const target = variant.targets[protocol];
      const base = { variant: variant.name, protocol, expect: variant.expect };
      if (target === undefined) {
        records.push({ ...base, marker: null, ok: false, detail: 'the environment has no target for this protocol' });
        continue;
      }
      // Every replica the load will reach answers, and answers as its path must.
      const addresses = variant.replicas?.[protocol] ?? [target];
      let record: ProofRecord | undefined;
      for (const address of addresses) {
        const traceparent = newTraceparent();
        try {
          const options: DriverOptions = { ...extras, target: address, payloadBytes: PROBE_PAYLOAD_BYTES, headers: { traceparent } };
          if (variant.tls !== undefined) options.tls = variant.tls;
          const result = await probe(protocol, options, PROBE_TIMEOUT_MS);
          record = { ...base, ...checkProbe(variant.expect, result, traceparent) };
        } catch (err) {
          record = { ...base, marker: null, ok: false, detail: `${address} did not answer the probe: ${errorMessage(err)}` };
        }
        if (!record.ok) break;
      }
      if (record !== undefined && record.ok && addresses.length > 1) record.detail += ` (each of ${addresses.length} replicas)`;
      if (record !== undefined) records.push(record);
    }
  }
  const failed = records.filter((r) => !r.ok);
  if (failed.length > 0) {
    const problems = failed.map((r) => `${r.variant}/${r.protocol}: ${r.detail}`);
    throw new MeshbenchError(
      'MB_MESH_UNPROVEN',
      `could not prove ${failed.length} path(s) — ${problems.join(' | ')}`,
      { problems },
    );
  }
  return records;
}
