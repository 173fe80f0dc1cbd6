import { percentileRank } from '../histograms/index.js';
import type { VariantName } from '../protocols.js';
import { Random } from './random.js';
import type { Block, Samples } from './samples.js';

/**
 * The within-round resampling behind every interval (statistics.ts combines it with the between-round
 * spread). Each replicate resamples, per variant:
 *
 * 1. Time blocks within each round: its interval histograms (1 s), drawn with replacement. Latency spikes
 *    come in bursts (a GC pause or a descheduled process delays every request in flight, and
 *    coordinated-omission correction charges every request that should have been sent meanwhile), so
 *    requests are not independent; blocks keep bursts whole.
 * 2. Requests within the drawn data: a multinomial resample of the pooled histogram. Its effect on a
 *    percentile is drawn exactly and in O(1): the k-th smallest of n values drawn from an empirical
 *    distribution F is F⁻¹(U₍ₖ₎) with U₍ₖ₎ ~ Beta(k, n − k + 1). This level matters when rounds are short
 *    (one block each), where blocks alone would give no spread at all.
 *
 * Rounds are held fixed: the spread between rounds is measured by the leave-one-round-out jackknife with
 * Student's t (leaveOneRoundOut below, statistics.ts), because with 3–8 rounds a bootstrap over them has too
 * few distinct resamples to be honest. Resampling with replacement at both levels
 * slightly over-states within-round variance (Davison & Hinkley 1997, §3.8): the conservative direction.
 *
 * Each replicate computes p50 / p99 / p99.9 per variant. Cost per replicate: one pass over the drawn
 * blocks' non-empty buckets and one partial scan of the grid per figure.
 */
export const PERCENTILES = [50, 99, 99.9] as const;

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  /** Names this protocol's random stream, so results do not depend on the order protocols are judged. */
  stream: string;
}

/** Per variant, per entry of PERCENTILES: `resamples` replicate values in µs (NaN when a replicate drew no data). */
export type Replicates = Map<VariantName, Float64Array[]>;

export function bootstrap(samples: Samples, options: BootstrapOptions): Replicates {
  const random = new Random(options.seed, options.stream);
  const units = [...new Set([...samples.variants.values()].flatMap((v) => v.rounds.map((r) => r.round)))].sort((a, b) => a - b);
  const byRound = new Map<VariantName, Map<number, Block[]>>();
  for (const [name, v] of samples.variants) byRound.set(name, new Map(v.rounds.map((r) => [r.round, r.blocks])));

  const out: Replicates = new Map();
  for (const name of samples.variants.keys()) out.set(name, PERCENTILES.map(() => new Float64Array(options.resamples)));
  const acc = new Float64Array(samples.valuesUs.length);

  for (let b = 0; b < options.resamples; b++) {
    for (const [name, rounds] of byRound) {
      acc.fill(0);
      let n = 0;
      for (const round of units) {
        const blocks = rounds.get(round);
        if (blocks === undefined) continue;
        for (let k = 0; k < blocks.length; k++) {
          const block = blocks[random.int(blocks.length)];
          if (block !== undefined) n += addBlock(acc, block);
        }
      }
      const figures = out.get(name) ?? [];
      PERCENTILES.forEach((p, f) => {
        const target = figures[f];
        if (target === undefined) return;
        if (n === 0) {
          target[b] = NaN;
          return;
        }
        const k = percentileRank(p, n);
        const rank = Math.max(1, Math.ceil(random.beta(k, n - k + 1) * n));
        target[b] = valueAtRank(acc, samples.valuesUs, n, rank);
      });
    }
  }
  return out;
}

/**
 * The paired time-block bootstrap behind every interval of a time-paired run (scenario `pairing: time`):
 * the variants ran side by side, so block i of one variant's round covers the same second as block i of the
 * other's, and a (round, block) pair is one unit. Each replicate draws as many units as there are, with
 * replacement, the same draw for every variant, and computes each variant's p50 / p99 / p99.9 on the merged
 * drawn blocks. A replicate's overhead (meshed − unmeshed) is therefore the same quantity as the estimate —
 * the difference of percentiles of the merged histograms — resampled with its pairing kept: a second in which
 * the machine stalled is drawn for both variants or for neither, so shared stalls cancel instead of
 * widening the interval. Blocks keep bursts whole (a stall delays every request in flight, and
 * coordinated-omission correction charges those that should have been sent), and requests are not resampled
 * again inside them (a second level would count within-block noise twice).
 */
