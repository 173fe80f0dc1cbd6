import type { VariantName } from '../protocols.js';

/**
 * The order variants run in within round `round`: forward on even rounds, reversed on odd ones, so two
 * variants run A B, B A, A B, B A … (ABBA counterbalancing). Over any two consecutive rounds every variant
 * holds every position once, so linear drift (warming caches, a neighbour's load) hits all variants equally.
 */
export function variantOrder(variants: readonly VariantName[], round: number): VariantName[] {
  return round % 2 === 0 ? [...variants] : [...variants].reverse();
}
