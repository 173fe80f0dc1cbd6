import type { FigureInterval, ProtocolEstimates, ProtocolResult, ResultDocument } from '../result.js';
import { ms } from './format.js';
import type { Table } from './tables.js';

/**
 * A call chain (local env.hops > 1): what the mesh costs per hop and how it adds up along the chain. Both variants
 * ran the same chain — unmeshed every hop direct, meshed every hop through its sidecars — so the overhead is the
 * mesh's over all hops, and per hop it is that ÷ hops (with the interval ÷ hops). A pure function of result.json.
 */

/** The chain of a run as result.json records it (environment.facts), or null for a single hop (or none recorded). */
export function topologyOf(doc: ResultDocument): { hops: number; placement: string } | null {
  const { hops, sidecarPlacement } = doc.environment.facts as { hops?: unknown; sidecarPlacement?: unknown };
  if (typeof hops !== 'number' || !Number.isInteger(hops) || hops < 2) return null;
  return { hops, placement: typeof sidecarPlacement === 'string' ? sidecarPlacement : 'both' };
}

const PERCENTILES = [
  ['p50', 'p50Us'],
  ['p99', 'p99Us'],
  ['p99.9', 'p999Us'],
] as const;

/**
 * Per meshed variant and percentile: the overhead over the whole chain, per hop, and what it comes to after each
 * hop (k × per hop) — the median adds up hop by hop; a tail percentile of a sum is not the sum of the hops' tails,
 * so above the median "per hop" is an average share, not one hop's tail.
 */
export function hopsTable(p: ProtocolResult, estimates: ProtocolEstimates | undefined, hops: number): Table {
  const cell = (i: FigureInterval | null | undefined, us: number, divide: number): string =>
    i === null || i === undefined ? ms(us / divide) : `${ms(i.estimate / divide)} [${ms(i.low / divide)}, ${ms(i.high / divide)}]`;
  const after = (k: number): string => (k === 1 ? 'after 1 hop' : `after ${k} hops`);
  const rows = Object.entries(p.overhead).flatMap(([variant, o]) =>
    PERCENTILES.map(([label, key]) => {
      const iv = estimates?.overhead[variant]?.[key];
      const perHopUs = (iv?.estimate ?? o[key]) / hops;
      return [`${variant} − unmeshed`, label, cell(iv, o[key], 1), cell(iv, o[key], hops), Array.from({ length: hops }, (_, k) => `${after(k + 1)} ${ms(perHopUs * (k + 1))}`).join(' · ')];
    }),
  );
  return { header: ['', 'percentile', `>over ${hops} hops (ms)`, '>per hop (ms)', 'adds up (k × per hop, ms)'], rows };
}

/** One sentence for the reports: the chain, and the median cost per hop. */
export function hopsSentence(p: ProtocolResult, estimates: ProtocolEstimates | undefined, topology: { hops: number; placement: string }): string {
  const lead = `A chain of ${topology.hops} services, each calling the next: unmeshed every hop goes direct, meshed every hop passes its sidecars (${topology.placement}).`;
  const parts = Object.entries(p.overhead).map(([variant, o]) => {
    const totalUs = estimates?.overhead[variant]?.p50Us?.estimate ?? o.p50Us;
    return `${variant} adds ${ms(totalUs)} ms at p50 over the chain, ${ms(totalUs / topology.hops)} ms per hop`;
  });
  return `${lead} ${parts.join('; ')}.`;
}
