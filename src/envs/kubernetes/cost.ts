import type { ProxySample } from '../env.js';
import type { Kube, KubeItem } from './client.js';
import { COMPLETION_INDEX_ANNOTATION, COMPONENT_LABEL, selectorOf, type VariantPlan } from './manifests.js';
import type { MeshProfile } from './meshes.js';

/**
 * Sidecar cost from metrics.k8s.io. metrics-server reports each container's current usage (CPU cores averaged
 * over its window, working-set memory), not a cumulative counter, so while a round runs the meter polls the
 * variant's proxy containers — `istio-proxy` / `linkerd-proxy`, in containers or, as native sidecars, in
 * initContainers (metrics list every running container) — and integrates: a round adds mean cores × the round's
 * length to a proxy's CPU seconds. Proxies are named by role and index (`echo-0/istio-proxy`,
 * `generator-1/linkerd-proxy`), so the same proxy keeps its name across rounds and Jobs.
 * Ambient has no sidecars: its node proxies are sampled instead — the ztunnel pods (label app=ztunnel, in
 * whatever namespace Istio was installed to) on the nodes the meshed pods run on, less each one's idle usage
 * read before the first round (a ztunnel also serves whatever else its node runs).
 */

const UNITS: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** A Kubernetes quantity ("250m", "12345678n", "51200Ki", "1.5") as a number; NaN when unreadable. */
export function parseQuantity(q: string): number {
  const m = /^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  const unit = m === null ? undefined : UNITS[m[2] ?? ''];
  return m === null || unit === undefined ? NaN : Number(m[1]) * unit;
}

interface ProxyTotals {
  variant: string;
  name: string;
  cpuSeconds: number;
  /** Mean cores of each round that had readings. */
  roundCores: number[];
  lastBytes: number;
  peakBytes: number;
  samples: number;
  shared: boolean;
}

interface Reading {
  name: string;
  cores: number;
  bytes: number;
  shared: boolean;
}

