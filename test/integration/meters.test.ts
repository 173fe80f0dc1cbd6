import { spawn } from 'node:child_process';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { summarizeEncoded } from '../../src/histograms/index.js';
import { HiccupMeter } from '../../src/meters/hiccup.js';
import { applyPlacement } from '../../src/run/placement.js';

// Timing-based: these start threads and sleep, so they run in the serial project. No assertion depends on
// how fast the machine is — only on what was recorded and on "not before".
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('hiccup meter', () => {
  it('records one lateness per 1 ms tick while started, nothing after stop, and take() starts afresh', async () => {
    const meter = new HiccupMeter().start();
    try {
      await sleep(300);
      const first = summarizeEncoded(meter.take());
      // ≈ 1 tick per ms once the ticker thread runs (its start-up is not recorded); each late tick also
      // records the ticks it swallowed (coordinated-omission correction), so the count is about the elapsed ms.
      expect(first.count).toBeGreaterThan(50);
      expect(first.count).toBeLessThan(400);
      expect(first.min).toBeGreaterThanOrEqual(0);
      meter.stop();
      await sleep(50);
      meter.take();
      await sleep(100);
      expect(summarizeEncoded(meter.take()).count).toBe(0);
    } finally {
      await meter.close();
    }
  });

  it('a blocked event loop shows as a hiccup as long as the block', async () => {
    const meter = new HiccupMeter().start();
    try {
      await sleep(100);
      meter.take();
      const until = performance.now() + 30;
      while (performance.now() < until) {
        // block this thread's event loop for 30 ms
      }
      await sleep(20);
      const h = summarizeEncoded(meter.take());
      expect(h.max).toBeGreaterThanOrEqual(29_000);
      expect(h.count).toBeGreaterThan(30); // the blocked ticks are filled in, as jHiccup does
    } finally {
      await meter.close();
    }
  });
});

describe('placement', () => {
  it('high raises the priority of a process (and restore puts it back); normal leaves it alone; both are recorded', async () => {
    const child = spawn('sleep', ['10'], { stdio: 'ignore' });
    try {
      const pid = child.pid ?? 0;
      const before = getPriority(pid);
      const normal = applyPlacement('normal', pid);
      expect(normal.record).toEqual({ requested: 'normal', obtained: `nice ${before}` });
      const high = applyPlacement('high', pid);
      expect(high.record.requested).toBe('high');
      const now = getPriority(pid);
      expect(high.record.obtained).toBe(`nice ${now}`);
      if (process.getuid?.() === 0) expect(now).toBe(-20);
      else expect(now).toBeLessThanOrEqual(before);
      high.restore();
      expect(getPriority(pid)).toBe(before);
    } finally {
      child.kill();
    }
  });
});
