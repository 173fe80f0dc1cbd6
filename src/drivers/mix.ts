import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { probit } from 'simple-statistics';
import { MeshbenchError } from '../errors.js';

/** The longest cycle a request mix may have (the sum of its weights). */
export const MAX_MIX_CYCLE = 10_000;

/**
 * The order in which a weighted mix sends its requests: one cycle of sum(weights) slots in which request i
 * holds weights[i] slots, spread as evenly as nginx's smooth weighted round robin spreads them (3:1 gives
 * A A B A, not A A A B), so any stretch of the load carries the mix, not only a whole cycle. Computed once;
 * a connection then walks it with one index (no draw, no allocation per request).
 */
export function weightedOrder(weights: readonly number[]): Uint16Array {
  const total = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0 || weights.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `request weights must be whole numbers ≥ 1, got ${weights.join(', ') || 'none'}`);
  }
  if (total > MAX_MIX_CYCLE) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `request weights add up to ${total}; keep the sum at most ${MAX_MIX_CYCLE} (e.g. 30:10 as 3:1)`);
  }
  const order = new Uint16Array(total);
  const current = weights.map(() => 0);
  for (let slot = 0; slot < total; slot++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i] = (current[i] ?? 0) + (weights[i] ?? 0);
      if ((current[i] ?? 0) > (current[best] ?? 0)) best = i;
    }
    current[best] = (current[best] ?? 0) - total;
    order[slot] = best;
  }
  return order;
}

/**
 * A distribution of body sizes (request payloads, response sizes): a weighted list of sizes, or a lognormal
 * given by its median and the sd of its log (sigma), clamped to [minBytes, maxBytes].
 */
export type SizeDistribution =
  | { kind: 'weighted'; sizes: readonly { bytes: number; weight: number }[] }
  | { kind: 'lognormal'; medianBytes: number; sigma: number; minBytes: number; maxBytes: number };

/** A traffic mix beyond the weighted requests: drawn payload and response sizes, a fresh traceparent per request. */
export interface TrafficMix {
  /** Request payload sizes (requests without a body of their own and whose method carries one). */
  payload?: SizeDistribution;
  /** Response sizes, asked of the echo with `?size=N`. */
  response?: SizeDistribution;
  /** A fresh W3C traceparent (random trace and span id, sampled) on every request. */
  traceparent?: boolean;
  /** Seed of the pool's order: the same seed gives the same requests in the same order. */
  seed: number;
  /** Distinct requests precomputed (rounded up to a whole number of the weighted order's cycles). */
  poolSize: number;
}

/** The size at quantile `u` ∈ (0, 1) of `d` (the inverse of its distribution function), a whole number of bytes. */
export function sizeAt(d: SizeDistribution, u: number): number {
  if (d.kind === 'lognormal') {
    const bytes = Math.round(d.medianBytes * Math.exp(d.sigma * probit(u)));
    return Math.min(d.maxBytes, Math.max(d.minBytes, bytes));
  }
  const total = d.sizes.reduce((a, s) => a + s.weight, 0);
  let cumulative = 0;
  for (const s of d.sizes) {
    cumulative += s.weight;
    if (u * total < cumulative) return s.bytes;
  }
  return d.sizes[d.sizes.length - 1]?.bytes ?? 0;
}

/**
 * `n` sizes whose empirical distribution is `d`'s — stratified, the quantiles at (i + ½)/n, so a pool of 1024
 * carries a weighted list's shares to within 1/1024 and a lognormal's shape without sampling noise — in a
 * seeded random order (Fisher–Yates with pure-rand), so neighbouring requests are not sorted by size.
 */
export function sizePool(d: SizeDistribution, n: number, seed: number): Uint32Array {
  const sizes = new Uint32Array(n);
  for (let i = 0; i < n; i++) sizes[i] = sizeAt(d, (i + 0.5) / n);
  const rng = xoroshiro128plus(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    const t = sizes[i] as number;
    sizes[i] = sizes[j] as number;
    sizes[j] = t;
  }
  return sizes;
}

/** Largest pool of precomputed requests, in bytes of bodies: what a mix may hold in memory per driver. */
export const MAX_POOL_BYTES = 64 * 1024 * 1024;
/** Methods whose requests carry no drawn payload. */
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/** One request of a mix's pool, before a driver serializes it. */
export interface PooledRequest {
  /** Path and query, `size=N` added when the mix draws response sizes. */
  path: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

/**
 * The requests a connection cycles through under a traffic mix: slot i takes the weighted mix's request at
 * slot i of its smooth order (weightedOrder), a payload of the i-th drawn size (when it has no body of its own
 * and its method carries one) and, with response sizes, `size=` the i-th drawn response size. Built once per
 * driver; the drivers serialize each slot once and walk the pool (no draw, no allocation per request).
 */
export function requestPool(requests: readonly PooledRequest[], weights: readonly number[], mix: TrafficMix): PooledRequest[] {
  const order = requests.length === 1 ? new Uint16Array(1) : weightedOrder(weights);
  const n = Math.ceil(Math.max(mix.poolSize, order.length) / order.length) * order.length;
  const payloads = mix.payload === undefined ? undefined : sizePool(mix.payload, n, mix.seed);
  const responses = mix.response === undefined ? undefined : sizePool(mix.response, n, mix.seed + 1);
  const pool: PooledRequest[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const r = requests[order[i % order.length] ?? 0] as PooledRequest;
    const drawn = payloads !== undefined && r.body.length === 0 && !BODILESS_METHODS.has(r.method);
    const body = drawn ? filler(payloads[i] ?? 0) : r.body;
    bytes += body.length;
    const path = responses === undefined ? r.path : `${r.path}${r.path.includes('?') ? '&' : '?'}size=${responses[i] ?? 0}`;
    pool.push({ path, method: r.method, headers: r.headers, body });
  }
  if (bytes > MAX_POOL_BYTES) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `the traffic mix's pool of ${n} requests holds ${(bytes / 2 ** 20).toFixed(0)} MiB of payloads (at most ${MAX_POOL_BYTES / 2 ** 20}): lower mix.poolSize or the payload sizes`);
  }
  return pool;
}

let fillerBuffer = Buffer.alloc(0);

/** `n` bytes of 'x', a view of one shared buffer (pooled requests share their payload bytes). */
function filler(n: number): Uint8Array {
  if (n > fillerBuffer.length) fillerBuffer = Buffer.alloc(Math.max(n, 2 * fillerBuffer.length), 0x78);
  return fillerBuffer.subarray(0, n);
}
