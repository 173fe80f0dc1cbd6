import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatOutput, generateMain, parseJob, runGenerator, shutdownProxy } from '../../src/envs/kubernetes/generator.js';
import { restrictedViolations, type PodSpecLike } from '../k8s-psa.js';

/**
 * A Kubernetes API STAND-IN for tests — not a Kubernetes. A node:http server on 127.0.0.1:0 that implements
 * just what meshbench's client-node calls use: discovery, server-side apply (PATCH application/apply-patch+yaml,
 * fieldManager meshbench), get / list with label and field selectors, watch streams (newline-delimited JSON,
 * closed after `watchCloseMs` so the client must watch again; optionally one 410 to make it re-list), pod logs,
 * delete (namespaces cascade), metrics.k8s.io pod metrics, /version.
 *
 * It simulates what a cluster with a mesh would do: Deployments become ready after `readyDelayMs` with pods;
 * a namespace labelled for Istio gets an `istio-proxy` native sidecar (initContainer), one annotated for Linkerd
 * a `linkerd-proxy` container, an ambient one the ambient.istio.io/redirection annotation. A Job's pods run the
 * REAL generator (runGenerator, in-process) against a REAL loopback echo — the in-cluster service names rewritten
 * to it — and their log is the generator's real output (chunked record lines). A load Job's pod (its template has
 * a readinessProbe: the start barrier) turns Ready only when its in-process generator calls ready(), which the
 * kubelet would learn from the probe; a merge patch of a pod's annotations is what the pod's annotations() source
 * then reads (after `downwardApiDelayMs`, as a slow kubelet rewrites the downward API file); `slowStartMs` starts a
 * pod's containers late, as a slow sidecar would. As the mesh's server-side proxy would, the stand-in
 * adds x-forwarded-client-cert (Istio) or l5d-client-id (Linkerd) to the meshed namespace's requests, so the
 * echo reflects them; the proxies' shutdown endpoints are pointed at the stand-in, which records the calls.
 * A generator Deployment's pod (a pilot's) runs the REAL `k8s generate` in-process as its container, its log
 * served as it grows (follow=true) and, after `crashGenerator` killed and restarted the container, the dead
 * instance's log with previous=true, as the kubelet does.
 */

type Obj = { apiVersion?: string; kind?: string; metadata: Meta; spec?: Record<string, unknown>; status?: Record<string, unknown>; [k: string]: unknown };
interface Meta { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; uid?: string; generation?: number; [k: string]: unknown }
interface WatchEvent { rv: number; type: string; plural: string; namespace: string | undefined; obj: Obj }

const RESOURCES: Record<string, { group: string; kind: string; namespaced: boolean }> = {
  namespaces: { group: 'v1', kind: 'Namespace', namespaced: false },
  pods: { group: 'v1', kind: 'Pod', namespaced: true },
  configmaps: { group: 'v1', kind: 'ConfigMap', namespaced: true },
  services: { group: 'v1', kind: 'Service', namespaced: true },
  deployments: { group: 'apps/v1', kind: 'Deployment', namespaced: true },
  jobs: { group: 'batch/v1', kind: 'Job', namespaced: true },
};

export interface StandinOptions {
  echo: { httpPort: number; grpcPort: number };
  metricsApi?: boolean;
  watchCloseMs?: number;
  readyDelayMs?: number;
  /** Answer the first watch with a 410 ERROR event (resource version expired). */
  expireFirstWatch?: boolean;
  /** Misconfigured cluster: the unmeshed namespace's traffic gets the mesh header too. */
  leakMeshIntoUnmeshed?: boolean;
  /**
   * PodSecurity admission enforcing "restricted" on every namespace (as a cluster-wide default would): a
   * Deployment whose pods violate it gets ReplicaFailure (FailedCreate) and no pods, as a ReplicaSet does.
   */
  podSecurity?: 'restricted';
  /** The cluster's nodes (default node-a, node-b, node-c); the stand-in's scheduler honours required (anti-)affinity. */
  nodes?: string[];
  /** Every pod stays Pending, unschedulable with this scheduler message. */
  unschedulable?: string;
  /** Istio without istio-cni: injection adds the istio-init container (NET_ADMIN, NET_RAW, root). */
  istioInit?: boolean;
  /**
   * A Job pod's containers (its sidecar and the generator) start this many ms after the pod is placed — a slow
   * image pull or a slow sidecar — by variant, completion index and Job name. Default: at once.
   */
  slowStartMs?: (variant: string, index: number, job: string) => number;
  /** A patch of a pod's annotations reaches the pod's downward API file only this many ms later (a slow kubelet). */
  downwardApiDelayMs?: number;
  /** Called for every request before it is handled (tests abort runs in a given phase from here). */
  onRequest?: (method: string, path: string) => void;
}