export interface SidecarCostFacts {
  source: string;
  note: string;
  proxies: { variant: string; name: string; cpuMillicores: number; memoryBytes: number; samples: number; sharedByNode: boolean }[];
  perSidecar: { cpuMillicores: number; memoryBytes: number } | null;
  fleetProjection: { pods: number; cpuCores: number; memoryBytes: number; summary: string } | null;
  pollErrors: number;
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export class ProxyMeter {
  private readonly totals = new Map<string, ProxyTotals>();
  /** Node proxies' idle cores, by reading name, subtracted from their readings under load. */
  private readonly idleCores = new Map<string, number>();
  private pollErrors = 0;

  constructor(
    private readonly kube: Kube,
    private readonly profile: MeshProfile,
    private readonly runId: string,
    private readonly fleetPods: number,
    private readonly intervalMs: number,
  ) {}

  get measures(): boolean {
    return this.profile.proxyContainers.length > 0 || this.profile.nodeProxies !== undefined;
  }

  /**
   * Polls `v`'s proxies from `fromMs` (when the generators start) until the returned stop() is called, then
   * adds the round (of `spanMs`) to the totals.
   */
  startRound(v: VariantPlan, fromMs: number): { stop(spanMs: number): Promise<void> } {
    if (!v.meshed || !this.measures) return { stop: () => Promise.resolve() };
    const readings: Reading[][] = [];
    let inFlight: Promise<void> = Promise.resolve();
    const poll = (): void => {
      inFlight = inFlight.then(async () => {
        try {
          readings.push(await this.read(v));
        } catch {
          this.pollErrors++; // a missed sample is not worth failing a round over
        }
      });
    };
    let timer: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      poll();
      timer = setInterval(poll, this.intervalMs);
    }, Math.max(0, fromMs - Date.now()));
    return {
      stop: async (spanMs: number) => {
        clearTimeout(first);
        clearInterval(timer);
        poll(); // the last look, before the round's Job is deleted
        await inFlight;
        this.integrate(v, readings, spanMs);
      },
    };
  }

  /**
   * Reads every node proxy's idle usage (call it before any load: the generators' node is not known yet);
   * sidecars need no baseline, they serve only their pod.
   */
  async readIdle(): Promise<void> {
    if (this.profile.nodeProxies === undefined) return;
    try {
      for (const r of await this.nodeProxies(undefined)) this.idleCores.set(r.name, r.cores);
    } catch {
      this.pollErrors++; // e.g. a namespaced Role cannot list the ztunnel pods: no node proxy cost, the run goes on
    }
  }

  private async read(v: VariantPlan): Promise<Reading[]> {
    const out: Reading[] = [];
    const pods = await this.kube.list('Pod', v.namespace, selectorOf(this.runId));
    if (this.profile.proxyContainers.length > 0) {
      const metrics = await this.kube.podMetrics(v.namespace);
      const roles = roleNames(pods.items);
      for (const pod of metrics) {
        const role = roles.get(pod.metadata.name);
        if (role === undefined) continue;
        for (const c of pod.containers) {
          if (!this.profile.proxyContainers.includes(c.name)) continue;
          out.push({ name: `${role}/${c.name}`, cores: parseQuantity(c.usage.cpu), bytes: parseQuantity(c.usage.memory), shared: false });
        }
      }
    }
    if (this.profile.nodeProxies !== undefined) out.push(...(await this.nodeProxies(new Set(pods.items.flatMap((p) => (p.spec?.nodeName === undefined ? [] : [p.spec.nodeName]))))));
    return out.filter((r) => Number.isFinite(r.cores) && Number.isFinite(r.bytes));
  }

  /** The node proxies on `nodes` (all of them: undefined), less their idle usage once it was read. */
  private async nodeProxies(nodes: ReadonlySet<string> | undefined): Promise<Reading[]> {
    const node = this.profile.nodeProxies;
    const out: Reading[] = [];
    if (node !== undefined) {
      const proxies = (await this.kube.list('Pod', undefined, node.labelSelector)).items.filter((p) => nodes === undefined || nodes.has(p.spec?.nodeName ?? ''));
      for (const ns of new Set(proxies.map((p) => p.metadata?.namespace ?? ''))) {
        const names = new Set(proxies.filter((p) => p.metadata?.namespace === ns).map((p) => p.metadata?.name));
        for (const pod of await this.kube.podMetrics(ns)) {
          if (!names.has(pod.metadata.name)) continue;
          for (const c of pod.containers) {
            if (c.name !== node.container) continue;
            const name = `${pod.metadata.name}/${c.name}`;
            out.push({ name, cores: Math.max(0, parseQuantity(c.usage.cpu) - (this.idleCores.get(name) ?? 0)), bytes: parseQuantity(c.usage.memory), shared: true });
          }
        }
      }
    }
    return out;
  }

  private integrate(v: VariantPlan, readings: Reading[][], spanMs: number): void {
    const byName = new Map<string, Reading[]>();
    for (const r of readings.flat()) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    for (const [name, list] of byName) {
      const key = `${v.variant}/${name}`;
      const t = this.totals.get(key) ?? { variant: v.variant, name, cpuSeconds: 0, roundCores: [], lastBytes: 0, peakBytes: 0, samples: 0, shared: list[0]?.shared ?? false };
      const cores = list.reduce((s, r) => s + r.cores, 0) / list.length;
      t.cpuSeconds += (cores * spanMs) / 1000;
      t.roundCores.push(cores);
      t.lastBytes = list[list.length - 1]?.bytes ?? 0;
      t.peakBytes = Math.max(t.peakBytes, ...list.map((r) => r.bytes));
      t.samples += list.length;
      this.totals.set(key, t);
    }
  }

  /** Cumulative CPU seconds and current memory of a variant's proxies (ProxySample, see env.ts). */
  sample(variant: string): ProxySample[] {
    return [...this.totals.values()].filter((t) => t.variant === variant).map((t) => ({ name: t.name, cpuSeconds: t.cpuSeconds, rssBytes: t.lastBytes }));
  }

  facts(): SidecarCostFacts {
    const proxies = [...this.totals.values()].map((t) => ({
      variant: t.variant,
      name: t.name,
      cpuMillicores: (t.roundCores.reduce((s, c) => s + c, 0) / Math.max(1, t.roundCores.length)) * 1000,
      memoryBytes: t.peakBytes,
      samples: t.samples,
      sharedByNode: t.shared,
    }));
    const sidecars = proxies.filter((p) => !p.sharedByNode);
    const perSidecar =
      sidecars.length === 0
        ? null
        : {
            cpuMillicores: sidecars.reduce((s, p) => s + p.cpuMillicores, 0) / sidecars.length,
            memoryBytes: sidecars.reduce((s, p) => s + p.memoryBytes, 0) / sidecars.length,
          };
    const fleetProjection =
      perSidecar === null
        ? null
        : {
            pods: this.fleetPods,
            cpuCores: (this.fleetPods * perSidecar.cpuMillicores) / 1000,
            memoryBytes: this.fleetPods * perSidecar.memoryBytes,
            summary:
              `${this.fleetPods} sidecars × ${gib(perSidecar.memoryBytes)} = ${gib(this.fleetPods * perSidecar.memoryBytes)} memory; ` +
              `× ${perSidecar.cpuMillicores.toFixed(1)} mCPU under this load = ${((this.fleetPods * perSidecar.cpuMillicores) / 1000).toFixed(2)} cores`,
          };
    return {
      source: 'metrics.k8s.io',
      note: 'usage as metrics-server reports it (CPU averaged over its window, typically 15–30 s): rounds shorter than the window give rough figures',
      proxies,
      perSidecar,
      fleetProjection,
      pollErrors: this.pollErrors,
    };
  }
}

/** Pod name → stable role name: echo pods by name order, generator pods by completion index. */
export function roleNames(pods: KubeItem[]): Map<string, string> {
  const out = new Map<string, string>();
  const echo = pods.filter((p) => p.metadata?.labels?.[COMPONENT_LABEL] === 'echo').map((p) => p.metadata?.name ?? '').sort();
  echo.forEach((name, i) => out.set(name, `echo-${i}`));
  for (const p of pods) {
    if (p.metadata?.labels?.[COMPONENT_LABEL] !== 'generator') continue;
    out.set(p.metadata.name ?? '', `generator-${p.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? '?'}`);
  }
  return out;
}
