import type { V1Affinity, V1ConfigMap, V1Container, V1Deployment, V1Job, V1Namespace, V1PodSpec, V1Service, V1Volume } from '@kubernetes/client-node';
import type { KubernetesEnvConfig } from '../../config/schema.js';
import type { Protocol } from '../../protocols.js';
import { CODE_ENTRY, CODE_MOUNT, type CodeBundle } from './bundle.js';
import { PODINFO_MOUNT, type GeneratorJob } from './generator.js';
import { READY_PATH, READY_PORT } from './readiness.js';
import type { PilotGeneratorJob } from './pilot-generator.js';
import {
  MESH_PROFILES,
  UNMESHED_NAMESPACE_ANNOTATIONS,
  UNMESHED_NAMESPACE_LABELS,
  UNMESHED_POD_ANNOTATIONS,
  UNMESHED_POD_LABELS,
  sidecarPlaced,
  type MeshProfile,
  type PodRole,
} from './meshes.js';

/**
 * Pure renderers: a run plan in, plain Kubernetes objects out (typed with client-node's models, so a wrong
 * field fails the build). The same objects are applied by a run and written by `meshbench k8s render`.
 *
 * Every object carries MANAGED_BY and RUN_LABEL; cleanup selects by them and nothing else, so meshbench
 * never touches an object it did not label. Per variant there is one namespace holding the echo Deployment
 * and Service, the code ConfigMap (no-image mode) and, per round, the generator Job — the generators run in
 * the same namespace so that, meshed, both hops (client sidecar → server sidecar) are meshed.
 */

export const FIELD_MANAGER = 'meshbench';
export const MANAGED_BY_KEY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = { [MANAGED_BY_KEY]: 'meshbench' } as const;
export const RUN_LABEL = 'meshbench.dev/run';
export const VARIANT_LABEL = 'meshbench.dev/variant';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const JOB_LABEL = 'meshbench.dev/job';
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const ECHO_NAME = 'echo';
export const CODE_CONFIGMAP = 'meshbench-code';
export const GENERATOR_CONTAINER = 'generator';
export const ECHO_HTTP_PORT = 8080;
export const ECHO_GRPC_PORT = 9090;
/** A second Service port onto the HTTP container port, named for Istio protocol detection of websocket traffic. */
export const ECHO_WS_PORT = 8081;
/** The generator's readiness port (start barrier), named with Istio's protocol prefix. */
export const READY_PORT_NAME = 'http-ready';
/** The pod annotation meshbench writes a round's start into (epoch ms) once every generator pod is Ready. */
export const START_AT_ANNOTATION = 'meshbench.dev/start-at-ms';
/**
 * Requests when the scenario sets none: a BestEffort pod is the first evicted and throttled, and is rejected
 * where a ResourceQuota demands requests. Memory is limited at its request; CPU is not limited unless
 * `cpuLimit` is set (a CFS quota at fractional CPU throttles in 100 ms periods and inflates p99).
 */
export const POD_REQUESTS = { echo: { cpu: '250m', memory: '128Mi' }, generator: { cpu: '500m', memory: '256Mi' } } as const;

export type VariantKind = 'unmeshed' | 'meshed';

export interface K8sPlan {
  runId: string;
  env: KubernetesEnvConfig;
  /** The no-image path's code; absent when env.image is set. */
  code?: CodeBundle;
  /** The node every generator runs on from the second Job on (the first Jobs' node), under nodePlacement spread / one-node. */
  generatorNode?: string;
}

export interface VariantPlan {
  variant: VariantKind;
  namespace: string;
  meshed: boolean;
}

/** Label selector of everything meshbench created (optionally of one run). */
export function selectorOf(runId?: string): string {
  return runId === undefined ? `${MANAGED_BY_KEY}=meshbench` : `${MANAGED_BY_KEY}=meshbench,${RUN_LABEL}=${runId}`;
}

