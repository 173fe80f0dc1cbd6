import { afterEach, describe, expect, it } from 'vitest';
import { nowUs } from '../../src/timing/clock.js';
import { Waker } from '../../src/timing/waker.js';

// The waker starts dist/timing/ticker.js (test/setup/build.ts builds it when older than src/). No assertion here depends on speed:
// a slow machine only delays wake-ups, and every check is "not before" or "eventually".
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Waker (ticker thread protocol)', () => {
  let waker: Waker | undefined;
  afterEach(async () => {
    await waker?.close();
    waker = undefined;
  });

  function start(): { wakes: number[] } {
    const seen = { wakes: [] as number[] };
    waker = new Waker(() => seen.wakes.push(nowUs()), (err) => { throw err; }, 200);
    return seen;
  }

  it('wakes once at an armed time, not before it', async () => {
    const seen = start();
    const due = nowUs() + 30_000;
    waker?.arm(due);
    for (let i = 0; i < 200 && seen.wakes.length === 0; i++) await sleep(10);
    expect(seen.wakes).toHaveLength(1);
    expect(seen.wakes[0]).toBeGreaterThanOrEqual(due);
  });

  it('follows a due time moved later without waking at the earlier one', async () => {
    const seen = start();
    const first = nowUs() + 20_000;
    const later = first + 60_000;
    waker?.arm(first);
    waker?.arm(later); // a silent re-arm: only DUE changes
    for (let i = 0; i < 300 && seen.wakes.length === 0; i++) await sleep(10);
    expect(seen.wakes.length).toBeGreaterThanOrEqual(1);
    expect(seen.wakes[0]).toBeGreaterThanOrEqual(later);
  });

  it('does not wake after disarm(), and wakes again after a new arm()', async () => {
    const seen = start();
    waker?.arm(nowUs() + 20_000);
    waker?.disarm();
    await sleep(100);
    expect(seen.wakes).toHaveLength(0);
    const due = nowUs() + 10_000;
    waker?.arm(due);
    for (let i = 0; i < 200 && seen.wakes.length === 0; i++) await sleep(10);
    expect(seen.wakes).toHaveLength(1);
    expect(seen.wakes[0]).toBeGreaterThanOrEqual(due);
  });

  it('moves an armed due time earlier', async () => {
    const seen = start();
    waker?.arm(nowUs() + 10_000_000);
    const due = nowUs() + 20_000;
    waker?.arm(due);
    for (let i = 0; i < 200 && seen.wakes.length === 0; i++) await sleep(10);
    expect(seen.wakes).toHaveLength(1);
    expect(seen.wakes[0]).toBeGreaterThanOrEqual(due);
  });
});
