import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { variantOrder } from '../../src/load/rounds.js';

describe('variantOrder (ABBA interleaving)', () => {
  it('runs two variants A B, B A, A B, B A', () => {
    const seq = [0, 1, 2, 3].flatMap((r) => variantOrder(['unmeshed', 'meshed'], r));
    expect(seq).toEqual(['unmeshed', 'meshed', 'meshed', 'unmeshed', 'unmeshed', 'meshed', 'meshed', 'unmeshed']);
  });

  it('every round is a permutation, and over two rounds each variant takes every position once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.nat(1000), (variants, r) => {
        const a = variantOrder(variants, 2 * r);
        const b = variantOrder(variants, 2 * r + 1);
        expect([...a].sort()).toEqual([...variants].sort());
        for (const v of variants) {
          // position in a + position in b is constant: the mean position of every variant is the same
          expect(a.indexOf(v) + b.indexOf(v)).toBe(variants.length - 1);
        }
      }),
    );
  });
});
