import { afterEach, describe, expect, it } from 'vitest';
import { nowUs } from '../../src/timing/clock.js';
import { DelayQueue } from '../../src/workloads/delay.js';

// Needs `npm run build` first: the queue's waker starts dist/load/ticker.js. Assertions are about behaviour
// (order, never early, everything released); the lateness is printed, and only bounded loosely.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('DelayQueue (planted delay)', () => {
  let queue: DelayQueue | undefined;
  afterEach(async () => {
    await queue?.close();
    queue = undefined;
  });

  it.each([
    // delay µs, items, items per burst, ms between bursts
    [1000, 1000, 1, 1],
    [1000, 2000, 50, 5], // bursts: more in flight than the ring's first capacity (256)
    [250, 500, 5, 2],
    [0, 200, 10, 1],
  ])('%i µs: %i items (bursts of %i every %i ms) come out in order, none early', async (delayUs, items, burst, gapMs) => {
    const q = new DelayQueue(delayUs, (err) => { throw err; });
    queue = q;
    await q.ready;
    const scheduledUs = new Float64Array(items);
    const releasedUs = new Float64Array(items);
    const order: number[] = [];
    const release = (i: number): void => {
      releasedUs[i] = nowUs();
      order.push(i);
    };
    for (let i = 0; i < items; ) {
      for (let k = 0; k < burst && i < items; k++, i++) {
        scheduledUs[i] = nowUs();
        q.schedule(release, i);
      }
      await sleep(gapMs);
    }
    for (let i = 0; i < 500 && order.length < items; i++) await sleep(5);
    expect(order.length).toBe(items);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const lateUs: number[] = [];
    for (let i = 0; i < items; i++) {
      const late = (releasedUs[i] ?? 0) - (scheduledUs[i] ?? 0) - delayUs;
      expect(late, `item ${i}`).toBeGreaterThanOrEqual(0);
      lateUs.push(late);
    }
    lateUs.sort((a, b) => a - b);
    const at = (p: number) => lateUs[Math.min(items - 1, Math.floor(p * items))] ?? NaN;
    console.log(`planted delay ${delayUs} µs, ${items} items: lateness p50 ${at(0.5)} µs, p99 ${at(0.99)} µs, max ${at(1)} µs`);
    // Loose: setTimeout would give ≈ 500–1000 µs at p50; the ticker gives tens of µs on a quiet machine.
    expect(at(0.5)).toBeLessThan(400);
    expect(q.pending).toBe(0);
  });

  it('passes up to three arguments through, without a closure per item', async () => {
    const q = new DelayQueue(500);
    queue = q;
    const seen: [string, number, boolean][] = [];
    const record = (a: string, b: number, c: boolean): void => void seen.push([a, b, c]);
    q.schedule(record, 'x', 1, true);
    q.schedule(record, 'y', 2, false);
    for (let i = 0; i < 200 && seen.length < 2; i++) await sleep(5);
    expect(seen).toEqual([['x', 1, true], ['y', 2, false]]);
  });

  it('a release that throws is reported and does not stop the ones behind it', async () => {
    const failures: string[] = [];
    const q = new DelayQueue(200, (err) => failures.push(err.message));
    queue = q;
    const done: number[] = [];
    q.schedule(() => { throw new Error('socket gone'); }, 0);
    q.schedule((i: number) => void done.push(i), 1);
    for (let i = 0; i < 200 && done.length === 0; i++) await sleep(5);
    expect(done).toEqual([1]);
    expect(failures).toEqual(['socket gone']);
  });

  it('is ready once the ticker thread has woken it', async () => {
    const q = new DelayQueue(1000);
    queue = q;
    await expect(q.ready).resolves.toBeUndefined();
  });

  it('close() drops what is queued: nothing is called after it', async () => {
    const q = new DelayQueue(50_000);
    const called: number[] = [];
    q.schedule((i: number) => void called.push(i), 1);
    await q.close();
    q.schedule((i: number) => void called.push(i), 2);
    await sleep(100);
    expect(called).toEqual([]);
  });

  it.each([-1, 0.5, Number.NaN])('rejects a delay of %d µs', (delayUs) => {
    expect(() => new DelayQueue(delayUs)).toThrow(/whole number of µs/);
  });
});
