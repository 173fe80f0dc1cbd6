import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  Metrics,
  PatchStrategy,
  VersionApi,
  Watch,
  type KubernetesObject,
  type PodMetric,
} from '@kubernetes/client-node';
import { errorMessage, interrupted, MeshbenchError } from '../../errors.js';
import { FIELD_MANAGER } from './manifests.js';
import { rightsInWords } from './rbac.js';

/**
 * The one place that talks to the API server, through @kubernetes/client-node 1.4: server-side apply (field
 * manager `meshbench`), list, watch (re-watched whenever the server closes it, re-listed when the resource
 * version expired), pod logs, delete, metrics.k8s.io. Every failure becomes a MeshbenchError saying what to fix:
 * a kubeconfig or context problem is bad input (exit 3), a missing metrics API a missing dependency (exit 4).
 */

/** Objects as read back: only the fields meshbench looks at. */
export interface KubeItem {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; deletionTimestamp?: unknown };
  spec?: {
    replicas?: number;
    nodeName?: string;
    containers?: { name: string; image?: string }[];
    initContainers?: { name: string; image?: string; restartPolicy?: string }[];
  };
  status?: {
    phase?: string;
    qosClass?: string;
    readyReplicas?: number;
    succeeded?: number;
    failed?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; ready?: boolean; restartCount?: number; state?: { running?: { startedAt?: string }; waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

export type KindName = 'Namespace' | 'Pod' | 'Deployment' | 'Job' | 'ConfigMap' | 'Service';
const KINDS: Record<KindName, { apiVersion: string; plural: string; namespaced: boolean }> = {
  Namespace: { apiVersion: 'v1', plural: 'namespaces', namespaced: false },
  Pod: { apiVersion: 'v1', plural: 'pods', namespaced: true },
  ConfigMap: { apiVersion: 'v1', plural: 'configmaps', namespaced: true },
  Service: { apiVersion: 'v1', plural: 'services', namespaced: true },
  Deployment: { apiVersion: 'apps/v1', plural: 'deployments', namespaced: true },
  Job: { apiVersion: 'batch/v1', plural: 'jobs', namespaced: true },
};

function collectionPath(kind: KindName, namespace: string | undefined): string {
  const k = KINDS[kind];
  const root = k.apiVersion.includes('/') ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  return k.namespaced && namespace !== undefined ? `${root}/namespaces/${namespace}/${k.plural}` : `${root}/${k.plural}`;
}

/** The server closes a watch after this; meshbench watches again from the last resource version. */
const WATCH_TIMEOUT_S = 60;
const LOG_TIMEOUT_MS = 60_000;

export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
}

/** An API server's answer (status and its message) or a network error with its code. */
function describeKubeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: unknown } | string | undefined;
    const message = typeof body === 'string' ? body : typeof body?.message === 'string' ? body.message : '';
    return `HTTP ${err.code}${message === '' ? '' : `: ${message}`}`;
  }
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = errorMessage(err);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}

export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Loads the kubeconfig (env.kubeconfig, else $KUBECONFIG, else ~/.kube/config) and selects the context
 * (env.context, else the current one). Throws bad-input MeshbenchErrors naming the file and the contexts it has.
 */
