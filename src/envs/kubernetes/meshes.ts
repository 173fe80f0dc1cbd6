import type { KubernetesEnvConfig, Mesh, SidecarPlacement } from '../../config/schema.js';
import type { MeshExpectation } from '../../result.js';

/**
 * What each mesh expects of a namespace and a pod, in one table: the switch that meshes a namespace, the
 * sizing annotations for its proxies, how a Job's pod tells its proxy to stop, which containers are the
 * proxies, and what proves a path went through it. Everything here is data; manifests.ts puts it on objects
 * and proof.ts checks it.
 */

export type SidecarResources = NonNullable<KubernetesEnvConfig['sidecarResources']>;

export interface MeshProfile {
  mesh: Mesh;
  /** Labels and annotations that switch the mesh on for a namespace. */
  namespaceLabels(revision: string | undefined): Record<string, string>;
  namespaceAnnotations: Record<string, string>;
  /** Labels on every meshed pod. */
  podLabels: Record<string, string>;
  /** Pod annotations that size the proxy as the mesh expects (empty for meshes without sidecars). */
  sizingAnnotations(resources: SidecarResources | undefined): Record<string, string>;
  /** Extra pod annotations for generator (Job) pods, so they start after and stop their proxy. */
  generatorAnnotations: Record<string, string>;
  /** Where a finished generator tells its sidecar to exit (a Job with a classic sidecar never completes otherwise). */
  shutdownUrl: string | undefined;
  /** Containers that are the mesh's proxies, in the pod's containers or (native sidecars) initContainers. */
  proxyContainers: readonly string[];
  /** Proxies shared by the node rather than the pod (ambient ztunnel): their pods' label selector (any namespace) and container. */
  nodeProxies: { labelSelector: string; container: string } | undefined;
  /** A pod annotation the mesh sets on pods it captured (ambient), checked as proof. */
  podMarker: { annotation: string; value: string } | undefined;
  /** What the meshed variant's probe must show. */
  expect: MeshExpectation;
  /** Pod annotations that keep the mesh's proxy out of one pod of a meshed namespace (env.sidecars one-sided). */
  optOutAnnotations: Record<string, string>;
}

/** The pod roles of a variant: the generator is the client, the echo the server. */
export type PodRole = 'echo' | 'generator';

/** Whether a meshed pod of `role` runs a sidecar under env.sidecars (as Istio's benchmark: both, clientonly, serveronly). */
export function sidecarPlaced(placement: SidecarPlacement, role: PodRole): boolean {
  return placement === 'both' || (placement === 'client-only') === (role === 'generator');
}

/**
 * What the meshed probe must show under env.sidecars: with one side only there is no mTLS between the pods, so
 * no header the mesh adds proves the path; the pods' proxies (checkPods) are the proof then.
 */
export function meshedExpectation(profile: MeshProfile, placement: SidecarPlacement): MeshExpectation {
  if (placement === 'both' || profile.proxyContainers.length === 0) return profile.expect;
  return { kind: 'unverified', why: `${placement}: a sidecar on one side only makes no mTLS and sets no header; proven by the ${profile.proxyContainers.join('/')} container in the ${placement === 'client-only' ? 'generator' : 'echo'} pods only` };
}

export const ISTIO_PROXY = 'istio-proxy';
export const LINKERD_PROXY = 'linkerd-proxy';
export const AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';

function defined(entries: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

const istioSidecar: MeshProfile = {
  mesh: 'istio-sidecar',
  // istio-injection wins over istio.io/rev, so a revision must come without it.
  namespaceLabels: (revision): Record<string, string> => (revision === undefined ? { 'istio-injection': 'enabled' } : { 'istio.io/rev': revision }),
  namespaceAnnotations: {},
  podLabels: {},
  sizingAnnotations: (r) =>
    r === undefined
      ? {}
      : defined({
          'sidecar.istio.io/proxyCPU': r.cpu,
          'sidecar.istio.io/proxyMemory': r.memory,
          'sidecar.istio.io/proxyCPULimit': r.cpuLimit,
          'sidecar.istio.io/proxyMemoryLimit': r.memoryLimit,
        }),
  // Without native sidecars the app could start before Envoy and fail its first requests.
  generatorAnnotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}' },
  // Harmless with native sidecars (Kubernetes ignores a sidecar's exit once the app container is done).
  shutdownUrl: 'http://127.0.0.1:15020/quitquitquit',
  proxyContainers: [ISTIO_PROXY],
  nodeProxies: undefined,
  podMarker: undefined,
  expect: { kind: 'header', header: 'x-forwarded-client-cert' },
  optOutAnnotations: { 'sidecar.istio.io/inject': 'false' },
};

