import type { CompletionSink, Driver, DriverConnection, ErrorKind } from '../drivers/driver.js';
import { nowUs } from '../timing/clock.js';
import { LoopRecorder, type LoopResult } from './recorder.js';
import { loadWindow, type LoadWindow } from './schedule.js';
import { Arrivals, peakRateHz } from './arrivals/index.js';
import type { LoadSpec } from './types.js';
import type { IntervalHistogram } from '../histograms/index.js';
import { Waker } from '../timing/waker.js';
import { ConnectionChurn } from './churn.js';

export type { LoopResult } from './recorder.js';

/** The part of a LoadSpec one loop needs; rate, connections and maxRequests are this loop's share. */
export type LoopSpec = Pick<LoadSpec, 'model' | 'rateHz' | 'connections' | 'durationMs' | 'warmupMs' | 'timeoutMs' | 'intervalMs' | 'maxRequests' | 'lateThresholdUs' | 'arrivals' | 'churn'> & {
  /** Separates this worker's Poisson sequence from the other workers' (lanes of one worker share it: paired arrivals). */
  arrivalsStream?: number;
};

export interface LoopProgress {
  /** Since the start of warm-up. */
  elapsedMs: number;
  /** Successful responses in the measured window so far. */
  count: number;
  /** Completions (responses + errors, warm-up included) per second since the previous report. */
  rateHz: number;
  /** p99 of the current interval so far (during warm-up: of the warm-up responses). */
  p99Us: number;
}

export interface LoopRunOptions {
  /** Start of warm-up on this thread's nowUs() clock; default: 10 ms from now. */
  startUs?: number;
  /** Shift of the open-loop schedule (workers interleave; see schedule.phaseOffsetUs). */
  phaseUs?: number;
  onProgress?: (p: LoopProgress) => void;
  /** Streaming: each closed measured interval is handed here and not kept (the result has no intervals). */
  onInterval?: (interval: IntervalHistogram) => void;
}

const SWEEP_MS = 20;
/**
 * The open loop's ticker fires this much before a send is due and the loop thread spins the rest (Waker leadUs),
 * so the thread's own wake-up is not send lag. At 1 k req/s (`meshbench load`, send lag p99): 107–178 µs without
 * a lead, 41–75 µs with 50 µs, 20–28 µs with 100 µs; 50 µs costs ≈ 5 % of a core at 2 k sends/s.
 */
const WAKE_LEAD_US = 50;
const ERROR_PAUSE_US = 10_000;
const PROGRESS_US = 1_000_000;
/** A request due inside the window may still go out this long after the window's end; later it is dropped. */
const END_GRACE_US = 2_000;
const IDLE = 0;
const BUSY = 1;
const PAUSED = 2;

/**
 * One load loop: `connections` driver connections on one thread, open or closed loop (see LoadSpec);
 * it is the drivers' CompletionSink. The hot path (onResponse/onError/pump) allocates nothing:
 * per-connection state in typed arrays, free connections on an Int32Array stack, one sweep timer, one
 * error-pause timer, one ticker (waker.ts) for precise open-loop wake-ups.
 *
 * Open loop: request k is intended at start + phase + floor(k·1e6/rate); when due and a connection is free
 * it is sent, otherwise it waits (backlog) and goes out when one frees — its latency still counts from the
 * intended time (coordinated-omission correction, as wrk2); the service histogram counts from the send.
 * Closed loop: each connection resends on completion (after an error or time-out it pauses 10 ms).
 * A request belongs to the measured window when its intended (open) or send (closed) time is inside it.
 * At the window's end sending stops, in-flight requests get up to timeoutMs, unsent due ones are `dropped` —
 * and recorded as late, from their intended time to the end of the drain, so a stall at the end of a
 * window cannot hide in them.
 */
