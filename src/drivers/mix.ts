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