export const STANDIN_TOKEN = 'standin-token';
const AMBIENT = 'ambient.istio.io/redirection';
const clone = <T>(v: T): T => structuredClone(v);

export class ApiStandin {
  readonly objects = new Map<string, Obj>();
  readonly requests: string[] = [];
  readonly shutdownCalls: string[] = [];
  /** Every object as meshbench sent it (created or applied), in order. */
  readonly received: Obj[] = [];
  readonly logs = new Map<string, string>();
  /** The log of each pod's last terminated container instance (previous=true). */
  readonly previousLogs = new Map<string, string>();
  private readonly followers = new Map<string, Set<ServerResponse>>();
  private readonly events: WatchEvent[] = [];
  private readonly watchers = new Set<(e: WatchEvent) => void>();
  private readonly running = new Map<string, AbortController>();
  private readonly generators = new Set<Promise<void>>();
  /** When each Job pod became Ready and when meshbench annotated it (epoch ms), by pod name. */
  readonly readyAtMs = new Map<string, number>();
  readonly annotatedAtMs = new Map<string, number>();
  /** A pod's downward API view while a patch has not reached it yet (downwardApiDelayMs): until when, what it still shows. */
  private readonly staleDownward = new Map<string, { untilMs: number; annotations: Record<string, string> }>();
  private rv = 100;
  private watchCount = 0;
  private server: Server | undefined;
  url = '';