export function loadKubeConfig(target: KubeTarget, env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  let source: string;
  try {
    if (target.kubeconfig !== undefined) {
      source = target.kubeconfig;
      if (!existsSync(source)) throw new MeshbenchError('MB_BAD_SCENARIO', `env.kubeconfig: ${source} does not exist`);
      kc.loadFromFile(source);
    } else {
      const fromEnv = (env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
      const files = fromEnv.length > 0 ? fromEnv : [join(homedir(), '.kube', 'config')];
      source = files.join(delimiter);
      if (!files.some((f) => existsSync(f))) {
        throw new MeshbenchError(
          'MB_BAD_ARGUMENT',
          `no kubeconfig: ${source} does not exist — point KUBECONFIG or env.kubeconfig at one (kind and k3d write it when they create a cluster)`,
        );
      }
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof MeshbenchError) throw err;
    throw new MeshbenchError('MB_BAD_ARGUMENT', `kubeconfig ${target.kubeconfig ?? env['KUBECONFIG'] ?? '~/.kube/config'} cannot be read: ${describeKubeError(err)}`, { cause: err });
  }
  const contexts = kc.getContexts().map((c) => c.name);
  const known = contexts.length > 0 ? `contexts in it: ${contexts.join(', ')}` : 'it defines no context';
  if (target.context !== undefined) {
    if (kc.getContextObject(target.context) === null) {
      throw new MeshbenchError('MB_BAD_SCENARIO', `env.context: "${target.context}" is not a context in ${source} (${known})`);
    }
    kc.setCurrentContext(target.context);
  } else if (kc.getCurrentContext() === '' || kc.getContextObject(kc.getCurrentContext()) === null) {
    throw new MeshbenchError('MB_BAD_SCENARIO', `${source} has no current context: set env.context (${known})`);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null || cluster.server === '') {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `kubeconfig ${source}: context "${kc.getCurrentContext()}" names no cluster with a server address`);
  }
  return { kc, source };
}

export class Kube {
  readonly context: string;
  readonly server: string;
  private readonly objects: KubernetesObjectApi;
  private readonly watcher: Watch;
  private readonly logApi: Log;
  private readonly metricsApi: Metrics;

  constructor(readonly kc: KubeConfig) {
    this.context = kc.getCurrentContext();
    this.server = kc.getCurrentCluster()?.server ?? '';
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.watcher = new Watch(kc);
    this.logApi = new Log(kc);
    this.metricsApi = new Metrics(kc);
  }

  static connect(target: KubeTarget): Kube {
    return new Kube(loadKubeConfig(target).kc);
  }