const istioAmbient: MeshProfile = {
  mesh: 'istio-ambient',
  namespaceLabels: (revision) => defined({ 'istio.io/dataplane-mode': 'ambient', 'istio.io/rev': revision }),
  namespaceAnnotations: {},
  // istio.io/rev (istioRevision) makes that revision's injector inject sidecars, and a sidecar wins over
  // ambient capture: the per-pod opt-out keeps injection off whatever the namespace says.
  podLabels: { 'sidecar.istio.io/inject': 'false' },
  sizingAnnotations: () => ({}),
  generatorAnnotations: {},
  shutdownUrl: undefined,
  proxyContainers: [],
  nodeProxies: { labelSelector: 'app=ztunnel', container: ISTIO_PROXY },
  podMarker: { annotation: AMBIENT_REDIRECTION, value: 'enabled' },
  expect: {
    kind: 'unverified',
    why: `ambient without a waypoint is L4 and adds no HTTP header; proven by the pods' ${AMBIENT_REDIRECTION}=enabled annotation`,
  },
  optOutAnnotations: {},
};

const linkerd: MeshProfile = {
  mesh: 'linkerd',
  namespaceLabels: () => ({}),
  namespaceAnnotations: { 'linkerd.io/inject': 'enabled' },
  podLabels: {},
  sizingAnnotations: (r) =>
    r === undefined
      ? {}
      : defined({
          'config.linkerd.io/proxy-cpu-request': r.cpu,
          'config.linkerd.io/proxy-memory-request': r.memory,
          'config.linkerd.io/proxy-cpu-limit': r.cpuLimit,
          'config.linkerd.io/proxy-memory-limit': r.memoryLimit,
        }),
  // The proxy's /shutdown endpoint is off by default since Linkerd 2.16; this annotation turns it on per pod.
  generatorAnnotations: { 'config.linkerd.io/proxy-admin-shutdown': 'enabled', 'config.linkerd.io/proxy-await': 'enabled' },
  shutdownUrl: 'http://127.0.0.1:4191/shutdown',
  proxyContainers: [LINKERD_PROXY],
  nodeProxies: undefined,
  podMarker: undefined,
  expect: { kind: 'header', header: 'l5d-client-id' },
  optOutAnnotations: { 'linkerd.io/inject': 'disabled' },
};

const none: MeshProfile = {
  mesh: 'none',
  namespaceLabels: () => ({}),
  namespaceAnnotations: {},
  podLabels: {},
  sizingAnnotations: () => ({}),
  generatorAnnotations: {},
  shutdownUrl: undefined,
  proxyContainers: [],
  nodeProxies: undefined,
  podMarker: undefined,
  expect: { kind: 'none' },
  optOutAnnotations: {},
};

export const MESH_PROFILES: Record<Mesh, MeshProfile> = {
  'istio-sidecar': istioSidecar,
  'istio-ambient': istioAmbient,
  linkerd,
  none,
};

/**
 * The unmeshed namespace opts out of every mesh explicitly, whichever is installed: a cluster may inject by
 * default (a default revision, a mutating webhook without a namespace selector).
 */
export const UNMESHED_NAMESPACE_LABELS: Readonly<Record<string, string>> = {
  'istio-injection': 'disabled',
  'istio.io/dataplane-mode': 'none',
};
export const UNMESHED_NAMESPACE_ANNOTATIONS: Readonly<Record<string, string>> = { 'linkerd.io/inject': 'disabled' };
/** Per-pod opt-out (Istio reads it as a label). */
export const UNMESHED_POD_LABELS: Readonly<Record<string, string>> = { 'sidecar.istio.io/inject': 'false' };
export const UNMESHED_POD_ANNOTATIONS: Readonly<Record<string, string>> = { 'linkerd.io/inject': 'disabled' };

/** Every proxy container name any mesh uses (an unmeshed pod must have none of them). */
export const ALL_PROXY_CONTAINERS: readonly string[] = [ISTIO_PROXY, LINKERD_PROXY];
