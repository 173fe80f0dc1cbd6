import { randomBytes } from 'node:crypto';
import { REFLECT_PREFIX } from '../../protocols.js';
import type { MeshExpectation, ProofRecord } from '../../result.js';
import { checkProbe } from '../proof.js';
import type { KubeItem } from './client.js';
import type { ProbeOutcome } from './generator.js';
import type { SidecarPlacement } from '../../config/schema.js';
import { ALL_PROXY_CONTAINERS, AMBIENT_REDIRECTION, sidecarPlaced, type MeshProfile } from './meshes.js';

/**
 * Proof for the kubernetes env, judged from what a probe Job saw inside each namespace (so the meshed
 * probe's own sidecar is on the path) and from the pods themselves:
 *  - Istio sidecar / Linkerd: the echo must have received x-forwarded-client-cert / l5d-client-id (only the
 *    server-side proxy can set them after a verified mTLS handshake) and every pod must carry the proxy;
 *  - ambient: no header exists at L4, so every pod must carry ambient.istio.io/redirection=enabled;
 *  - unmeshed: no mesh header, no proxy container, no ambient annotation;
 *  - trace context: the traceparent and b3 trace ids must reach the echo unchanged (only the trace id is
 *    compared: a mesh with tracing on may start a new span).
 * Pure functions; index.ts runs the probes and throws MB_MESH_UNPROVEN when any record fails.
 */

export interface TraceHeaders {
  traceId: string;
  headers: { traceparent: string; b3: string };
}

export function newTraceHeaders(): TraceHeaders {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, headers: { traceparent: `00-${traceId}-${spanId}-01`, b3: `${traceId}-${spanId}-1` } };
}

/** Whether both trace headers reached the echo with the trace id they were sent with. */
export function checkTrace(sent: TraceHeaders, reflected: Record<string, string>): { ok: boolean; detail: string } {
  const tp = reflected[`${REFLECT_PREFIX}traceparent`];
  const b3 = reflected[`${REFLECT_PREFIX}b3`];
  const problems: string[] = [];
  if (tp === undefined) problems.push('traceparent did not reach the echo');
  else if (tp.split('-')[1] !== sent.traceId) problems.push(`traceparent arrived with another trace id (${tp})`);
  if (b3 === undefined) problems.push('b3 did not reach the echo');
  else if (b3.split('-')[0] !== sent.traceId) problems.push(`b3 arrived with another trace id (${b3})`);
  return problems.length === 0
    ? { ok: true, detail: `trace id ${sent.traceId} propagated end to end (traceparent, b3)` }
    : { ok: false, detail: `trace context broken: ${problems.join('; ')}` };
}

function proxiesOf(pod: KubeItem, names: readonly string[]): string[] {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return containers.filter((c) => names.includes(c.name)).map((c) => c.name);
}

/** The pod label that names a pod's role (manifests.ts COMPONENT_LABEL): echo or generator. */
const ROLE_LABEL = 'app.kubernetes.io/component';

/**
 * What the pods show: every meshed pod carries the mesh, no unmeshed pod carries any. With a one-sided placement
 * (env.sidecars), exactly the meshed pods of the placed role carry the proxy.
 */
