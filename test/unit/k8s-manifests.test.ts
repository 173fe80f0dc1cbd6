import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/config/load.js';
import { DEFAULT_NODE_IMAGE, type Scenario } from '../../src/config/schema.js';
import { renderFiles } from '../../src/envs/kubernetes/render.js';
import { JOB_LABEL, READY_PORT_NAME, RESTARTED_AT, START_AT_ANNOTATION, renderEchoDeployment, variantsOf } from '../../src/envs/kubernetes/manifests.js';
import { CLUSTER_RULES, NAMESPACED_RULES, rightsInWords } from '../../src/envs/kubernetes/rbac.js';
import { READY_PATH, READY_PORT, serveReadiness } from '../../src/envs/kubernetes/readiness.js';
import { packageRoot } from '../../src/paths.js';
import { restrictedViolations, type PodSpecLike } from '../k8s-psa.js';

/**
 * Rendered manifests checked two ways against the Kubernetes OpenAPI definitions, with maintained libraries:
 * kubernetes-models (JSON-schema validators generated from the upstream OpenAPI spec: types, required fields,
 * formats, enums) and @kubernetes/client-node's models (generated from the same spec), whose attribute maps
 * catch any field the API does not define — kubernetes-models' schemas accept unknown fields.
 */

type Validatable = { validate(): void };
const MODELS: Record<string, (o: object) => Validatable> = {
  Namespace: (o) => new Namespace(o),
  ConfigMap: (o) => new ConfigMap(o),
  Service: (o) => new Service(o),
  Deployment: (o) => new Deployment(o),
  Job: (o) => new Job(o),
  ClusterRole: (o) => new ClusterRole(o),
  Role: (o) => new Role(o),
};
const CLIENT_MODELS: Record<string, string> = { Namespace: 'V1Namespace', ConfigMap: 'V1ConfigMap', Service: 'V1Service', Deployment: 'V1Deployment', Job: 'V1Job', ClusterRole: 'V1ClusterRole', Role: 'V1Role' };

type AttributeMap = { baseName: string; type: string }[];
function attributesOf(type: string): AttributeMap | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>)[type];
  return model?.getAttributeTypeMap?.();
}

/** Paths of fields the client-node model of `type` (from the OpenAPI spec) does not define. */
function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1] !== undefined && Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, array[1] ?? '', `${path}[${i}]`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1] !== undefined) return Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1] ?? '', `${path}.${k}`));
  const attributes = attributesOf(type);
  if (attributes === undefined) return []; // string, number, IntOrString …
  return Object.entries(value as object).flatMap(([k, v]) => {
    const a = attributes.find((x) => x.baseName === k);
    return a === undefined ? [`${path}.${k}`] : unknownFields(v, a.type, `${path}.${k}`);
  });
}

function validate(obj: { kind?: string }): string[] {
  const kind = obj.kind ?? '?';
  const make = MODELS[kind];
  if (make === undefined) return [`no validator for kind ${kind}`];
  try {
    make(obj).validate();
  } catch (err) {
    return [`${kind}: ${err instanceof Error ? err.message : String(err)}`];
  }
  return unknownFields(obj, CLIENT_MODELS[kind] ?? '').map((p) => `${kind}: unknown field ${p}`);
}

function scenarioFor(mesh: string, env: Record<string, unknown> = {}): Scenario {
  return parseScenario(
    {
      name: `render-${mesh}`,
      env: { kind: 'kubernetes', mesh, generators: 2, ...(mesh === 'istio-sidecar' || mesh === 'linkerd' ? { sidecarResources: { cpu: '100m', memory: '64Mi', cpuLimit: '1', memoryLimit: '128Mi' } } : {}), ...env },
      protocols: [{ name: 'http1' }, { name: 'grpc-bidi' }, { name: 'grpc-unary' }, { name: 'websocket' }],
      budgets: { p99OverheadMs: 5 },
    },
    'test',
  );
}

type Manifest = { kind?: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };
function manifests(files: Map<string, string>): Manifest[] {
  return [...files.entries()].filter(([p]) => !p.endsWith('kustomization.yaml')).flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS() as Manifest));
}

const MESHES = ['istio-sidecar', 'istio-ambient', 'linkerd', 'none'] as const;