export function namespaceOf(runId: string, variant: VariantKind): string {
  return `meshbench-${runId}-${variant}`;
}

/**
 * The namespaces of a run: unmeshed always, meshed unless the mesh is `none` (an unmeshed-only baseline);
 * meshbench's own (`meshbench-<run>-…`) or, with env.namespaces, the team's.
 */
export function variantsOf(plan: K8sPlan): VariantPlan[] {
  const own = plan.env.namespaces;
  const out: VariantPlan[] = [{ variant: 'unmeshed', namespace: own?.unmeshed ?? namespaceOf(plan.runId, 'unmeshed'), meshed: false }];
  if (plan.env.mesh !== 'none') out.push({ variant: 'meshed', namespace: own?.meshed ?? namespaceOf(plan.runId, 'meshed'), meshed: true });
  return out;
}

export function profileOf(plan: K8sPlan): MeshProfile {
  return MESH_PROFILES[plan.env.mesh];
}

function commonLabels(plan: K8sPlan, v: VariantPlan): Record<string, string> {
  return { ...MANAGED_BY, [RUN_LABEL]: plan.runId, [VARIANT_LABEL]: v.variant };
}

/** In-cluster targets of a variant's echo, in the form the drivers take. */
export function targetsOf(plan: K8sPlan, v: VariantPlan): Record<Protocol, string> {
  const host = `${ECHO_NAME}.${v.namespace}.svc.${plan.env.clusterDomain}`;
  return {
    http1: `http://${host}:${ECHO_HTTP_PORT}/`,
    'grpc-bidi': `${host}:${ECHO_GRPC_PORT}`,
    'grpc-unary': `${host}:${ECHO_GRPC_PORT}`,
    websocket: `ws://${host}:${ECHO_WS_PORT}/`,
    http2: `http://${host}:${ECHO_HTTP_PORT}/`,
  };
}

export function renderNamespace(plan: K8sPlan, v: VariantPlan): V1Namespace {
  const profile = profileOf(plan);
  const labels = { ...commonLabels(plan, v), ...(v.meshed ? profile.namespaceLabels(plan.env.istioRevision) : UNMESHED_NAMESPACE_LABELS) };
  const annotations = v.meshed ? profile.namespaceAnnotations : UNMESHED_NAMESPACE_ANNOTATIONS;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: v.namespace, labels, ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}) },
  };
}

export function renderCodeConfigMap(plan: K8sPlan, v: VariantPlan, code: CodeBundle): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CODE_CONFIGMAP, namespace: v.namespace, labels: commonLabels(plan, v) },
    data: { ...code.files },
  };
}

/** Image, command and volumes: the user's image (entrypoint = meshbench CLI) or node + the ConfigMap. */
function codeOf(plan: K8sPlan): Pick<V1Container, 'image' | 'command' | 'volumeMounts'> & { volumes?: V1Volume[] } {
  if (plan.env.image !== undefined) return { image: plan.env.image };
  if (plan.code === undefined) throw new Error('meshbench: a plan without env.image needs the in-cluster code bundle');
  return {
    image: plan.env.nodeImage,
    command: ['node', CODE_ENTRY],
    volumeMounts: [{ name: 'code', mountPath: CODE_MOUNT, readOnly: true }],
    volumes: [{ name: 'code', configMap: { name: CODE_CONFIGMAP, items: plan.code.items.map((i) => ({ ...i })) } }],
  };
}

function resourcesOf(plan: K8sPlan, role: 'echo' | 'generator'): V1Container['resources'] {
  const r = plan.env.resources[role];
  const cpu = r?.cpu ?? POD_REQUESTS[role].cpu;
  const memory = r?.memory ?? POD_REQUESTS[role].memory;
  return { requests: { cpu, memory }, limits: { memory, ...(r?.cpuLimit === undefined ? {} : { cpu: r.cpuLimit }) } };
}

