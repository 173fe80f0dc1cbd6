import { bucketValueUs, sparseBucketsOf, type SparseBuckets } from '../histograms/index.js';
import type { VariantName } from '../protocols.js';
import type { VariantResult } from '../result.js';

/**
 * The data the bootstrap resamples, taken from the result document alone (so `meshbench compare` can
 * judge stored results exactly as `run` judged them): per variant, its rounds; per round, time blocks —
 * the round's interval histograms (1 s each), coalesced to at most MAX_BLOCKS_PER_ROUND adjacent groups.
 *
 * Buckets are re-indexed onto one compact grid per protocol (the union of the buckets any block uses), so
 * a resample is a sum into one Float64Array of grid length.
 */
export const MAX_BLOCKS_PER_ROUND = 16;

export interface Block {
  /** Positions into the protocol's grid, ascending. */
  positions: Int32Array;
  counts: Float64Array;
  total: number;
}

export interface RoundBlocks {
  round: number;
  blocks: Block[];
}

export interface VariantSamples {
  rounds: RoundBlocks[];
  total: number;
}

export interface Samples {
  /** Reported value (µs) of each grid position, ascending. */
  valuesUs: Float64Array;
  variants: Map<VariantName, VariantSamples>;
}

/**
 * Builds the samples of the given variants. A variant without interval histograms (a result document made
 * by hand, or one whose rounds were all empty) is left out: its figures can only be judged as points.
 *
 * `aligned` (time pairing): every interval stays a block of its own, empty ones too, so block i of one
 * variant's round covers the same instants as block i of the other's (the variants ran side by side).
 */
export function collectSamples(variants: Record<VariantName, VariantResult | undefined>, aligned = false): Samples {
  const sparse = new Map<VariantName, { round: number; blocks: SparseBuckets[] }[]>();
  const used = new Set<number>();
  for (const [name, v] of Object.entries(variants)) {
    if (v === undefined) continue;
    const rounds: { round: number; blocks: SparseBuckets[] }[] = [];
    for (const r of v.rounds) {
      const intervals = r.intervals.map((i) => sparseBucketsOf(i.histogram));
      const blocks = aligned ? intervals : coalesce(intervals.filter((b) => b.total > 0), MAX_BLOCKS_PER_ROUND);
      if (aligned && blocks.every((b) => b.total === 0)) continue;
      if (blocks.length === 0) continue;
      for (const b of blocks) for (const i of b.indexes) used.add(i);
      rounds.push({ round: r.round, blocks });
    }
    if (rounds.length > 0) sparse.set(name, rounds);
  }
  const grid = Int32Array.from([...used].sort((a, b) => a - b));
  const position = new Map<number, number>();
  grid.forEach((index, pos) => position.set(index, pos));
  const out = new Map<VariantName, VariantSamples>();
  for (const [name, rounds] of sparse) {
    let total = 0;
    const mapped = rounds.map(({ round, blocks }) => ({
      round,
      blocks: blocks.map((b) => {
        total += b.total;
        return { positions: b.indexes.map((i) => position.get(i) ?? 0), counts: b.counts, total: b.total };
      }),
    }));
    out.set(name, { rounds: mapped, total });
  }
  return { valuesUs: Float64Array.from(grid, bucketValueUs), variants: out };
}

/** Merges adjacent blocks into at most `max` groups of near-equal length (time order is kept). */
export function coalesce(blocks: SparseBuckets[], max: number): SparseBuckets[] {
  if (blocks.length <= max) return blocks;
  const out: SparseBuckets[] = [];
  for (let g = 0; g < max; g++) {
    const from = Math.floor((g * blocks.length) / max);
    const to = Math.floor(((g + 1) * blocks.length) / max);
    out.push(addSparse(blocks.slice(from, to)));
  }
  return out;
}

function addSparse(parts: SparseBuckets[]): SparseBuckets {
  const sum = new Map<number, number>();
  for (const p of parts) p.indexes.forEach((index, k) => sum.set(index, (sum.get(index) ?? 0) + (p.counts[k] ?? 0)));
  const indexes = Int32Array.from([...sum.keys()].sort((a, b) => a - b));
  const counts = Float64Array.from(indexes, (i) => sum.get(i) ?? 0);
  return { indexes, counts, total: parts.reduce((n, p) => n + p.total, 0) };
}