describe('k8s render: manifests valid against the Kubernetes OpenAPI definitions', () => {
  it.each(MESHES)('%s: every object validates', async (mesh) => {
    const files = await renderFiles(scenarioFor(mesh), { runId: 'test', image: 'meshbench:dev' });
    const objects = manifests(files);
    expect(objects.length).toBeGreaterThan(mesh === 'none' ? 6 : 12);
    expect(objects.flatMap(validate)).toEqual([]);
  });

  it('the no-image render (node image + code ConfigMap under 1 MiB) validates', async () => {
    const files = await renderFiles(scenarioFor('linkerd'), { runId: 'test' });
    const objects = manifests(files);
    expect(objects.flatMap(validate)).toEqual([]);
    const cm = objects.find((o) => o.kind === 'ConfigMap') as (Manifest & { data: Record<string, string> }) | undefined;
    expect(Buffer.byteLength(JSON.stringify(cm?.data))).toBeLessThan(1024 * 1024);
    const deployment = objects.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { image: string; command: string[] }[] } } } } | undefined;
    expect(deployment?.spec.template.spec.containers[0]).toMatchObject({ image: DEFAULT_NODE_IMAGE, command: ['node', '/opt/meshbench/dist/incluster.js'] });
  });

  it('the validators do reject what is wrong (so a pass means something)', () => {
    expect(validate({ kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: 'eighty' }] } } as Manifest)).not.toEqual([]);
    expect(validate({ kind: 'Namespace', metadata: { name: 'x', lables: {} } } as unknown as Manifest)).toEqual(['Namespace: unknown field .metadata.lables']);
  });
});

const ns = (objects: Manifest[], variant: string) => objects.find((o) => o.kind === 'Namespace' && o.metadata.name === `meshbench-test-${variant}`);