/** Whether the variant's pods of `role` run the mesh's sidecar: meshed, and placed there by env.sidecars. */
export function hasSidecar(plan: K8sPlan, v: VariantPlan, role: PodRole): boolean {
  return v.meshed && sidecarPlaced(plan.env.sidecars, role);
}

function podMeta(plan: K8sPlan, v: VariantPlan, role: PodRole, extraLabels: Record<string, string>): { labels: Record<string, string>; annotations?: Record<string, string> } {
  const profile = profileOf(plan);
  const labels = { ...commonLabels(plan, v), [COMPONENT_LABEL]: role, ...extraLabels, ...(v.meshed ? profile.podLabels : UNMESHED_POD_LABELS) };
  const annotations = !v.meshed
    ? { ...UNMESHED_POD_ANNOTATIONS }
    : hasSidecar(plan, v, role)
      ? { ...profile.sizingAnnotations(plan.env.sidecarResources), ...(role === 'generator' ? profile.generatorAnnotations : {}) }
      : { ...profile.optOutAnnotations }; // the other side of a one-sided placement, in the same meshed namespace
  return Object.keys(annotations).length > 0 ? { labels, annotations } : { labels };
}

function withRestart<M extends { annotations?: Record<string, string> }>(meta: M, restartedAt: string | undefined): M {
  return restartedAt === undefined ? meta : { ...meta, annotations: { ...meta.annotations, [RESTARTED_AT]: restartedAt } };
}

function container(plan: K8sPlan, name: string, args: string[], resources: V1Container['resources']): V1Container {
  const code = codeOf(plan);
  const c: V1Container = {
    name,
    image: code.image,
    imagePullPolicy: plan.env.imagePullPolicy,
    ...(code.command === undefined ? {} : { command: code.command }),
    args,
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
  };
  if (resources !== undefined) c.resources = resources;
  if (code.volumeMounts !== undefined) c.volumeMounts = code.volumeMounts;
  return c;
}

function withAffinity(plan: K8sPlan, role: 'echo' | 'generator', extra: Partial<V1PodSpec>): Partial<V1PodSpec> {
  const affinity = affinityOf(plan, role);
  return affinity === undefined ? extra : { ...extra, affinity };
}

/**
 * PodSecurity "restricted" (and OpenShift restricted-v2): non-root, RuntimeDefault seccomp, no privilege
 * escalation, all capabilities dropped, only configMap and downwardAPI volumes; the UID fixed (1000) or left to the platform.
 * No service-account token: neither the echo nor the generators call the API (the meshes mount their own).
 */
function podSpec(plan: K8sPlan, c: V1Container, extra: Partial<V1PodSpec>, more: V1Volume[] = []): V1PodSpec {
  const volumes = [...(codeOf(plan).volumes ?? []), ...more];
  const uid = plan.env.runAsUser === 'platform' ? {} : { runAsUser: plan.env.runAsUser, runAsGroup: plan.env.runAsUser };
  return {
    ...extra,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, ...uid, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [c],
    ...(volumes.length === 0 ? {} : { volumes }),
  };
}

const HOSTNAME_TOPOLOGY = 'kubernetes.io/hostname';

/** A required "same node as" term for `role` pods of this run, in either variant's namespace. */
function sameNodeAs(plan: K8sPlan, role: 'echo' | 'generator'): { labelSelector: { matchLabels: Record<string, string> }; namespaces: string[]; topologyKey: string } {
  return {
    labelSelector: { matchLabels: { [RUN_LABEL]: plan.runId, [COMPONENT_LABEL]: role } },
    namespaces: variantsOf(plan).map((v) => v.namespace),
    topologyKey: HOSTNAME_TOPOLOGY,
  };
}

