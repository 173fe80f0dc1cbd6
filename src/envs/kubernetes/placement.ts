import type { KubernetesEnvConfig } from '../../config/schema.js';
import type { KubeItem } from './client.js';
import type { GeneratorOutput } from './generator.js';
import type { VariantKind } from './manifests.js';

/**
 * Where the pods ran, and whether both variants ran alike: the overhead is only the mesh's when the meshed and
 * the unmeshed pair cross the same node pair. Echo pods are read from the API (spec.nodeName, status.qosClass);
 * generator pods report their node themselves through the downward API (NODE_NAME), the API's pod list being
 * the fallback. Under nodePlacement spread / one-node an asymmetric placement is refused (the affinity rules
 * should make it impossible); under any it is recorded and flagged.
 */

export type NodePlacement = KubernetesEnvConfig['nodePlacement'];

interface Seen {
  nodes: Set<string>;
  qosClasses: Set<string>;
}

export interface PlacementRecord {
  rule: NodePlacement;
  /** Per variant: the nodes its echo pods ran on and their QoS classes. */
  echo: Partial<Record<VariantKind, { nodes: string[]; qosClasses: string[] }>>;
  /** Per variant: the nodes its generator pods (probes and every round) ran on and their QoS classes. */
  generators: Partial<Record<VariantKind, { nodes: string[]; qosClasses: string[] }>>;
  symmetric: boolean;
  problems: string[];
}

function add(map: Map<VariantKind, Seen>, variant: VariantKind, node: string | undefined, qos: string | undefined): void {
  const seen = map.get(variant) ?? { nodes: new Set<string>(), qosClasses: new Set<string>() };
  if (node !== undefined && node !== '') seen.nodes.add(node);
  if (qos !== undefined && qos !== '') seen.qosClasses.add(qos);
  map.set(variant, seen);
}

const sorted = (s: Set<string> | undefined): string[] => [...(s ?? [])].sort();
const sameSet = (a: Set<string> | undefined, b: Set<string> | undefined): boolean => sorted(a).join(',') === sorted(b).join(',');

export class PlacementLog {
  private readonly echoSeen = new Map<VariantKind, Seen>();
  private readonly generatorSeen = new Map<VariantKind, Seen>();

  constructor(
    readonly rule: NodePlacement,
    private readonly variants: readonly VariantKind[],
  ) {}

  echo(variant: VariantKind, pods: readonly KubeItem[]): void {
    for (const p of pods) add(this.echoSeen, variant, p.spec?.nodeName, p.status?.qosClass);
  }

  /** A finished Job's pods; each output's self-reported node wins over the pod list's. */
  generators(variant: VariantKind, outputs: readonly GeneratorOutput[], pods: readonly KubeItem[]): void {
    for (const p of pods) {
      const self = outputs.find((o) => o.self?.name === p.metadata?.name)?.self;
      add(this.generatorSeen, variant, self?.nodeName !== undefined && self.nodeName !== '' ? self.nodeName : p.spec?.nodeName, p.status?.qosClass);
    }
  }

  /** The node the generators ran on so far, when there is exactly one (to pin the later Jobs to). */
  generatorNode(): string | undefined {
    const all = new Set([...this.generatorSeen.values()].flatMap((s) => [...s.nodes]));
    return all.size === 1 ? [...all][0] : undefined;
  }

  /** What breaks symmetry between the variants, or the rule; [] when none. */
  problems(): string[] {
    const out: string[] = [];
    const [a, b] = this.variants;
    if (a !== undefined && b !== undefined) {
      const ea = this.echoSeen.get(a)?.nodes;
      const eb = this.echoSeen.get(b)?.nodes;
      if (ea !== undefined && eb !== undefined && !sameSet(ea, eb)) out.push(`the ${a} echo ran on ${sorted(ea).join(', ')}, the ${b} echo on ${sorted(eb).join(', ')}`);
      const ga = this.generatorSeen.get(a)?.nodes;
      const gb = this.generatorSeen.get(b)?.nodes;
      if (ga !== undefined && gb !== undefined && !sameSet(ga, gb)) out.push(`the ${a} generators ran on ${sorted(ga).join(', ')}, the ${b} generators on ${sorted(gb).join(', ')}`);
    }
    for (const v of this.variants) {
      const echo = this.echoSeen.get(v)?.nodes ?? new Set<string>();
      const gen = this.generatorSeen.get(v)?.nodes ?? new Set<string>();
      const shared = [...gen].filter((n) => echo.has(n));
      if (this.rule === 'spread' && shared.length > 0) out.push(`${v}: generators and echo share node ${shared.join(', ')} (nodePlacement spread)`);
      if (this.rule === 'one-node' && new Set([...echo, ...gen]).size > 1) out.push(`${v}: pods on ${sorted(new Set([...echo, ...gen])).join(', ')} (nodePlacement one-node)`);
      if (this.rule !== 'any' && gen.size > 1) out.push(`${v}: generators on ${sorted(gen).join(', ')}, not one node`);
    }
    return out;
  }

  record(): PlacementRecord {
    const view = (m: Map<VariantKind, Seen>): PlacementRecord['echo'] =>
      Object.fromEntries([...m.entries()].map(([v, s]) => [v, { nodes: sorted(s.nodes), qosClasses: sorted(s.qosClasses) }]));
    const problems = this.problems();
    return { rule: this.rule, echo: view(this.echoSeen), generators: view(this.generatorSeen), symmetric: problems.length === 0, problems };
  }
}