describe('k8s render: each mesh gets its own switch, the baseline opts out of all', () => {
  const podAnnotations = (objects: Manifest[], variant: string) =>
    (objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === `meshbench-test-${variant}`)?.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;

  it.each([
    ['istio-sidecar', { 'istio-injection': 'enabled' }, {}, { 'sidecar.istio.io/proxyCPU': '100m', 'sidecar.istio.io/proxyMemory': '64Mi', 'sidecar.istio.io/proxyCPULimit': '1', 'sidecar.istio.io/proxyMemoryLimit': '128Mi' }],
    ['istio-ambient', { 'istio.io/dataplane-mode': 'ambient' }, {}, undefined],
    ['linkerd', {}, { 'linkerd.io/inject': 'enabled' }, { 'config.linkerd.io/proxy-cpu-request': '100m', 'config.linkerd.io/proxy-memory-request': '64Mi', 'config.linkerd.io/proxy-cpu-limit': '1', 'config.linkerd.io/proxy-memory-limit': '128Mi' }],
  ] as const)('%s', async (mesh, labels, annotations, sizing) => {
    const objects = manifests(await renderFiles(scenarioFor(mesh), { runId: 'test', image: 'meshbench:dev' }));
    const meshed = ns(objects, 'meshed');
    expect(meshed?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'meshbench', 'meshbench.dev/run': 'test', ...labels });
    if (Object.keys(annotations).length > 0) expect(meshed?.metadata.annotations).toEqual(annotations);
    expect(ns(objects, 'unmeshed')?.metadata.labels).toMatchObject({ 'istio-injection': 'disabled', 'istio.io/dataplane-mode': 'none' });
    expect(ns(objects, 'unmeshed')?.metadata.annotations).toEqual({ 'linkerd.io/inject': 'disabled' });
    expect(podAnnotations(objects, 'meshed')).toEqual(sizing);
    // every object a run applies is labelled (cleanup selects by label and nothing else); rbac.yaml is the admin's
    expect(objects.filter((o) => o.kind !== 'ClusterRole' && o.kind !== 'Role').every((o) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'meshbench' && o.metadata.labels['meshbench.dev/run'] === 'test')).toBe(true);
    // protocol detection by port name; no appProtocol (Linkerd would treat the port as opaque)
    const service = objects.find((o) => o.kind === 'Service') as { spec: { ports: { name: string; appProtocol?: string }[] } } | undefined;
    expect(service?.spec.ports.map((p) => p.name)).toEqual(['http-echo', 'grpc-echo', 'http-ws']);
    expect(service?.spec.ports.some((p) => p.appProtocol !== undefined)).toBe(false);
    // generators: an Indexed Job in the same namespace, split over env.generators pods
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.namespace === 'meshbench-test-meshed' && o.metadata.name === 'load-http1') as { spec: { completionMode: string; completions: number } } | undefined;
    expect(job?.spec).toMatchObject({ completionMode: 'Indexed', completions: 2 });
  });

  it('a pilot: one generator Deployment per variant × shard (Recreate), each with its shard of the pilot job on the wall-clock grid', async () => {
    const files = await renderFiles(scenarioFor('istio-sidecar'), { runId: 'test', image: 'meshbench:dev' });
    expect(files.get('pilot/kustomization.yaml')).toContain('- meshed-generators.yaml');
    const pilots = manifests(new Map([...files].filter(([p]) => p.startsWith('pilot/'))));
    type Pilot = Manifest & { spec: { replicas: number; strategy: { type: string }; template: { spec: { containers: { args: string[] }[] } } } };
    const shards = (pilots as Pilot[]).map((d) => {
      const args = d.spec.template.spec.containers[0]?.args ?? [];
      const job = JSON.parse(args[args.indexOf('--job') + 1] ?? '{}') as { kind: string; variant: string; shard: number; shards: number; gridStartMs: number; windowS: number; endMs?: number };
      return [d.kind, d.metadata.namespace, d.metadata.name, d.spec.replicas, d.spec.strategy.type, job.kind, job.variant, job.shard, job.shards, job.gridStartMs, job.endMs];
    });
    expect(shards).toEqual([
      ['Deployment', 'meshbench-test-unmeshed', 'pilot-generator-0', 1, 'Recreate', 'pilot', 'unmeshed', 0, 2, 0, undefined],
      ['Deployment', 'meshbench-test-unmeshed', 'pilot-generator-1', 1, 'Recreate', 'pilot', 'unmeshed', 1, 2, 0, undefined],
      ['Deployment', 'meshbench-test-meshed', 'pilot-generator-0', 1, 'Recreate', 'pilot', 'meshed', 0, 2, 0, undefined],
      ['Deployment', 'meshbench-test-meshed', 'pilot-generator-1', 1, 'Recreate', 'pilot', 'meshed', 1, 2, 0, undefined],
    ]);
  });

  it('an Istio revision replaces istio-injection; mesh none renders the unmeshed namespace alone', async () => {
    const rev = manifests(await renderFiles(scenarioFor('istio-sidecar', { istioRevision: '1-24-0' }), { runId: 'test', image: 'i' }));
    expect(ns(rev, 'meshed')?.metadata.labels).toMatchObject({ 'istio.io/rev': '1-24-0' });
    expect(ns(rev, 'meshed')?.metadata.labels?.['istio-injection']).toBeUndefined();
    const none = manifests(await renderFiles(scenarioFor('none'), { runId: 'test', image: 'i' }));
    expect(none.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['meshbench-test-unmeshed']);
  });
});

