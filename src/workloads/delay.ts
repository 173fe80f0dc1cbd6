import { MeshbenchError } from '../errors.js';
import { nowUs } from '../timing/clock.js';
import { Waker } from '../timing/waker.js';

/**
 * A planted delay (scenario `env.plantedDelayMs`, `meshbench echo --planted-delay-ms`): the echo holds every
 * response exactly `delayUs` before sending it, so a run can be checked against a known overhead. It must be
 * precise — a +1 ms plant has to come out as +1 ms at p50, not 1.5 — so it does not use setTimeout (1 ms
 * granularity plus jitter). With one constant delay, responses fall due in the order they were scheduled:
 * a FIFO queue, and one precise wake-up at a time for its head, from the load generator's ticker thread
 * (src/load/waker.ts), which wakes this event loop within µs of a due time.
 *
 * Contract: `schedule(fn, a, b, c)` calls `fn(a, b, c)` on this thread no earlier than `delayUs` after the
 * call, in call order. Scheduling allocates nothing once the ring has grown to the number of responses in
 * flight (three parallel arrays; no closure per response). After `close()` nothing more is called.
 */

type Release = (a: unknown, b: unknown, c: unknown) => void;

const INITIAL_CAPACITY = 256;
/** The ticker may wake this much early and spins the rest (as the open loop does at high rates). */
const MAX_EARLY_US = 200;
/**
 * Waking this event loop from the ticker takes ≈ 15–25 µs (futex wake, then the promise of
 * Atomics.waitAsync): 2 % of a 1 ms plant. So the ticker fires this much before the head's due time and
 * the Waker spins the rest; a head due within SPIN_MAX_US of the last release is spun to directly.
 */
const WAKE_LEAD_US = 40;
const SPIN_MAX_US = 60;

export class DelayQueue {
  private fns: (Release | undefined)[] = new Array<Release | undefined>(INITIAL_CAPACITY).fill(undefined);
  private args: unknown[] = new Array<unknown>(INITIAL_CAPACITY * 3).fill(undefined);
  private dueUs: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private size = 0;
  private closed = false;
  private readonly waker: Waker;

  /** `onFailure`: the ticker thread died (then nothing more is released), or a released call threw. */
  constructor(
    readonly delayUs: number,
    private readonly onFailure: (err: Error) => void = () => {},
  ) {
    if (!Number.isInteger(delayUs) || delayUs < 0) {
      throw new MeshbenchError('MB_BAD_ARGUMENT', `planted delay must be a whole number of µs ≥ 0, got ${delayUs}`);
    }
    this.waker = new Waker(this.release, onFailure, MAX_EARLY_US, WAKE_LEAD_US);
    this.ready = new Promise((resolve) => {
      this.onReady = resolve;
    });
    this.waker.arm(nowUs()); // the first wake-up says the ticker thread runs
  }

  /**
   * Resolves once the ticker thread has woken this loop once (it takes tens of ms to start): until then
   * releases are late. The echo announces that it listens only after this.
   */
  readonly ready: Promise<void>;
  private onReady: (() => void) | undefined;

  /** Responses scheduled and not yet released. */
  get pending(): number {
    return this.size;
  }

  schedule<A>(fn: (a: A) => void, a: A): void;
  schedule<A, B>(fn: (a: A, b: B) => void, a: A, b: B): void;
  schedule<A, B, C>(fn: (a: A, b: B, c: C) => void, a: A, b: B, c: C): void;
  schedule(fn: Release, a: unknown, b?: unknown, c?: unknown): void {
    if (this.closed) return;
    if (this.size === this.fns.length) this.grow();
    const at = (this.head + this.size) % this.fns.length;
    const due = nowUs() + this.delayUs;
    this.fns[at] = fn;
    this.args[at * 3] = a;
    this.args[at * 3 + 1] = b;
    this.args[at * 3 + 2] = c;
    this.dueUs[at] = due;
    this.size++;
    if (this.size === 1) this.waker.arm(due);
  }

  /** Drops what is still queued (nothing more is called) and stops the ticker thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fns.fill(undefined);
    this.args.fill(undefined);
    this.size = 0;
    await this.waker.close();
  }

  /** On a wake-up: calls everything due, in order, then arms the wake-up for the new head. */
  private readonly release = (): void => {
    if (this.onReady !== undefined) {
      this.onReady();
      this.onReady = undefined;
    }
    let now = nowUs();
    while (this.size > 0 && !this.closed) {
      const at = this.head;
      const due = this.dueUs[at] ?? 0;
      if (due > now) {
        now = nowUs(); // releasing takes time: look again before waiting for the ticker
        if (due - now > SPIN_MAX_US) {
          this.waker.arm(due);
          return;
        }
        while (now < due) now = nowUs();
      }
      const fn = this.fns[at];
      const a = this.args[at * 3];
      const b = this.args[at * 3 + 1];
      const c = this.args[at * 3 + 2];
      this.fns[at] = undefined;
      this.args[at * 3] = undefined;
      this.args[at * 3 + 1] = undefined;
      this.args[at * 3 + 2] = undefined;
      this.head = (at + 1) % this.fns.length;
      this.size--;
      try {
        fn?.(a, b, c);
      } catch (err) {
        // a response that cannot be sent must not stop the ones behind it
        this.onFailure(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };

  private grow(): void {
    const capacity = this.fns.length * 2;
    const fns = new Array<Release | undefined>(capacity).fill(undefined);
    const args = new Array<unknown>(capacity * 3).fill(undefined);
    const dueUs = new Float64Array(capacity);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % this.fns.length;
      fns[i] = this.fns[from];
      args[i * 3] = this.args[from * 3];
      args[i * 3 + 1] = this.args[from * 3 + 1];
      args[i * 3 + 2] = this.args[from * 3 + 2];
      dueUs[i] = this.dueUs[from] ?? 0;
    }
    this.fns = fns;
    this.args = args;
    this.dueUs = dueUs;
    this.head = 0;
  }
}