export class LoadLoop implements CompletionSink {
  private readonly n: number;
  private readonly conns: DriverConnection[] = [];
  private readonly state: Uint8Array;
  private readonly measured: Uint8Array;
  private readonly intendedAt: Float64Array;
  private readonly sentAt: Float64Array;
  private readonly resumeAt: Float64Array;
  private readonly free: Int32Array;
  private freeTop = 0;
  private outstanding = 0;
  private readonly open: boolean;
  private readonly timeoutUs: number;
  private readonly rec: LoopRecorder;
  /**
   * Warm-up requests are recorded too — into this recorder, whose figures are dropped — so the measured window
   * starts on code the JIT has already optimized for it: when warm-up skipped the recording, the first measured
   * second paid a deoptimization (a branch never taken before) and the first interval close (encoder, zlib), and
   * its p99 was several times the rest's in every run.
   */
  private readonly warmRec: LoopRecorder;
  private readonly churn: ConnectionChurn | undefined;
  private win: LoadWindow = { startUs: 0, measureStartUs: 0, measureEndUs: 0 };
  private scheduleStartUs = 0;
  /** Open loop: the next arrival to send (its time: scheduleStartUs + arrivals.atUs). */
  private arrivals: Arrivals | undefined;
  /** Open loop: arrivals intended inside the measured window so far (sent, or handed to a connection). */
  private scheduledMeasured = 0;
  private capped = false;
  private measuredSends = 0;
  private dropped = 0;
  /** Open loop: the arrivals from the first unsent one on, when sending ended; `dropped` of them were measured. */
  private unsentFrom: Arrivals | undefined;
  private sending = false;
  private finished = true;
  private drainDeadlineUs = Infinity;
  private sweepTimer: NodeJS.Timeout | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private waker: Waker | undefined;
  private onProgress: ((p: LoopProgress) => void) | undefined;
  private progressAtUs = 0;
  private progressCompletions = 0;
  private settle: ((r: LoopResult) => void) | undefined;
  private fail: ((err: Error) => void) | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private ran = false;

  constructor(
    private readonly driver: Driver,
    private readonly spec: LoopSpec,
  ) {
    this.n = spec.connections;
    this.state = new Uint8Array(this.n);
    this.measured = new Uint8Array(this.n);
    this.intendedAt = new Float64Array(this.n);
    this.sentAt = new Float64Array(this.n);
    this.resumeAt = new Float64Array(this.n);
    this.free = new Int32Array(this.n);
    this.open = spec.model === 'open';
    this.timeoutUs = spec.timeoutMs * 1000;
    this.rec = new LoopRecorder(this.open, spec.intervalMs, spec.lateThresholdUs);
    this.warmRec = new LoopRecorder(this.open, spec.intervalMs, spec.lateThresholdUs);
    this.churn = spec.churn === undefined ? undefined : new ConnectionChurn(spec.churn, this.n);
  }