export function pairedBootstrap(samples: Samples, options: Omit<BootstrapOptions, 'levels'>): Replicates {
  const random = new Random(options.seed, options.stream);
  const variants = [...samples.variants.entries()];
  const units: { round: number; block: number }[] = [];
  const first = variants[0]?.[1];
  for (const r of first?.rounds ?? []) {
    const lengths = variants.map(([, v]) => v.rounds.find((o) => o.round === r.round)?.blocks.length ?? 0);
    const n = Math.min(...lengths);
    for (let block = 0; block < n; block++) units.push({ round: r.round, block });
  }
  const blocksOf = variants.map(([, v]) => {
    const byRound = new Map(v.rounds.map((r) => [r.round, r.blocks]));
    return units.map((u) => byRound.get(u.round)?.[u.block]);
  });
  const out: Replicates = new Map();
  for (const [name] of variants) out.set(name, PERCENTILES.map(() => new Float64Array(options.resamples)));
  const acc = new Float64Array(samples.valuesUs.length);
  const drawn = new Int32Array(units.length);
  for (let b = 0; b < options.resamples; b++) {
    for (let u = 0; u < units.length; u++) drawn[u] = random.int(units.length);
    variants.forEach(([name], v) => {
      const blocks = blocksOf[v] ?? [];
      acc.fill(0);
      let n = 0;
      for (let u = 0; u < drawn.length; u++) {
        const block = blocks[drawn[u] ?? 0];
        if (block !== undefined) n += addBlock(acc, block);
      }
      const figures = out.get(name) ?? [];
      PERCENTILES.forEach((p, f) => {
        const target = figures[f];
        if (target !== undefined) target[b] = n === 0 ? NaN : valueAtRank(acc, samples.valuesUs, n, percentileRank(p, n));
      });
    });
  }
  return out;
}

/** Adds a block's bucket counts into `acc` (indexed like the grid), times `sign`; returns the block's request count. */
function addBlock(acc: Float64Array, block: Block, sign = 1): number {
  const { positions, counts } = block;
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i] ?? 0;
    acc[p] = (acc[p] ?? 0) + sign * (counts[i] ?? 0);
  }
  return block.total;
}

/** The value of the `rank`-th smallest (1-based) of `n` values counted in `acc`; scans from the nearer end. */
export function valueAtRank(acc: Float64Array, valuesUs: Float64Array, n: number, rank: number): number {
  if (rank <= n / 2) {
    let seen = 0;
    for (let i = 0; i < acc.length; i++) {
      seen += acc[i] ?? 0;
      if (seen >= rank) return valuesUs[i] ?? 0;
    }
  } else {
    let above = n - rank; // values strictly above the answer
    for (let i = acc.length - 1; i >= 0; i--) {
      above -= acc[i] ?? 0;
      if (above < 0) return valuesUs[i] ?? 0;
    }
  }
  return valuesUs[valuesUs.length - 1] ?? 0;
}

/** Exact p50 / p99 / p99.9 (µs) of every round of every variant, by round number: no resampling. */
export function roundPercentiles(samples: Samples): Map<VariantName, Map<number, number[]>> {
  const out = new Map<VariantName, Map<number, number[]>>();
  const acc = new Float64Array(samples.valuesUs.length);
  for (const [name, v] of samples.variants) {
    const rounds = new Map<number, number[]>();
    for (const r of v.rounds) {
      acc.fill(0);
      let n = 0;
      for (const block of r.blocks) n += addBlock(acc, block);
      rounds.set(r.round, PERCENTILES.map((p) => valueAtRank(acc, samples.valuesUs, n, percentileRank(p, n))));
    }
    out.set(name, rounds);
  }
  return out;
}

/**
 * Per variant: p50 / p99 / p99.9 (µs) of its merged histogram, and per round number the same with that round left
 * out — the leave-one-round-out figures of the delete-a-group jackknife (figures.ts turns them into
 * pseudo-values). Leaving out a whole round (1/R of the data) keeps the jackknife consistent for quantiles,
 * which deleting single requests is not (Shao & Wu 1989: the deleted share must not vanish).
 */
export interface LeftOut {
  /** p50 / p99 / p99.9 of all the variant's rounds merged. */
  all: number[];
  /** By round number: the same with that round left out. */
  byRound: Map<number, number[]>;
}

export function leaveOneRoundOut(samples: Samples): Map<VariantName, LeftOut> {
  const out = new Map<VariantName, LeftOut>();
  const all = new Float64Array(samples.valuesUs.length);
  const acc = new Float64Array(samples.valuesUs.length);
  for (const [name, v] of samples.variants) {
    all.fill(0);
    let total = 0;
    for (const r of v.rounds) for (const block of r.blocks) total += addBlock(all, block);
    const figures = (counts: Float64Array, n: number) => PERCENTILES.map((p) => (n > 0 ? valueAtRank(counts, samples.valuesUs, n, percentileRank(p, n)) : NaN));
    const byRound = new Map<number, number[]>();
    for (const r of v.rounds) {
      acc.set(all);
      let n = total;
      for (const block of r.blocks) n -= addBlock(acc, block, -1);
      byRound.set(r.round, figures(acc, n));
    }
    out.set(name, { all: figures(all, total), byRound });
  }
  return out;
}