type PodTemplate = { metadata: { labels?: Record<string, string> }; spec: PodSpecLike & { automountServiceAccountToken?: boolean; containers: { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] } };
/** Every pod template in a render: the echo Deployments' and every Job's. */
function podTemplates(objects: Manifest[]): [string, PodTemplate][] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
    .map((o) => [`${o.kind ?? '?'} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, (o.spec as { template: PodTemplate }).template]);
}

describe('k8s render: pods a platform team admits', () => {
  const variants: [string, Record<string, unknown>, { image?: string }][] = [
    ...MESHES.map((mesh): [string, Record<string, unknown>, { image?: string }] => [mesh, {}, { image: 'meshbench:dev' }]),
    ['linkerd', {}, {}], // node image + code ConfigMap volume
    ['istio-sidecar', { runAsUser: 'platform' }, { image: 'meshbench:dev' }], // OpenShift assigns the UID
    ['istio-ambient', { runAsUser: 4242, resources: { generator: { cpu: '2', memory: '1Gi', cpuLimit: '2' } } }, {}],
  ];

  it.each(variants)('%s %j: every pod spec meets PodSecurity "restricted"; no API token', async (mesh, env, options) => {
    const templates = podTemplates(manifests(await renderFiles(scenarioFor(mesh, env), { runId: 'test', ...options })));
    expect(templates.length).toBeGreaterThan(2);
    for (const [name, t] of templates) {
      expect(restrictedViolations(t.spec), name).toEqual([]);
      expect(t.spec.automountServiceAccountToken, name).toBe(false);
      expect(t.spec.securityContext?.runAsUser, name).toBe(env['runAsUser'] === 'platform' ? undefined : (env['runAsUser'] ?? 1000));
    }
  });

  it('the restricted check rejects what PodSecurity rejects (so a pass means something)', () => {
    const ok: PodSpecLike = { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }] };
    expect(restrictedViolations(ok)).toEqual([]);
    expect(restrictedViolations({ ...ok, securityContext: { runAsNonRoot: true } })).toEqual(['container c: seccompProfile must be RuntimeDefault or Localhost']);
    expect(restrictedViolations({ ...ok, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } })).toEqual(['container c: runAsNonRoot != true']);
    expect(restrictedViolations({ ...ok, volumes: [{ name: 'h', hostPath: { path: '/' } }] })).toEqual(['volume h of type hostPath']);
    expect(restrictedViolations({ ...ok, initContainers: [{ name: 'istio-init', securityContext: { allowPrivilegeEscalation: false, runAsUser: 0, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } } }] })).toEqual([
      'container istio-init: runAsUser=0',
      'container istio-init: adds capability NET_ADMIN',
    ]);
  });

  it('requests by default (not BestEffort), memory limited at its request, CPU limited only when asked', async () => {
    const templates = podTemplates(manifests(await renderFiles(scenarioFor('istio-sidecar', { resources: { echo: { cpu: '1', memory: '200Mi', cpuLimit: '2' } } }), { runId: 'test', image: 'i' })));
    for (const [name, t] of templates) {
      const r = t.spec.containers[0]?.resources;
      if (name.startsWith('Deployment') && !name.includes('pilot-generator')) expect(r, name).toEqual({ requests: { cpu: '1', memory: '200Mi' }, limits: { cpu: '2', memory: '200Mi' } });
      else expect(r, name).toEqual({ requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '256Mi' } });
    }
  });

  it('ambient pods opt out of sidecar injection, so an istio.io/rev label cannot give them sidecars', async () => {
    const objects = manifests(await renderFiles(scenarioFor('istio-ambient', { istioRevision: '1-24-0' }), { runId: 'test', image: 'i' }));
    expect(ns(objects, 'meshed')?.metadata.labels).toMatchObject({ 'istio.io/dataplane-mode': 'ambient', 'istio.io/rev': '1-24-0' });
    const meshed = podTemplates(objects).filter(([name]) => name.includes('-meshed/'));
    expect(meshed.length).toBeGreaterThan(2);
    for (const [name, t] of meshed) expect(t.metadata.labels?.['sidecar.istio.io/inject'], name).toBe('false');
  });

  it('GitOps: every rendered Job is suspended (applying jobs/ starts nothing); the kustomization says server-side apply', async () => {
    const files = await renderFiles(scenarioFor('linkerd'), { runId: 'test' });
    const jobs = manifests(files).filter((o) => o.kind === 'Job');
    expect(jobs.length).toBe(10);
    expect(jobs.every((j) => j.spec?.['suspend'] === true)).toBe(true);
    expect(files.get('kustomization.yaml')).toContain('kubectl apply --server-side');
    expect(files.get('jobs/kustomization.yaml')).toContain('"suspend":false');
  });
});

type Probe = { httpGet?: { path?: string; port?: string | number }; periodSeconds?: number };
type GeneratorContainer = { args?: string[]; ports?: { name?: string; containerPort?: number }[]; readinessProbe?: Probe };

describe('start barrier: a load Job\'s generators report ready, then start at the published time', () => {
  it.each(MESHES)('%s: load Jobs probe the generator\'s readiness port every second; probe Jobs and the pilot do not', async (mesh) => {
    const objects = manifests(await renderFiles(scenarioFor(mesh), { runId: 'test', image: 'meshbench:dev' }));
    const generators = objects.filter((o) => o.kind === 'Job' || o.metadata.name.startsWith('pilot-generator'));
    expect(generators.length).toBeGreaterThan(4);
    for (const o of generators) {
      const [c] = (o.spec as { template: { spec: { containers: GeneratorContainer[] } } }).template.spec.containers;
      const job = JSON.parse(c?.args?.[c.args.indexOf('--job') + 1] ?? '{}') as { kind?: string; startAnnotation?: string };
      const where = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (o.kind === 'Job' && job.kind === 'load') {
        expect(job.startAnnotation, where).toBe(START_AT_ANNOTATION);
        expect(c?.ports, where).toEqual([{ name: READY_PORT_NAME, containerPort: READY_PORT, protocol: 'TCP' }]);
        expect(c?.readinessProbe, where).toEqual({ httpGet: { path: READY_PATH, port: READY_PORT_NAME }, periodSeconds: 1 });
      } else {
        expect(job.startAnnotation, where).toBeUndefined();
        expect(c?.readinessProbe, where).toBeUndefined();
      }
    }
  });

  it('the port name is a valid IANA service name with Istio\'s protocol prefix, and no Service exposes the port', async () => {
    expect(READY_PORT_NAME).toMatch(/^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(READY_PORT_NAME.startsWith('http-')).toBe(true);
    const objects = manifests(await renderFiles(scenarioFor('istio-sidecar'), { runId: 'test', image: 'i' }));
    const servicePorts = objects.filter((o) => o.kind === 'Service').flatMap((o) => (o.spec as { ports: { port: number }[] }).ports.map((p) => p.port));
    expect(servicePorts).not.toContain(READY_PORT);
  });

  it('the readiness endpoint: 503 until ready(), then 200; other paths 404', async () => {
    const endpoint = await serveReadiness(0, '127.0.0.1');
    try {
      const get = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${endpoint.port}${path}`)).status;
      expect([await get(READY_PATH), await get('/')]).toEqual([503, 404]);
      endpoint.ready();
      expect([await get(READY_PATH), await get(READY_PATH), await get('/healthz')]).toEqual([200, 200, 404]);
    } finally {
      await endpoint.close();
    }
  });

  it('a rendered load Job says how to publish the start by hand', async () => {
    const files = await renderFiles(scenarioFor('linkerd'), { runId: 'test', image: 'i' });
    expect(files.get('jobs/kustomization.yaml')).toContain(`kubectl -n <ns> annotate pod -l ${JOB_LABEL}=<name> ${START_AT_ANNOTATION}=`);
    expect(files.get('jobs/kustomization.yaml')).toContain('wait --for=condition=Ready pod');
  });
});