  /** Maps a failed call to a MeshbenchError: unreachable server (exit 3), forbidden or other API errors (exit 4). */
  fail(what: string, err: unknown): MeshbenchError {
    if (err instanceof MeshbenchError) return err;
    const status = httpStatusOf(err);
    if (status === undefined) {
      return new MeshbenchError(
        'MB_UNREACHABLE_TARGET',
        `${what}: the API server ${this.server} (context "${this.context}") did not answer (${describeKubeError(err)}) — is the cluster running and the context right?`,
        { cause: err },
      );
    }
    if (status === 401 || status === 403) {
      return new MeshbenchError(
        'MB_ENV_FAILED',
        `${what}: ${describeKubeError(err)} — the user of context "${this.context}" needs the rights README "Kubernetes → RBAC" lists ` +
          `(\`meshbench k8s render\` writes them as rbac.yaml; with env.namespaces a Role in each, without the namespaces rule): ${rightsInWords()}`,
        { cause: err },
      );
    }
    return new MeshbenchError('MB_ENV_FAILED', `${what}: ${describeKubeError(err)}`, { cause: err });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.fail(what, err);
    }
  }

  /** The server's version (GET /version): the preflight that the context reaches a cluster at all. */
  async version(): Promise<string> {
    const api = this.kc.makeApiClient(VersionApi);
    const info = await this.call('reaching the cluster', () => api.getCode());
    return info.gitVersion;
  }

  /**
   * Creates an object that must not exist yet (POST, field manager `meshbench`): a namespace meshbench is about
   * to own. A 409 means someone else's object has that name, and meshbench never takes over what it did not
   * create, so it is an error naming the object.
   */
  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    const name = `${obj.kind ?? '?'} ${obj.metadata?.namespace === undefined ? '' : `${obj.metadata.namespace}/`}${obj.metadata?.name ?? '?'}`;
    try {
      return await this.objects.create(obj, undefined, undefined, FIELD_MANAGER);
    } catch (err) {
      if (httpStatusOf(err) === 409) {
        throw new MeshbenchError(
          'MB_ENV_FAILED',
          `${name} already exists and meshbench did not create it in this run: it never takes over an existing object — ` +
            'delete it if it is a leftover (meshbench k8s cleanup --run <id>), or run again (a new run id)',
          { cause: err },
        );
      }
      throw this.fail(`creating ${name}`, err);
    }
  }

  /** Server-side apply as field manager `meshbench`, forcing ownership of the fields it sets (only inside namespaces meshbench created). */
  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    const what = `applying ${obj.kind ?? '?'} ${obj.metadata?.namespace === undefined ? '' : `${obj.metadata.namespace}/`}${obj.metadata?.name ?? '?'}`;
    return this.call(what, () => this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
  }

  /** Sets annotations on one object with a JSON merge patch (only the keys given; nothing else of it changes). */
  annotate(kind: KindName, name: string, namespace: string, annotations: Record<string, string>): Promise<KubernetesObject> {
    const k = KINDS[kind];
    const patch: KubernetesObject = { apiVersion: k.apiVersion, kind, metadata: { name, namespace, annotations } };
    return this.call(`annotating ${kind} ${namespace}/${name}`, () => this.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch));
  }

  async list(kind: KindName, namespace: string | undefined, labelSelector?: string, fieldSelector?: string): Promise<{ items: KubeItem[]; resourceVersion: string }> {
    const k = KINDS[kind];
    const list = await this.call(`listing ${k.plural}${namespace === undefined ? '' : ` in ${namespace}`}`, () =>
      this.objects.list(k.apiVersion, kind, namespace, undefined, undefined, undefined, fieldSelector, labelSelector),
    );
    return { items: list.items as KubeItem[], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  /** Deletes one object (children in the background); false when it was already gone. */
  async delete(kind: KindName, name: string, namespace?: string): Promise<boolean> {
    const k = KINDS[kind];
    const spec: KubernetesObject = { apiVersion: k.apiVersion, kind, metadata: namespace === undefined ? { name } : { name, namespace } };
    try {
      await this.objects.delete(spec, undefined, undefined, undefined, undefined, 'Background');
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 404) return false;
      throw this.fail(`deleting ${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`, err);
    }
  }

  /**
   * Waits until `check` returns a value for the current set of matching objects: lists, then watches from the
   * list's resource version; a watch the server ends (timeoutSeconds, or any close) is started again from the
   * last version seen, an expired version (410) or a broken stream re-lists. Rejects MB_INTERRUPTED on abort and
   * with `onTimeout()`'s error after `timeoutMs`.
   */
  async waitFor<T>(opts: {
    kind: KindName;
    namespace?: string;
    labelSelector?: string;
    fieldSelector?: string;
    what: string;
    timeoutMs: number;
    signal?: AbortSignal;
    check: (items: KubeItem[]) => T | undefined;
    onTimeout: () => Promise<MeshbenchError>;
  }): Promise<T> {
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const stop = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
    const path = collectionPath(opts.kind, opts.namespace);
    for (;;) {
      if (opts.signal?.aborted === true) throw interrupted(opts.what);
      if (timeout.aborted) throw await opts.onTimeout();
      const list = await this.list(opts.kind, opts.namespace, opts.labelSelector, opts.fieldSelector);
      const state = new Map(list.items.map((item) => [item.metadata?.name ?? '', item]));
      let found = opts.check([...state.values()]);
      if (found !== undefined) return found;
      let rv = list.resourceVersion;
      for (;;) {
        let outcome: 'closed' | 'expired' | 'stopped' | 'broken';
        try {
          outcome = await this.watchOnce(path, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_S }, (type, item) => {
            rv = item.metadata?.resourceVersion ?? rv;
            if (type === 'BOOKMARK') return false;
            if (type === 'DELETED') state.delete(item.metadata?.name ?? '');
            else state.set(item.metadata?.name ?? '', item);
            found = opts.check([...state.values()]);
            return found !== undefined;
          }, stop);
        } catch (err) {
          if (httpStatusOf(err) === 401 || httpStatusOf(err) === 403) throw this.fail(opts.what, err);
          outcome = httpStatusOf(err) === 410 ? 'expired' : 'broken';
        }
        if (found !== undefined) return found;
        if (outcome === 'closed') continue; // the server ended the watch: watch again from rv
        if (outcome === 'broken') await sleep(500, undefined, { signal: stop }).catch(() => undefined);
        break; // stopped (checked above), expired or broken: list again
      }
    }
  }

  /** One watch request; resolves when the server closes it, `onEvent` says stop, or `stop` aborts. */
  private watchOnce(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, item: KubeItem) => boolean,
    stop: AbortSignal,
  ): Promise<'closed' | 'expired' | 'stopped'> {
    return new Promise((resolve, reject) => {
      let controller: AbortController | undefined;
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        stop.removeEventListener('abort', onStop);
        controller?.abort();
        fn();
      };
      const onStop = (): void => settle(() => resolve('stopped'));
      if (stop.aborted) return resolve('stopped');
      stop.addEventListener('abort', onStop, { once: true });
      const onData = (type: string, obj: unknown): void => {
        if (settled) return;
        if (type === 'ERROR') {
          const status = obj as { code?: unknown; message?: unknown } | null;
          const code = typeof status?.code === 'number' ? status.code : 0;
          settle(() => (code === 410 ? resolve('expired') : reject(Object.assign(new Error(`watch ${path}: ${String(status?.message ?? 'error event')}`), { statusCode: code }))));
          return;
        }
        if (onEvent(type, obj as KubeItem)) settle(() => resolve('stopped'));
      };
      const onDone = (err: unknown): void => settle(() => (err === null || err === undefined ? resolve('closed') : reject(err)));
      this.watcher.watch(path, query, onData, onDone).then(
        (c) => {
          controller = c;
          if (settled) c.abort();
        },
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** A finished container's whole log. */
  async logs(namespace: string, pod: string, container: string): Promise<string> {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        callback();
      },
    });
    const finished = new Promise<void>((resolve, reject) => {
      sink.once('finish', resolve);
      sink.once('error', reject);
    });
    await this.call(`reading the log of ${namespace}/${pod}`, async () => {
      const controller = await this.logApi.log(namespace, pod, container, sink, { follow: false });
      const timer = setTimeout(() => controller.abort(), LOG_TIMEOUT_MS);
      try {
        await finished;
      } finally {
        clearTimeout(timer);
      }
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Streams a container's log to `onText` as it arrives: with `follow`, until the container stops or the server
   * closes the stream; `previous`: the log of the container's last terminated instance. Resolves when the stream
   * ends or `signal` aborts (then without error).
   */
  async streamLogs(namespace: string, pod: string, container: string, onText: (text: string) => void, options: { follow: boolean; previous?: boolean; signal: AbortSignal }): Promise<void> {
    const decoder = new TextDecoder();
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        onText(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
        callback();
      },
    });
    sink.once('finish', () => ended());
    sink.once('error', () => ended());
    // The response body: a connection that breaks ends it with an error, which pipe() does not pass on.
    sink.once('pipe', (body: NodeJS.ReadableStream) => {
      body.once('error', () => ended());
      body.once('close', () => ended());
    });
    if (options.signal.aborted) return;
    const controller = await this.call(`reading the log of ${namespace}/${pod}`, () =>
      this.logApi.log(namespace, pod, container, sink, { follow: options.follow, previous: options.previous === true }),
    );
    const stop = (): void => {
      controller.abort();
      ended();
    };
    options.signal.addEventListener('abort', stop, { once: true });
    try {
      await done;
    } finally {
      options.signal.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  /** metrics.k8s.io pod metrics of a namespace; MB_MISSING_DEPENDENCY when the API is not served. */
  async podMetrics(namespace: string): Promise<PodMetric[]> {
    try {
      return (await this.metricsApi.getPodMetrics(namespace)).items;
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404 || status === 503) {
        throw new MeshbenchError(
          'MB_MISSING_DEPENDENCY',
          `metrics.k8s.io is not served by the cluster (${describeKubeError(err)}): install metrics-server ` +
            '(kind: add --kubelet-insecure-tls to its args), or set env.proxyMetrics: false to run without sidecar cost',
          { cause: err },
        );
      }
      throw this.fail(`reading metrics.k8s.io pod metrics in ${namespace}`, err);
    }
  }
}