/**
 * Placement (env.nodePlacement), alike for both variants. spread: every echo on one node (affinity to the echo
 * pods of both namespaces; the first one matches itself), generators on another (anti-affinity to the echo,
 * affinity to concurrent generators); one-node: generators next to the echo. After the first Jobs the
 * generators' node is pinned by name (plan.generatorNode), so every round of both variants crosses the same
 * node pair.
 */
function affinityOf(plan: K8sPlan, role: 'echo' | 'generator'): V1Affinity | undefined {
  const mode = plan.env.nodePlacement;
  if (mode === 'any') return undefined;
  if (role === 'echo') return { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [sameNodeAs(plan, 'echo')] } };
  const pinned =
    plan.generatorNode === undefined
      ? {}
      : { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [plan.generatorNode] }] }] } } };
  if (mode === 'one-node') return { ...pinned, podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [sameNodeAs(plan, 'echo')] } };
  return {
    ...pinned,
    podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [sameNodeAs(plan, 'generator')] },
    podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [sameNodeAs(plan, 'echo')] },
  };
}

/** The pod-template annotation `kubectl rollout restart` sets: a new value rolls every pod (and its sidecar) anew. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** The echo Deployment; `restartedAt` (a drill's rollout restart, src/drills/) re-renders it with RESTARTED_AT set. */
export function renderEchoDeployment(plan: K8sPlan, v: VariantPlan, restartedAt?: string): V1Deployment {
  const selector = { 'app.kubernetes.io/name': 'meshbench-echo' };
  const echo = container(plan, ECHO_NAME, ['echo', '--host', '0.0.0.0', '--http-port', String(ECHO_HTTP_PORT), '--grpc-port', String(ECHO_GRPC_PORT)], resourcesOf(plan, 'echo'));
  echo.ports = [
    { name: 'http', containerPort: ECHO_HTTP_PORT, protocol: 'TCP' },
    { name: 'grpc', containerPort: ECHO_GRPC_PORT, protocol: 'TCP' },
  ];
  echo.readinessProbe = { httpGet: { path: '/', port: 'http' }, periodSeconds: 2, failureThreshold: 3 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: ECHO_NAME, namespace: v.namespace, labels: { ...commonLabels(plan, v), [COMPONENT_LABEL]: 'echo' } },
    spec: {
      replicas: plan.env.replicas,
      selector: { matchLabels: selector },
      template: { metadata: withRestart(podMeta(plan, v, 'echo', selector), restartedAt), spec: podSpec(plan, echo, withAffinity(plan, 'echo', { terminationGracePeriodSeconds: 5 })) },
    },
  };
}

/**
 * Port names carry the protocol (Istio's detection); no appProtocol, which Linkerd would read as "opaque"
 * for anything but http / kubernetes.io/h2c.
 */