  /** Opens every connection; rejects (after closing those that opened) if one cannot be opened. */
  async connect(): Promise<void> {
    const settled = await Promise.allSettled(Array.from({ length: this.n }, (_, i) => this.driver.connect(i, this)));
    for (const s of settled) if (s.status === 'fulfilled') this.conns.push(s.value);
    const failed = settled.findIndex((s) => s.status === 'rejected');
    if (failed >= 0) {
      await this.close();
      const reason: unknown = (settled[failed] as PromiseRejectedResult).reason;
      throw new Error(`connection ${failed} of ${this.n} could not be opened: ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    if (this.churn !== undefined && this.conns.some((c) => c.renew === undefined)) {
      await this.close();
      throw new Error(`connection churn needs a driver that opens new connections (http1), not ${this.driver.protocol}`);
    }
  }

  /** Runs warm-up and the measured window; resolves when done, or promptly after stop(). */
  run(options: LoopRunOptions = {}): Promise<LoopResult> {
    if (this.conns.length !== this.n || this.n === 0) return Promise.reject(new Error('LoadLoop.run() before connect() (or with no connections)'));
    if (this.ran) return Promise.reject(new Error('LoadLoop.run() called twice'));
    this.ran = true;
    const peakHz = peakRateHz(this.spec.arrivals, this.spec.rateHz);
    if (this.open && !(peakHz > 0)) return Promise.reject(new Error(`open loop needs a rate > 0, got ${peakHz}`));
    const startUs = options.startUs ?? nowUs() + 10_000;
    this.win = loadWindow(startUs, this.spec.warmupMs, this.spec.durationMs);
    if (options.onInterval !== undefined) this.rec.streamTo(options.onInterval);
    this.rec.begin(this.win);
    this.warmRec.begin({ startUs, measureStartUs: startUs, measureEndUs: this.win.measureStartUs });
    this.churn?.begin(startUs);
    this.onProgress = options.onProgress;
    this.progressAtUs = startUs;
    for (let c = 0; c < this.n; c++) this.free[this.freeTop++] = c;
    this.finished = false;
    this.sending = true;
    const done = new Promise<LoopResult>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    if (this.open) {
      this.scheduleStartUs = startUs + (options.phaseUs ?? 0);
      this.arrivals = Arrivals.create(this.spec.arrivals ?? { kind: 'constant' }, this.spec.rateHz, this.spec.arrivalsStream ?? 0);
      const onTickerFailure = (err: Error): void => this.abortWith(new Error(`ticker thread failed: ${err.message}`));
      this.waker = new Waker(this.onTick, onTickerFailure, Math.min(200, 1e6 / peakHz / 4), Math.min(WAKE_LEAD_US, 1e6 / peakHz / 8));
      this.waker.arm(this.scheduleStartUs);
    } else {
      setTimeout(this.onTick, Math.max(0, (startUs - nowUs()) / 1000));
    }
    this.sweepTimer = setInterval(this.onSweep, SWEEP_MS);
    return done;
  }

  /** Stop now (abort): in-flight requests are dropped uncounted; run() resolves with what was measured. */
  stop(): void {
    if (this.finished) return;
    const now = nowUs();
    this.rec.cutWindow(now);
    this.endSending(now);
    for (let c = 0; c < this.n; c++) {
      if (this.state[c] === BUSY) this.conns[c]?.abort();
      this.state[c] = IDLE;
    }
    this.outstanding = 0;
    this.finish();
  }

  /** Stops if running, then closes every connection and the driver (once, however often called). */
  close(): Promise<void> {
    this.stop();
    this.closing ??= (async () => {
      const conns = this.conns.splice(0);
      await Promise.allSettled(conns.map((c) => c.close()));
      await this.driver.close();
    })();
    return this.closing;
  }

  onResponse(c: number): void {
    if (this.state[c] !== BUSY) return;
    const now = nowUs();
    this.state[c] = IDLE;
    this.outstanding--;
    if (this.measured[c] === 1) this.rec.response(now, this.intendedAt[c] as number, this.sentAt[c] as number, true);
    else this.warmRec.response(now, this.intendedAt[c] as number, this.sentAt[c] as number, true);
    this.churn?.responded(c, now, this.sentAt[c] as number);
    this.release(c, now, false);
  }

  onError(c: number, kind: ErrorKind): void {
    if (this.state[c] !== BUSY) return;
    this.state[c] = IDLE;
    this.outstanding--;
    if (this.measured[c] === 1) this.rec.error(kind, true);
    else this.warmRec.error(kind, true);
    this.churn?.failed(c);
    this.release(c, nowUs(), true);
  }

  onConnected(c: number): void {
    if (this.state[c] === BUSY) this.churn?.connected(c, nowUs(), this.sentAt[c] as number);
  }

  /** `sentUs`: a clock reading taken just before this send (closed loop: the completion that triggers it). */
  private send(c: number, intendedUs: number, isMeasured: boolean, sentUs: number): void {
    const fromUs = this.open ? intendedUs : sentUs;
    this.state[c] = BUSY;
    this.intendedAt[c] = fromUs;
    this.sentAt[c] = sentUs;
    this.measured[c] = isMeasured ? 1 : 0;
    this.outstanding++;
    if (isMeasured) {
      this.measuredSends++;
      this.rec.sent(sentUs - fromUs);
    } else {
      this.warmRec.sent(sentUs - fromUs);
    }
    const conn = this.conns[c] as DriverConnection;
    if (this.churn?.renewBefore(c, sentUs, isMeasured) === true) conn.renew?.();
    conn.send();
  }

  /** A connection finished (response, error or time-out). */
  private release(c: number, now: number, failed: boolean): void {
    if (this.open) {
      this.free[this.freeTop++] = c;
      this.pump(now);
    } else if (failed && this.sending) {
      this.state[c] = PAUSED;
      this.resumeAt[c] = now + ERROR_PAUSE_US;
      this.pauseTimer ??= setTimeout(this.onPauseTimer, ERROR_PAUSE_US / 1000);
    } else {
      this.closedSend(c, now);
    }
    if (!this.sending && this.outstanding === 0) this.finish();
  }

  /**
   * Closed loop: send again on `c` unless the window (or maxRequests) is over. `now` is the send time: the
   * caller read it immediately before (a completion resends at once, so its clock reading is reused — one
   * clock read per request; the record in between takes tens of ns).
   */
  private closedSend(c: number, now: number): void {
    if (this.sending && now >= this.win.measureEndUs) this.endSending(now);
    if (!this.sending) {
      this.free[this.freeTop++] = c;
      return;
    }
    const isMeasured = now >= this.win.measureStartUs;
    this.send(c, now, isMeasured, now);
    if (isMeasured && this.spec.maxRequests > 0 && this.measuredSends >= this.spec.maxRequests) {
      this.rec.cutWindow(now);
      this.endSending(now);
    }
  }

  /** Open loop: send every due request a free connection can take, then arm the ticker for the next. */
  private pump(now: number): void {
    if (!this.sending) return;
    if (now >= this.win.measureEndUs + END_GRACE_US) {
      this.endSending(now);
      return;
    }
    const start = this.scheduleStartUs;
    const arrivals = this.arrivals as Arrivals;
    while (this.freeTop > 0 && !this.scheduleOver()) {
      const dueUs = start + arrivals.atUs;
      if (dueUs > now) break;
      const isMeasured = dueUs >= this.win.measureStartUs;
      if (isMeasured) this.scheduledMeasured++;
      this.send(this.free[--this.freeTop] as number, dueUs, isMeasured, nowUs());
      arrivals.next();
    }
    if (this.scheduleOver()) {
      if (this.capped) this.rec.cutWindow(now);
      this.endSending(now);
    } else if (this.freeTop > 0) {
      this.waker?.arm(start + arrivals.atUs);
    } else {
      this.waker?.disarm(); // backlog: the next completion pumps
    }
  }

  /**
   * Open loop: no arrival left to send — the next one is due at or after the window's end, or the measured ones
   * reached maxRequests (`capped` when that cut the window short).
   */
  private scheduleOver(): boolean {
    if (this.scheduleStartUs + (this.arrivals as Arrivals).atUs >= this.win.measureEndUs) return true;
    if (this.spec.maxRequests > 0 && this.scheduledMeasured >= this.spec.maxRequests) this.capped = true;
    return this.capped;
  }

  private endSending(now: number): void {
    if (!this.sending) return;
    this.sending = false;
    this.waker?.disarm();
    if (this.open) {
      // Due but unsent: intended inside the window and at or before now (an abort drops nothing not yet due).
      const rest = (this.arrivals as Arrivals).clone();
      this.unsentFrom = rest.clone();
      const cap = this.spec.maxRequests > 0 ? this.spec.maxRequests - this.scheduledMeasured : Infinity;
      for (let due = this.scheduleStartUs + rest.atUs; due <= now && due < this.win.measureEndUs && this.dropped < cap; rest.next(), due = this.scheduleStartUs + rest.atUs) {
        if (due >= this.win.measureStartUs) this.dropped++;
      }
    }
    this.drainDeadlineUs = now + this.timeoutUs;
    if (this.outstanding === 0) this.finish();
  }

  private readonly onTick = (): void => {
    if (this.finished) return;
    const now = nowUs();
    if (this.open) this.pump(now);
    else if (now < this.win.startUs) setTimeout(this.onTick, (this.win.startUs - now) / 1000 + 1); // timers may fire early
    else while (this.freeTop > 0 && this.sending) this.closedSend(this.free[--this.freeTop] as number, nowUs());
  };

  private readonly onPauseTimer = (): void => {
    this.pauseTimer = undefined;
    if (this.finished) return;
    const now = nowUs();
    let nextUs = Infinity;
    for (let c = 0; c < this.n; c++) {
      if (this.state[c] !== PAUSED) continue;
      const at = this.resumeAt[c] as number;
      if (at <= now + 500 || !this.sending) {
        this.state[c] = IDLE;
        this.closedSend(c, nowUs());
      } else if (at < nextUs) nextUs = at;
    }
    if (nextUs !== Infinity) this.pauseTimer = setTimeout(this.onPauseTimer, (nextUs - now) / 1000);
    if (!this.sending && this.outstanding === 0) this.finish();
  };

  /** Every SWEEP_MS: time-outs, interval clock, end of window, progress; also a fallback pump. */
  private readonly onSweep = (): void => {
    if (this.finished) return;
    const now = nowUs();
    this.rec.tick(now);
    this.warmRec.tick(now);
    const drainOver = !this.sending && now >= this.drainDeadlineUs;
    for (let c = 0; c < this.n; c++) {
      if (this.state[c] !== BUSY || (now - (this.sentAt[c] as number) < this.timeoutUs && !drainOver)) continue;
      (this.conns[c] as DriverConnection).abort();
      this.onError(c, 'timeout');
    }
    if (this.finished) return;
    if (this.sending && now >= this.win.measureEndUs + (this.open ? END_GRACE_US : 0)) this.endSending(now);
    else if (this.open) this.pump(now);
    if (this.onProgress !== undefined && now - this.progressAtUs >= PROGRESS_US) {
      const completions = this.rec.completions + this.warmRec.completions;
      const rateHz = (completions - this.progressCompletions) / ((now - this.progressAtUs) / 1e6);
      const p99Us = now < this.win.measureStartUs ? this.warmRec.currentP99Us() : this.rec.currentP99Us();
      this.onProgress({ elapsedMs: (now - this.win.startUs) / 1000, count: this.rec.count, rateHz, p99Us });
      this.progressAtUs = now;
      this.progressCompletions = completions;
    }
  };

  /**
   * Open loop: constant arrivals intend `rateHz`; the others, the arrivals the schedule intended in the measured
   * window (sent or dropped) per second of it — a Poisson draw's own count, a ramp's mean rate.
   */
  private intendedRateHz(): number {
    if ((this.spec.arrivals?.kind ?? 'constant') === 'constant') return this.spec.rateHz;
    const seconds = (this.rec.windowEndUs - this.win.measureStartUs) / 1e6;
    return seconds > 0 ? (this.scheduledMeasured + this.dropped) / seconds : 0;
  }

  private abortWith(err: Error): void {
    this.failure ??= err;
    this.stop();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.sending = false;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    void this.waker?.close();
    this.waker = undefined;
    const now = nowUs();
    for (let n = 0, rest = this.unsentFrom; rest !== undefined && n < this.dropped; rest.next()) {
      const due = this.scheduleStartUs + rest.atUs;
      if (due < this.win.measureStartUs) continue;
      this.rec.unsent(now, due);
      n++;
    }
    const result = this.rec.result(now, this.dropped, this.open ? this.intendedRateHz() : 0);
    if (this.churn !== undefined) result.churn = this.churn.result();
    if (this.failure !== undefined) this.fail?.(this.failure);
    else this.settle?.(result);
  }
}

/** Connects, runs and closes a loop on this thread (the worker entry and tests use it). */
export async function runLoop(driver: Driver, spec: LoopSpec, options: LoopRunOptions = {}, signal?: AbortSignal): Promise<LoopResult> {
  const loop = new LoadLoop(driver, spec);
  const onAbort = (): void => loop.stop();
  try {
    await loop.connect();
    signal?.addEventListener('abort', onAbort, { once: true });
    const running = loop.run(options);
    if (signal?.aborted === true) loop.stop();
    return await running;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await loop.close();
  }
}