  constructor(private readonly opts: StandinOptions) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const c of this.running.values()) c.abort();
    await Promise.allSettled([...this.generators]);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  kubeconfig(context = 'standin'): string {
    return [
      'apiVersion: v1', 'kind: Config', `current-context: ${context}`,
      'clusters:', `- name: standin`, `  cluster: { server: "${this.url}", insecure-skip-tls-verify: true }`,
      'users:', `- name: standin`, `  user: { token: ${STANDIN_TOKEN} }`,
      'contexts:', `- name: ${context}`, '  context: { cluster: standin, user: standin }', '',
    ].join('\n');
  }

  /** Puts an object in place without meshbench (e.g. a namespace that is not ours and must survive cleanup). */
  seed(plural: string, obj: Obj): void {
    this.store(plural, obj, 'ADDED');
  }

  list(plural: string, namespace?: string): Obj[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${plural}/${namespace ?? ''}/`) || (namespace === undefined && k.startsWith(`${plural}/`))).map(([, o]) => o);
  }

  private key(plural: string, ns: string | undefined, name: string): string {
    return `${plural}/${ns ?? ''}/${name}`;
  }

  private store(plural: string, obj: Obj, type: string): Obj {
    obj.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(plural, obj.metadata.namespace, obj.metadata.name), obj);
    this.emit({ rv: this.rv, type, plural, namespace: obj.metadata.namespace, obj: clone(obj) });
    return obj;
  }

  private remove(plural: string, obj: Obj): void {
    this.objects.delete(this.key(plural, obj.metadata.namespace, obj.metadata.name));
    this.running.get(this.key(plural, obj.metadata.namespace, obj.metadata.name))?.abort();
    this.emit({ rv: ++this.rv, type: 'DELETED', plural, namespace: obj.metadata.namespace, obj: clone(obj) });
  }

  private emit(e: WatchEvent): void {
    this.events.push(e);
    for (const w of this.watchers) w(e);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method ?? '?'} ${url.pathname}${url.search}`);
    try {
      this.opts.onRequest?.(req.method ?? '', url.pathname);
      if (url.pathname === '/quitquitquit') {
        this.shutdownCalls.push(url.searchParams.get('pod') ?? '?');
        return this.send(res, 200, {});
      }
      if (req.headers.authorization !== `Bearer ${STANDIN_TOKEN}`) return this.status(res, 401, 'Unauthorized');
      if (url.pathname === '/version') {
        return this.send(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-standin', gitCommit: 'standin', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.22', compiler: 'gc', platform: 'linux/amd64' });
      }
      const body = await readBody(req);
      if (url.pathname.startsWith('/apis/metrics.k8s.io/')) return this.metrics(res, url.pathname);
      const discovery = /^\/(api\/v1|apis\/(apps|batch)\/v1)$/.exec(url.pathname);
      if (discovery !== null) return this.discovery(res, discovery[2] === undefined ? 'v1' : `${discovery[2]}/v1`);
      const m = /^\/(?:api\/v1|apis\/(?:apps|batch)\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
      const plural = m?.[2];
      if (m === null || plural === undefined || RESOURCES[plural] === undefined) return this.status(res, 404, `no route ${url.pathname}`);
      const [, ns, , name, log] = m;
      if (log !== undefined && name !== undefined) return this.podLog(res, ns, name, url.searchParams);
      switch (req.method) {
        case 'PATCH':
          if (req.headers['content-type'] === 'application/merge-patch+json' && plural === 'pods' && name !== undefined) return this.mergePatchPod(res, ns, name, body);
          return this.apply(res, plural, ns, name, req.headers['content-type'], url.searchParams, body);
        case 'POST':
          return this.create(res, plural, ns, url.searchParams, body);
        case 'GET':
          if (name !== undefined) {
            const o = this.objects.get(this.key(plural, ns, name));
            return o === undefined ? this.status(res, 404, `${plural} "${name}" not found`) : this.send(res, 200, o);
          }
          return url.searchParams.get('watch') === 'true' ? this.watch(res, plural, ns, url.searchParams) : this.listResponse(res, plural, ns, url.searchParams);
        case 'DELETE':
          return this.delete(res, plural, ns, name ?? '');
        default:
          return this.status(res, 405, `${req.method ?? '?'} not supported by the stand-in`);
      }
    } catch (err) {
      this.status(res, 500, err instanceof Error ? err.message : String(err));
    }
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number, message: string): void {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
  }

  private discovery(res: ServerResponse, groupVersion: string): void {
    const resources = Object.entries(RESOURCES)
      .filter(([, r]) => r.group === groupVersion)
      .map(([name, r]) => ({ name, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs: ['create', 'get', 'list', 'watch', 'patch', 'delete'] }));
    this.send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
  }

  private apply(res: ServerResponse, plural: string, ns: string | undefined, name: string | undefined, contentType: string | undefined, query: URLSearchParams, body: string): void {
    if (contentType !== 'application/apply-patch+yaml') return this.status(res, 415, `the stand-in only accepts server-side apply, got ${contentType ?? 'none'}`);
    if (query.get('fieldManager') !== 'meshbench') return this.status(res, 400, 'fieldManager is required for apply');
    const obj = JSON.parse(body) as Obj;
    this.received.push(clone(obj));
    if (obj.metadata.name !== name || (obj.metadata.namespace ?? undefined) !== ns) return this.status(res, 400, 'name/namespace in the path and the body differ');
    if (ns !== undefined && !this.objects.has(this.key('namespaces', undefined, ns))) return this.status(res, 404, `namespaces "${ns}" not found`);
    const existing = this.objects.get(this.key(plural, ns, obj.metadata.name));
    const merged: Obj = existing === undefined
      ? { ...obj, metadata: { ...obj.metadata, uid: randomBytes(8).toString('hex'), generation: 1, creationTimestamp: new Date().toISOString() }, status: {} }
      : { ...existing, ...obj, metadata: { ...existing.metadata, ...obj.metadata, generation: (existing.metadata.generation ?? 1) + 1 }, status: existing.status ?? {} };
    this.store(plural, merged, existing === undefined ? 'ADDED' : 'MODIFIED');
    this.send(res, existing === undefined ? 201 : 200, merged);
    if (plural === 'deployments') setTimeout(() => this.rollOut(merged), this.opts.readyDelayMs ?? 200); // created or updated (a rollout restart)
    if (existing === undefined && plural === 'jobs') this.startJob(merged);
  }

  /** A JSON merge patch of a pod's annotations (what meshbench sends to publish a round's start); nothing else may change. */
  private mergePatchPod(res: ServerResponse, ns: string | undefined, name: string, body: string): void {
    const key = this.key('pods', ns, name);
    const pod = this.objects.get(key);
    if (pod === undefined) return this.status(res, 404, `pods "${name}" not found`);
    const patch = JSON.parse(body) as { metadata?: { annotations?: Record<string, string | null> }; spec?: unknown; status?: unknown };
    if (patch.spec !== undefined || patch.status !== undefined || Object.keys(patch.metadata ?? {}).some((k) => !['name', 'namespace', 'annotations'].includes(k))) {
      return this.status(res, 422, 'the stand-in accepts merge patches of pod annotations only');
    }
    const before = { ...pod.metadata.annotations };
    const annotations: Record<string, string> = { ...before };
    for (const [k, v] of Object.entries(patch.metadata?.annotations ?? {})) {
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    }
    const delayMs = this.opts.downwardApiDelayMs ?? 0;
    if (delayMs > 0) this.staleDownward.set(key, { untilMs: Date.now() + delayMs, annotations: before });
    this.annotatedAtMs.set(name, Date.now());
    this.send(res, 200, this.store('pods', { ...pod, metadata: { ...pod.metadata, annotations } }, 'MODIFIED'));
  }

  /** A pod's annotations as its downward API file shows them now. */
  private downwardAnnotations(key: string): Record<string, string> {
    const stale = this.staleDownward.get(key);
    if (stale !== undefined && Date.now() < stale.untilMs) return { ...stale.annotations };
    return { ...this.objects.get(key)?.metadata.annotations };
  }

  /** The pod's readiness probe passed (its generator reported ready, its sidecar runs): Ready, as the kubelet would set it. */
  private markReady(key: string): void {
    const pod = this.objects.get(key);
    if (pod === undefined || pod.status?.['phase'] !== 'Running') return;
    this.readyAtMs.set(pod.metadata.name, Date.now());
    this.store('pods', { ...pod, status: { ...pod.status, conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'generator', ready: true, restartCount: 0, state: { running: {} } }] } }, 'MODIFIED');
  }

  /** POST: create, 409 AlreadyExists when the name is taken (whoever owns it). */
  private create(res: ServerResponse, plural: string, ns: string | undefined, query: URLSearchParams, body: string): void {
    if (query.get('fieldManager') !== 'meshbench') return this.status(res, 400, 'the stand-in expects fieldManager=meshbench');
    const obj = JSON.parse(body) as Obj;
    if (this.objects.has(this.key(plural, ns, obj.metadata.name))) return this.status(res, 409, `${plural} "${obj.metadata.name}" already exists`);
    const created: Obj = { ...obj, metadata: { ...obj.metadata, uid: randomBytes(8).toString('hex'), generation: 1, creationTimestamp: new Date().toISOString() }, status: {} };
    this.store(plural, created, 'ADDED');
    this.send(res, 201, created);
  }

  private matches(o: Obj, query: URLSearchParams): boolean {
    for (const term of (query.get('labelSelector') ?? '').split(',').filter((t) => t !== '')) {
      const [k = '', v] = term.split(/!?=/);
      const value = o.metadata.labels?.[k];
      if (term.includes('!=') ? value === v : v === undefined ? value === undefined : value !== v) return false;
    }
    for (const term of (query.get('fieldSelector') ?? '').split(',').filter((t) => t !== '')) {
      const [k, v] = term.split('=');
      if (k === 'metadata.name' && o.metadata.name !== v) return false;
    }
    return true;
  }

  private listResponse(res: ServerResponse, plural: string, ns: string | undefined, query: URLSearchParams): void {
    const items = this.list(plural, ns).filter((o) => this.matches(o, query));
    this.send(res, 200, { kind: `${RESOURCES[plural]?.kind ?? ''}List`, apiVersion: RESOURCES[plural]?.group, metadata: { resourceVersion: String(this.rv) }, items });
  }

  private watch(res: ServerResponse, plural: string, ns: string | undefined, query: URLSearchParams): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (this.opts.expireFirstWatch === true && this.watchCount++ === 0) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
      return;
    }
    const from = Number(query.get('resourceVersion') ?? '0');
    const send = (e: WatchEvent): void => {
      if (e.rv > from && e.plural === plural && (ns === undefined || e.namespace === ns) && this.matches(e.obj, query)) res.write(`${JSON.stringify({ type: e.type, object: e.obj })}\n`);
    };
    for (const e of this.events) send(e);
    this.watchers.add(send);
    const end = (): void => {
      this.watchers.delete(send);
      res.end();
    };
    const timer = setTimeout(end, this.opts.watchCloseMs ?? 300);
    res.on('close', () => {
      clearTimeout(timer);
      this.watchers.delete(send);
    });
  }

  private delete(res: ServerResponse, plural: string, ns: string | undefined, name: string): void {
    const o = this.objects.get(this.key(plural, ns, name));
    if (o === undefined) return this.status(res, 404, `${plural} "${name}" not found`);
    if (plural === 'namespaces') {
      for (const [k, child] of [...this.objects.entries()]) if (k.split('/')[1] === name) this.remove(k.split('/')[0] ?? '', child);
    }
    if (plural === 'jobs') for (const pod of this.list('pods', ns).filter((p) => p.metadata.labels?.['job-name'] === name)) this.remove('pods', pod);
    if (plural === 'deployments') {
      // the garbage collector takes the ReplicaSet's pods along
      const match = (o.spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
      for (const pod of this.list('pods', ns).filter((p) => Object.entries(match).every(([k, v]) => p.metadata.labels?.[k] === v))) this.remove('pods', pod);
    }
    this.remove(plural, o);
    this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  }

  private podLog(res: ServerResponse, ns: string | undefined, name: string, query: URLSearchParams): void {
    const key = `${ns ?? ''}/${name}`;
    if (query.get('previous') === 'true') {
      const previous = this.previousLogs.get(key);
      if (previous === undefined) return this.status(res, 400, `previous terminated container "generator" in pod "${name}" not found`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(previous);
      return;
    }
    const log = this.logs.get(key);
    if (log === undefined) return this.status(res, 404, `no log for pod ${name}`);
    if (query.get('follow') !== 'true' || !this.running.has(this.key('pods', ns, name))) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(log);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(log);
    const set = this.followers.get(key) ?? new Set<ServerResponse>();
    this.followers.set(key, set);
    set.add(res);
    res.on('close', () => set.delete(res));
  }

  private appendLog(key: string, text: string): void {
    this.logs.set(key, (this.logs.get(key) ?? '') + text);
    for (const res of this.followers.get(key) ?? []) res.write(text);
  }

  /** The container of `key` ended: its followers' streams end, as the kubelet's do. */
  private endFollowers(key: string): void {
    for (const res of this.followers.get(key) ?? []) res.end();
    this.followers.delete(key);
  }

  private metrics(res: ServerResponse, path: string): void {
    if (this.opts.metricsApi === false) return this.status(res, 404, 'the server could not find the requested resource');
    const ns = /\/namespaces\/([^/]+)\/pods$/.exec(path)?.[1];
    const items = this.list('pods', ns)
      .filter((p) => p.status?.['phase'] === 'Running')
      .map((p) => {
        const spec = p.spec as { containers?: { name: string }[]; initContainers?: { name: string }[] };
        // a ztunnel (label app=ztunnel) idles at 2m and works (30m) while a generator runs on its node
        const node = (p.spec as { nodeName?: string }).nodeName;
        const busy = this.list('pods').some((g) => g.metadata.labels?.['app.kubernetes.io/component'] === 'generator' && g.status?.['phase'] === 'Running' && (g.spec as { nodeName?: string }).nodeName === node);
        const ztunnel = p.metadata.labels?.['app'] === 'ztunnel';
        const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => ({
          name: c.name,
          usage: ztunnel ? { cpu: busy ? '30m' : '2m', memory: '40960Ki' } : c.name.endsWith('-proxy') ? { cpu: '20000000n', memory: '40960Ki' } : { cpu: '5m', memory: '30Mi' },
        }));
        return { metadata: { name: p.metadata.name, namespace: p.metadata.namespace }, timestamp: new Date().toISOString(), window: '15s', containers };
      });
    this.send(res, 200, { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
  }

  /**
   * A scheduler for required placement rules: nodeAffinity matchFields metadata.name, podAffinity and
   * podAntiAffinity on kubernetes.io/hostname with matchLabels and a namespaces list (a pod matching its own
   * affinity term may go anywhere when no other pod matches, as in Kubernetes); among the nodes that fit, the
   * least loaded. Returns the node, or the message of an unschedulable pod.
   */
  private schedule(pod: Obj): { node: string } | { unschedulable: string } {
    if (this.opts.unschedulable !== undefined) return { unschedulable: this.opts.unschedulable };
    const nodes = this.opts.nodes ?? ['node-a', 'node-b', 'node-c'];
    type Term = { labelSelector?: { matchLabels?: Record<string, string> }; namespaces?: string[]; topologyKey: string };
    const affinity = (pod.spec as { affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: { matchFields?: { key: string; values: string[] }[] }[] } }; podAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: Term[] }; podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: Term[] } } }).affinity ?? {};
    const placed = this.list('pods').filter((p) => typeof (p.spec as { nodeName?: unknown }).nodeName === 'string' && p.status?.['phase'] !== 'Succeeded' && p.status?.['phase'] !== 'Failed');
    const selects = (t: Term, p: Obj): boolean =>
      (t.namespaces ?? [pod.metadata.namespace]).includes(p.metadata.namespace) && Object.entries(t.labelSelector?.matchLabels ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v);
    const nodesOf = (t: Term): Set<string> => new Set(placed.filter((p) => selects(t, p)).map((p) => (p.spec as { nodeName: string }).nodeName));
    let fit = nodes.filter((n) => (affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [{}]).some((term) => (term.matchFields ?? []).every((f) => f.key === 'metadata.name' && f.values.includes(n))));
    for (const t of affinity.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const with_ = nodesOf(t);
      if (with_.size > 0 || !selects(t, pod)) fit = fit.filter((n) => with_.has(n));
    }
    for (const t of affinity.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const with_ = nodesOf(t);
      fit = fit.filter((n) => !with_.has(n));
    }
    const load = (n: string): number => placed.filter((p) => (p.spec as { nodeName: string }).nodeName === n).length;
    const node = fit.sort((x, y) => load(x) - load(y) || x.localeCompare(y))[0];
    return node === undefined ? { unschedulable: `0/${nodes.length} nodes are available: ${nodes.length} node(s) didn't match pod affinity/anti-affinity rules or node affinity.` } : { node };
  }

  /** Stores a new pod: scheduled (spec.nodeName, QoS class) or Pending and unschedulable; whether it was scheduled. */
  private place(pod: Obj, status: Record<string, unknown>): boolean {
    const where = this.schedule(pod);
    const resources = ((pod.spec as { containers?: { resources?: { requests?: object; limits?: Record<string, string> } }[] }).containers ?? []).map((c) => c.resources);
    const qosClass = resources.every((r) => r?.requests === undefined) ? 'BestEffort' : resources.every((r) => r?.limits?.['cpu'] !== undefined && r.limits['memory'] !== undefined) ? 'Guaranteed' : 'Burstable';
    if ('unschedulable' in where) {
      this.store('pods', { apiVersion: 'v1', kind: 'Pod', ...pod, status: { phase: 'Pending', qosClass, conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: where.unschedulable }] } }, 'ADDED');
      return false;
    }
    this.store('pods', { apiVersion: 'v1', kind: 'Pod', ...pod, spec: { ...pod.spec, nodeName: where.node }, status: { ...status, qosClass } }, 'ADDED');
    return true;
  }

  /** What the mesh would do to a pod created in `ns` (injection, ambient capture). */
  private meshPod(ns: string, template: Obj): Obj {
    const nsObj = this.objects.get(this.key('namespaces', undefined, ns));
    const labels = nsObj?.metadata.labels ?? {};
    const pod = clone(template);
    const spec = (pod.spec ??= {}) as { containers?: { name: string; securityContext?: object }[]; initContainers?: { name: string; restartPolicy?: string; securityContext?: object }[] };
    // The proxies as the meshes inject them with their CNI plugin: restricted-compliant containers.
    const proxySecurity = { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1337, capabilities: { drop: ['ALL'] } };
    const optedOut = pod.metadata.labels?.['sidecar.istio.io/inject'] === 'false';
    if (!optedOut && (labels['istio-injection'] === 'enabled' || labels['istio.io/rev'] !== undefined)) {
      const init = this.opts.istioInit === true ? [{ name: 'istio-init', securityContext: { runAsUser: 0, runAsNonRoot: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] } } }] : [];
      spec.initContainers = [...(spec.initContainers ?? []), ...init, { name: 'istio-proxy', restartPolicy: 'Always', securityContext: proxySecurity }];
    }
    if (nsObj?.metadata.annotations?.['linkerd.io/inject'] === 'enabled') spec.containers = [...(spec.containers ?? []), { name: 'linkerd-proxy', securityContext: proxySecurity }];
    if (labels['istio.io/dataplane-mode'] === 'ambient' && spec.initContainers?.some((c) => c.name === 'istio-proxy') !== true) pod.metadata.annotations = { ...pod.metadata.annotations, [AMBIENT]: 'enabled' };
    return pod;
  }

  private rollOut(d: Obj): void {
    if (!this.objects.has(this.key('deployments', d.metadata.namespace, d.metadata.name))) return;
    const spec = d.spec as { replicas?: number; template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } };
    const ns = d.metadata.namespace ?? '';
    // A rollout replaces the Deployment's pods (and their sidecars).
    for (const old of this.list('pods', ns).filter((p) => p.metadata.name.startsWith(`${d.metadata.name}-7d9f8-`))) this.remove('pods', old);
    for (let i = 0; i < (spec.replicas ?? 1); i++) {
      const template: Obj = { metadata: { name: `${d.metadata.name}-7d9f8-${randomBytes(3).toString('hex')}`, namespace: ns, labels: spec.template.metadata?.labels ?? {}, ...(spec.template.metadata?.annotations === undefined ? {} : { annotations: spec.template.metadata.annotations }) }, spec: clone(spec.template.spec) };
      const pod = this.meshPod(ns, template);
      const violations = this.opts.podSecurity === 'restricted' ? restrictedViolations(pod.spec as PodSpecLike) : [];
      if (violations.length > 0) {
        const message = `pods "${pod.metadata.name}" is forbidden: violates PodSecurity "restricted:latest": ${violations.join(', ')}`;
        this.store('deployments', { ...d, status: { observedGeneration: d.metadata.generation, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message }] } }, 'MODIFIED');
        return;
      }
      pod.metadata.uid = randomBytes(8).toString('hex');
      const generator = template.metadata.labels?.['app.kubernetes.io/component'] === 'generator';
      if (!this.place(pod, { phase: 'Running', containerStatuses: [{ name: generator ? 'generator' : 'echo', ready: true, restartCount: 0, state: { running: {} } }] })) return;
      if (generator) this.startContainer(ns, pod.metadata.name, spec.template.spec);
    }
    const n = spec.replicas ?? 1;
    this.store('deployments', { ...d, status: { readyReplicas: n, replicas: n, updatedReplicas: n, availableReplicas: n, observedGeneration: d.metadata.generation } }, 'MODIFIED');
  }

  /** A generator Deployment's container: the real `k8s generate --job` (targets rewritten, mesh headers added). */
  private startContainer(ns: string, podName: string, podSpec: Record<string, unknown>): void {
    const args = (podSpec as { containers: { args?: string[] }[] }).containers[0]?.args ?? [];
    const job = parseJob(this.rewriteTargets(args[args.indexOf('--job') + 1] ?? ''));
    if (job.kind === 'pilot') for (const s of job.specs) s.headers = { ...s.headers, ...this.meshHeaders(ns) };
    const controller = new AbortController();
    const podKey = this.key('pods', ns, podName);
    this.running.set(podKey, controller);
    const logKey = `${ns}/${podName}`;
    this.logs.set(logKey, '');
    const run = generateMain(JSON.stringify(job), (line) => {
      if (!controller.signal.aborted) this.appendLog(logKey, `${line}\n`);
    }, controller.signal).then(
      () => undefined,
      (err: unknown) => this.appendLog(logKey, `meshbench: ${err instanceof Error ? err.message : String(err)}\n`),
    ).finally(() => {
      if (this.running.get(podKey) === controller) this.running.delete(podKey);
      this.endFollowers(logKey);
    });
    this.generators.add(run);
    void run.finally(() => this.generators.delete(run));
  }

  /**
   * Kills the container of a pilot generator pod of `namespace` (shard `shard`) as an OOM kill or a node
   * hiccup would, and restarts it in place after `downMs`: restartCount + 1, the old log kept as `previous`.
   * Resolves once the new container runs; returns the pod's name.
   */
  async crashGenerator(namespace: string, shard: number, downMs = 300): Promise<string> {
    const pod = this.list('pods', namespace).find((p) => p.metadata.labels?.['meshbench.dev/shard'] === String(shard) && p.metadata.labels['app.kubernetes.io/component'] === 'generator');
    if (pod === undefined) throw new Error(`stand-in: no generator pod of shard ${shard} in ${namespace}`);
    const name = pod.metadata.name;
    const podKey = this.key('pods', namespace, name);
    this.running.get(podKey)?.abort();
    this.running.delete(podKey);
    const logKey = `${namespace}/${name}`;
    this.endFollowers(logKey);
    this.previousLogs.set(logKey, this.logs.get(logKey) ?? '');
    const restarts = ((pod.status?.['containerStatuses'] as { restartCount?: number }[] | undefined)?.[0]?.restartCount ?? 0) + 1;
    this.store('pods', { ...pod, status: { phase: 'Running', containerStatuses: [{ name: 'generator', ready: false, restartCount: restarts, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }, 'MODIFIED');
    await new Promise((resolve) => setTimeout(resolve, downMs));
    const current = this.objects.get(podKey);
    if (current === undefined) return name;
    this.store('pods', { ...current, status: { phase: 'Running', containerStatuses: [{ name: 'generator', ready: true, restartCount: restarts, state: { running: {} } }] } }, 'MODIFIED');
    const deployment = this.list('deployments', namespace).find((d) => (d.metadata.labels?.['meshbench.dev/shard'] ?? '') === String(shard));
    this.startContainer(namespace, name, (deployment?.spec as { template: { spec: Record<string, unknown> } }).template.spec);
    return name;
  }

  private rewriteTargets(jobText: string): string {
    const { httpPort, grpcPort } = this.opts.echo;
    return jobText.replace(/echo\.[a-z0-9-]+\.svc\.cluster\.local:(\d+)/g, (_m, port: string) => `127.0.0.1:${port === '9090' ? grpcPort : httpPort}`);
  }

  /** The mesh header the meshed namespace's server-side proxy would add (stand-in for real mTLS). */
  private meshHeaders(ns: string): Record<string, string> {
    const nsObj = this.objects.get(this.key('namespaces', undefined, ns));
    const labels = nsObj?.metadata.labels ?? {};
    const leak = this.opts.leakMeshIntoUnmeshed === true && labels['meshbench.dev/variant'] === 'unmeshed';
    if (labels['istio-injection'] === 'enabled' || labels['istio.io/rev'] !== undefined || leak) {
      return { 'x-forwarded-client-cert': `By=spiffe://cluster.local/ns/${ns}/sa/default;Hash=5e1f;Subject="";URI=spiffe://cluster.local/ns/${ns}/sa/default` };
    }
    if (nsObj?.metadata.annotations?.['linkerd.io/inject'] === 'enabled') return { 'l5d-client-id': `default.${ns}.serviceaccount.identity.linkerd.cluster.local` };
    return {};
  }

  private startJob(job: Obj): void {
    const ns = job.metadata.namespace ?? '';
    const spec = job.spec as { completions?: number; template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: { args?: string[]; readinessProbe?: unknown }[] } } };
    // Without a readiness probe a running pod is Ready at once; with one (the start barrier), once the generator says so.
    const probed = spec.template.spec.containers[0]?.readinessProbe !== undefined;
    const args = spec.template.spec.containers[0]?.args ?? [];
    const rewritten = this.rewriteTargets(args[args.indexOf('--job') + 1] ?? '');
    const controller = new AbortController();
    this.running.set(this.key('jobs', ns, job.metadata.name), controller);
    const results: boolean[] = [];
    const n = spec.completions ?? 1;
    for (let index = 0; index < n; index++) {
      const podName = `${job.metadata.name}-${index}-${randomBytes(3).toString('hex')}`;
      const labels: Record<string, string> = { ...spec.template.metadata?.labels, 'job-name': job.metadata.name, 'batch.kubernetes.io/job-name': job.metadata.name };
      const annotations = { ...spec.template.metadata?.annotations, 'batch.kubernetes.io/job-completion-index': String(index) };
      const pod = this.meshPod(ns, { metadata: { name: podName, namespace: ns, labels, annotations }, spec: clone(spec.template.spec) });
      if (!this.place(pod, { phase: 'Running', conditions: [{ type: 'Ready', status: probed ? 'False' : 'True' }] })) continue;
      const podKey = this.key('pods', ns, podName);
      const parsed = parseJob(rewritten);
      if (parsed.kind === 'pilot') throw new Error('stand-in: a pilot generator runs as a Deployment, not a Job');
      const mesh = this.meshHeaders(ns);
      if (parsed.kind === 'load') parsed.spec.headers = { ...parsed.spec.headers, ...mesh };
      else for (const p of parsed.probes) p.headers = { ...p.headers, ...mesh };
      const shutdown = parsed.shutdownUrl === undefined ? undefined : `${this.url}/quitquitquit?pod=${podName}`;
      // The pod's downward API view: its name, node and current annotations (as the kubelet would write them).
      const self = {
        name: podName,
        nodeName: String((this.objects.get(podKey)?.spec as { nodeName?: string } | undefined)?.nodeName ?? ''),
        annotations: () => Promise.resolve(this.downwardAnnotations(podKey)),
        ready: () => this.markReady(podKey),
      };
      const slowMs = this.opts.slowStartMs?.(labels['meshbench.dev/variant'] ?? '', index, job.metadata.name) ?? 0;
      // a pod deleted meanwhile (its Job deleted) never starts its containers
      const started = slowMs > 0 ? sleep(slowMs, undefined, { signal: controller.signal }) : Promise.resolve();
      const run = started.then(() => runGenerator(parsed, index, controller.signal, self)).then(
        (out) => ({ ok: true, log: `${formatOutput(out).join('\n')}\n` }),
        (err: unknown) => ({ ok: false, log: `meshbench-error ${err instanceof Error ? err.message : String(err)}\n` }),
      ).then(async ({ ok, log }) => {
        await shutdownProxy(shutdown);
        this.logs.set(`${ns}/${podName}`, log);
        const current = this.objects.get(this.key('pods', ns, podName));
        if (current === undefined || controller.signal.aborted) return;
        // Istio's CNI agent takes a terminated pod out of the mesh and deletes its ambient annotation.
        const { [AMBIENT]: _removed, ...annotations } = current.metadata.annotations ?? {};
        this.store('pods', { ...current, metadata: { ...current.metadata, annotations }, status: { ...current.status, phase: ok ? 'Succeeded' : 'Failed', containerStatuses: [{ name: 'generator', state: { terminated: { reason: ok ? 'Completed' : 'Error', exitCode: ok ? 0 : 4 } } }] } }, 'MODIFIED');
        results.push(ok);
        const j = this.objects.get(this.key('jobs', ns, job.metadata.name));
        if (j === undefined || results.length < n) return;
        const failed = results.some((r) => !r);
        this.store('jobs', { ...j, status: { succeeded: results.filter((r) => r).length, failed: results.filter((r) => !r).length, conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True' }] } }, 'MODIFIED');
      });
      this.generators.add(run);
      void run.finally(() => this.generators.delete(run));
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