export function checkPods(profile: MeshProfile, meshed: boolean, pods: KubeItem[], placement: SidecarPlacement = 'both'): { ok: boolean; detail: string; marker: string | null } {
  if (meshed && placement !== 'both' && profile.proxyContainers.length > 0 && pods.length > 0) {
    const wrong = pods.filter((p) => {
      const role = p.metadata?.labels?.[ROLE_LABEL] === 'generator' ? 'generator' : 'echo';
      return (proxiesOf(p, profile.proxyContainers).length > 0) !== sidecarPlaced(placement, role);
    });
    return wrong.length === 0
      ? { ok: true, detail: `${placement}: ${profile.proxyContainers.join('/')} in the ${placement === 'client-only' ? 'generator' : 'echo'} pods only (${pods.length} pod(s))`, marker: null }
      : { ok: false, detail: `${placement}: the proxy is where it should not be, or missing, in ${wrong.map((p) => p.metadata?.name ?? '?').join(', ')} — check the per-pod inject annotations`, marker: null };
  }
  const names = pods.map((p) => p.metadata?.name ?? '?');
  if (pods.length === 0) return { ok: false, detail: 'no pods to check', marker: null };
  if (!meshed) {
    const carrying = pods.filter((p) => proxiesOf(p, ALL_PROXY_CONTAINERS).length > 0 || p.metadata?.annotations?.[AMBIENT_REDIRECTION] === 'enabled');
    return carrying.length === 0
      ? { ok: true, detail: `no mesh proxy or ambient capture in ${pods.length} pod(s)`, marker: null }
      : { ok: false, detail: `unmeshed pod(s) carry a mesh: ${carrying.map((p) => p.metadata?.name ?? '?').join(', ')}`, marker: null };
  }
  if (profile.podMarker !== undefined) {
    const { annotation, value } = profile.podMarker;
    // A sidecar wins over ambient capture (e.g. injected because of an istio.io/rev label).
    const sidecars = pods.filter((p) => proxiesOf(p, ALL_PROXY_CONTAINERS).length > 0);
    if (sidecars.length > 0) {
      return { ok: false, detail: `sidecar proxies injected into ${sidecars.map((p) => p.metadata?.name ?? '?').join(', ')}, which takes them out of ambient capture`, marker: null };
    }
    const missing = pods.filter((p) => p.metadata?.annotations?.[annotation] !== value);
    return missing.length === 0
      ? { ok: true, detail: `${annotation}=${value} on ${names.join(', ')}`, marker: `${annotation}=${value}` }
      : {
          ok: false,
          detail: `${annotation}=${value} missing on ${missing.map((p) => p.metadata?.name ?? '?').join(', ')} — is ambient installed (istio-cni, ztunnel) and the namespace labelled?`,
          marker: null,
        };
  }
  if (profile.proxyContainers.length > 0) {
    const missing = pods.filter((p) => proxiesOf(p, profile.proxyContainers).length === 0);
    const native = pods.some((p) => (p.spec?.initContainers ?? []).some((c) => profile.proxyContainers.includes(c.name)));
    return missing.length === 0
      ? {
          ok: true,
          detail: `${profile.proxyContainers.join('/')} in ${pods.length} pod(s)${native ? ' (native sidecar)' : ' (classic sidecar: a generator that crashes leaves its pod Running until the Job deadline; native sidecars are recommended)'}`,
          marker: null,
        }
      : {
          ok: false,
          detail: `no ${profile.proxyContainers.join('/')} in ${missing.map((p) => p.metadata?.name ?? '?').join(', ')} — was it injected (mesh installed, revision right)?`,
          marker: null,
        };
  }
  return { ok: true, detail: `pods: ${names.join(', ')}`, marker: null };
}

export interface ProofInput {
  variant: string;
  meshed: boolean;
  expect: MeshExpectation;
  profile: MeshProfile;
  outcome: ProbeOutcome;
  sent: TraceHeaders;
  pods: { ok: boolean; detail: string; marker: string | null };
  traceCheck: boolean;
}

/** One variant × protocol record: the probe's headers, the pods, and (meshed) the trace context. */
export function proofRecord(input: ProofInput): ProofRecord {
  const { outcome, expect } = input;
  const base = { variant: input.variant, protocol: outcome.protocol, expect };
  if ('error' in outcome) {
    return { ...base, marker: null, ok: false, detail: `the probe inside the namespace got no answer from ${outcome.target}: ${outcome.error}` };
  }
  const seen = checkProbe(expect, { status: outcome.status, headers: outcome.headers }, input.sent.headers.traceparent);
  const parts = [seen.detail, `pods: ${input.pods.detail}`];
  // The proxy is there but the header is not: Istio drops XFCC when told to.
  if (input.meshed && !seen.ok && input.pods.ok && expect.kind === 'header' && expect.header === 'x-forwarded-client-cert') {
    parts.push('hint: the sidecars are injected, so the mesh may remove the header — proxyHeaders.forwardedClientCert: SANITIZE (mesh-wide in meshConfig.defaultConfig, or per pod in proxy.istio.io/config) strips it; APPEND_FORWARD or SANITIZE_SET keep it');
  }
  let ok = seen.ok && input.pods.ok;
  if (input.traceCheck && input.meshed) {
    const trace = checkTrace(input.sent, outcome.headers);
    parts.push(trace.detail);
    ok = ok && trace.ok;
  }
  return { ...base, marker: seen.marker ?? input.pods.marker, ok, detail: parts.join('; ') };
}