export function renderEchoService(plan: K8sPlan, v: VariantPlan): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: ECHO_NAME, namespace: v.namespace, labels: { ...commonLabels(plan, v), [COMPONENT_LABEL]: 'echo' } },
    spec: {
      selector: { 'app.kubernetes.io/name': 'meshbench-echo' },
      ports: [
        { name: 'http-echo', port: ECHO_HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
        { name: 'grpc-echo', port: ECHO_GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
        { name: 'http-ws', port: ECHO_WS_PORT, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

/**
 * One round's generators (or the proof's probe): an Indexed Job whose pod `i` runs shard `i` of the job. No
 * retries (a retried generator would measure a different round); the deadline and TTL are backstops for a
 * meshbench that died without cleaning up. `suspended` (the GitOps render): created without pods, started one
 * at a time by unsuspending it.
 */
export function renderGeneratorJob(plan: K8sPlan, v: VariantPlan, name: string, job: GeneratorJob, activeDeadlineS: number, suspended = false): V1Job {
  const pods = job.kind === 'load' ? job.shards : 1;
  const c = container(plan, GENERATOR_CONTAINER, ['k8s', 'generate', '--job', JSON.stringify(job)], resourcesOf(plan, 'generator'));
  // The pod's own name, node and annotations (downward API): where it ran, and the mesh's capture while it runs.
  c.env = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ];
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'podinfo', mountPath: PODINFO_MOUNT, readOnly: true }];
  if (job.kind === 'load' && job.startAnnotation !== undefined) {
    // The start barrier (readiness.ts): Ready once the generator can start, seen within a second.
    c.ports = [{ name: READY_PORT_NAME, containerPort: READY_PORT, protocol: 'TCP' }];
    c.readinessProbe = { httpGet: { path: READY_PATH, port: READY_PORT_NAME }, periodSeconds: 1 };
  }
  const podinfo: V1Volume = { name: 'podinfo', downwardAPI: { items: [{ path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } }] } };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: v.namespace, labels: { ...commonLabels(plan, v), [COMPONENT_LABEL]: 'generator', [JOB_LABEL]: name } },
    spec: {
      ...(suspended ? { suspend: true } : {}),
      completionMode: 'Indexed',
      completions: pods,
      parallelism: pods,
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(activeDeadlineS),
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: podMeta(plan, v, 'generator', { [JOB_LABEL]: name }),
        spec: podSpec(plan, c, withAffinity(plan, 'generator', { restartPolicy: 'Never', terminationGracePeriodSeconds: 5 }), [podinfo]),
      },
    },
  };
}

/** Everything a run applies before its first round, in apply order. */
export function renderPair(plan: K8sPlan): (V1Namespace | V1ConfigMap | V1Deployment | V1Service)[] {
  const objects: (V1Namespace | V1ConfigMap | V1Deployment | V1Service)[] = [];
  if (plan.env.namespaces === undefined) for (const v of variantsOf(plan)) objects.push(renderNamespace(plan, v));
  for (const v of variantsOf(plan)) {
    if (plan.env.image === undefined && plan.code !== undefined) objects.push(renderCodeConfigMap(plan, v, plan.code));
    objects.push(renderEchoDeployment(plan, v), renderEchoService(plan, v));
  }
  return objects;
}

/** Whether an object (as read back from the API) carries meshbench's label — the only objects cleanup may touch. */
export function isOurs(labels: Record<string, string> | undefined, runId?: string): boolean {
  if (labels?.[MANAGED_BY_KEY] !== 'meshbench') return false;
  return runId === undefined || labels[RUN_LABEL] === runId;
}

export const PILOT_GENERATOR_PREFIX = 'pilot-generator-';
export const SHARD_LABEL = 'meshbench.dev/shard';

/**
 * A pilot's generator shard `job.shard` of one variant: a Deployment of one pod (not a Job per round) that runs
 * until the pilot ends and then idles. One Deployment per shard because a Deployment's pods have no index and a
 * shard must keep its share and its identity across restarts; `Recreate`, so a shard never runs twice at once
 * (two pods of one shard would double its load). A container that dies is restarted in place by the kubelet
 * (restartCount + 1), a deleted pod replaced by the Deployment — either way the pilot notices and records a gap.
 */
export function renderPilotGenerator(plan: K8sPlan, v: VariantPlan, job: PilotGeneratorJob): V1Deployment {
  const name = `${PILOT_GENERATOR_PREFIX}${job.shard}`;
  const selector = { 'app.kubernetes.io/name': 'meshbench-pilot-generator', [SHARD_LABEL]: String(job.shard) };
  const c = container(plan, GENERATOR_CONTAINER, ['k8s', 'generate', '--job', JSON.stringify(job)], resourcesOf(plan, 'generator'));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: v.namespace, labels: { ...commonLabels(plan, v), [COMPONENT_LABEL]: 'generator', [SHARD_LABEL]: String(job.shard) } },
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: { metadata: podMeta(plan, v, 'generator', selector), spec: podSpec(plan, c, withAffinity(plan, 'generator', { terminationGracePeriodSeconds: 5 })) },
    },
  };
}