describe('RBAC: the rights a run needs, rendered and in the error that a refused call gets', () => {
  const allows = (rules: readonly { apiGroups?: string[]; resources?: string[]; verbs: string[] }[], group: string, resource: string, verb: string): boolean =>
    rules.some((r) => (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource) && r.verbs.includes(verb));

  it.each([
    ['', 'pods', 'patch'], // the start barrier annotates the generator pods
    ['', 'pods', 'watch'],
    ['', 'pods/log', 'get'],
    ['batch', 'jobs', 'create'],
    ['apps', 'deployments', 'patch'],
    ['metrics.k8s.io', 'pods', 'list'],
  ])('a namespaced Role and the ClusterRole grant %s %s %s', (group, resource, verb) => {
    expect(allows(NAMESPACED_RULES, group, resource, verb)).toBe(true);
    expect(allows(CLUSTER_RULES, group, resource, verb)).toBe(true);
  });

  it('only the ClusterRole touches namespaces; nothing grants deleting pods or reading secrets', () => {
    expect(allows(CLUSTER_RULES, '', 'namespaces', 'create')).toBe(true);
    expect(allows(NAMESPACED_RULES, '', 'namespaces', 'create')).toBe(false);
    expect(allows(CLUSTER_RULES, '', 'pods', 'delete')).toBe(false);
    expect(CLUSTER_RULES.some((r) => (r.resources ?? []).includes('secrets'))).toBe(false);
  });

  it.each([
    [{}, 'ClusterRole', ['meshbench']],
    [{ namespaces: { unmeshed: 'shop-plain', meshed: 'shop-mesh' } }, 'Role', ['shop-plain/meshbench', 'shop-mesh/meshbench']],
  ])('k8s render writes rbac.yaml (%j: %s), outside the kustomization', async (env, kind, names) => {
    const files = await renderFiles(scenarioFor('linkerd', env), { runId: 'test', image: 'i' });
    const rbac = parseAllDocuments(files.get('rbac.yaml') ?? '').map((d) => d.toJS() as Manifest & { rules: unknown[] });
    expect(rbac.map((o) => o.kind)).toEqual(names.map(() => kind));
    expect(rbac.map((o) => (o.metadata.namespace === undefined ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`))).toEqual(names);
    expect(rbac.flatMap(validate)).toEqual([]);
    expect(rbac[0]?.rules).toEqual(kind === 'Role' ? NAMESPACED_RULES : CLUSTER_RULES);
    expect(files.get('kustomization.yaml')).not.toContain('rbac.yaml');
  });

  it('the error of a refused call lists every right, patch on pods included', () => {
    expect(rightsInWords()).toBe(
      'create, list and delete namespaces; get, list, watch, create, patch and delete configmaps, services; get, list, watch, create, patch and delete apps deployments; ' +
        'get, list, watch, create, patch and delete batch jobs; get, list, watch and patch pods; get pods/log; get and list metrics.k8s.io pods',
    );
  });
});

describe('shipped kubernetes scenarios and the k8s/ examples', () => {
  const EXAMPLES = { 'istio-sidecar': 'k8s-istio-sidecar', 'istio-ambient': 'k8s-istio-ambient', linkerd: 'k8s-linkerd', baseline: 'k8s-baseline' } as const;

  function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
  }

  it.each(Object.entries(EXAMPLES))('k8s/%s equals a fresh render of scenarios/%s.yaml (run id "example", image meshbench:dev)', async (dir, name) => {
    const { scenario } = await loadScenario(name);
    const files = await renderFiles(scenario, { runId: 'example', image: 'meshbench:dev' });
    const root = join(packageRoot, 'k8s', dir);
    expect(existsSync(root)).toBe(true);
    const onDisk = filesUnder(root).map((f) => relative(root, f).split('\\').join('/')).sort();
    expect(onDisk).toEqual([...files.keys()].sort());
    for (const [path, text] of files) expect(readFileSync(join(root, path), 'utf8'), path).toBe(text);
  });
});

describe('the default image', () => {
  it('is Node 22 pinned by digest, and the Dockerfile builds on the same digest', () => {
    expect(DEFAULT_NODE_IMAGE).toMatch(/^node:22-slim@sha256:[0-9a-f]{64}$/);
    const froms = readFileSync(join(packageRoot, 'Dockerfile'), 'utf8').split('\n').filter((l) => l.startsWith('FROM ')).map((l) => l.split(' ')[1]);
    expect(froms.length).toBeGreaterThan(0);
    expect(new Set(froms)).toEqual(new Set([DEFAULT_NODE_IMAGE]));
  });
});

describe('rollout restart (a drill\'s restart-sidecars on kubernetes)', () => {
  it('re-renders the whole echo Deployment, adding only the restartedAt pod annotation, validated by the Deployment schema', () => {
    const scenario = parseScenario({ name: 'r', env: { kind: 'kubernetes', mesh: 'istio-sidecar', image: 'i' }, protocols: [{ name: 'http1' }], events: [{ action: 'restart-sidecars', atS: 1 }] }, 'test');
    if (scenario.env.kind !== 'kubernetes') throw new Error('kubernetes scenario expected');
    const plan = { runId: 'test', env: scenario.env };
    const meshed = variantsOf(plan).find((v) => v.meshed);
    if (meshed === undefined) throw new Error('no meshed variant');
    const before = renderEchoDeployment(plan, meshed);
    const after = renderEchoDeployment(plan, meshed, '2026-12-01T20:00:00.000Z');
    new Deployment(after as ConstructorParameters<typeof Deployment>[0]).validate();
    expect(after.spec?.template.metadata?.annotations?.[RESTARTED_AT]).toBe('2026-12-01T20:00:00.000Z');
    const { [RESTARTED_AT]: _added, ...rest } = after.spec?.template.metadata?.annotations ?? {};
    expect({ ...after, spec: { ...after.spec, template: { ...after.spec?.template, metadata: { ...after.spec?.template.metadata, annotations: rest } } } })
      .toEqual({ ...before, spec: { ...before.spec, template: { ...before.spec?.template, metadata: { ...before.spec?.template.metadata, annotations: before.spec?.template.metadata?.annotations ?? {} } } } });
  });
});
