import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Runs the tools under comparison as separate processes and measures every one the same way: CPU time
 * (user + system, all threads) and peak RSS from /proc/<pid>, sampled every SAMPLE_MS until the process
 * exits. The last sample is at most SAMPLE_MS old, so CPU is under-counted by at most that much of one
 * process's tail (its exit, after the load is over). Linux only: elsewhere CPU and RSS read as NaN.
 */

const SAMPLE_MS = 50;
const CLK_TCK = 100; // USER_HZ on every Linux ABI node runs on

export interface Usage {
  /** user + system CPU ms of the process (all its threads), NaN when /proc is not readable. */
  cpuMs: number;
  /** VmHWM: peak resident set, kB; NaN when /proc is not readable. */
  peakRssKb: number;
}

export interface ToolRun extends Usage {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  timedOut: boolean;
}

function readUsage(pid: number): Usage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of stat(5)
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuMs: (ticks * 1000) / CLK_TCK, peakRssKb: hwm === null ? NaN : Number(hwm[1]) };
  } catch {
    return undefined;
  }
}

/** Samples a child's usage until it exits; `last()` is the final sample (NaN before the first). */
export function sampleUsage(child: ChildProcess): { last(): Usage; stop(): void } {
  let last: Usage = { cpuMs: NaN, peakRssKb: NaN };
  const take = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const u = readUsage(child.pid);
    if (u === undefined) return;
    // An exiting process has a stat but no VmHWM any more: keep the peak seen so far.
    last = { cpuMs: Number.isNaN(u.cpuMs) ? last.cpuMs : u.cpuMs, peakRssKb: Number.isNaN(u.peakRssKb) ? last.peakRssKb : Number.isNaN(last.peakRssKb) ? u.peakRssKb : Math.max(last.peakRssKb, u.peakRssKb) };
  };
  take();
  const timer = setInterval(take, SAMPLE_MS);
  child.once('exit', () => clearInterval(timer));
  return { last: () => last, stop: () => clearInterval(timer) };
}

export interface RunOptions {
  /** Killed (SIGKILL) after this long; the run is then marked timedOut. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion, capturing stdout/stderr and its CPU and peak RSS. Never rejects on exit codes. */
export function runTool(command: string, args: readonly string[], opts: RunOptions): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
    const usage = sampleUsage(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      usage.stop();
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      usage.stop();
      resolve({ code, signal, stdout, stderr, wallMs: performance.now() - started, timedOut, ...usage.last() });
    });
  });
}

/** A long-running process (a target); `stop()` sends SIGTERM, then SIGKILL after a grace period. */
export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  /** CPU ms used so far (for the target's share of the machine). */
  cpuMs(): number;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a service and resolves once `ready(stdoutSoFar)` is true (or rejects after readyTimeoutMs or when
 * it exits first). Every service still running when the bench exits is killed.
 */
export function startService(
  name: string,
  command: string,
  args: readonly string[],
  ready: (stdout: string) => boolean | Promise<boolean>,
  readyTimeoutMs = 10_000,
): Promise<Service> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const service: Service = {
    name,
    child,
    cpuMs: () => (child.pid === undefined ? NaN : (readUsage(child.pid)?.cpuMs ?? NaN)),
    stdout: () => stdout,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + readyTimeoutMs;
    let failed = false;
    child.once('error', (err) => {
      failed = true;
      reject(err);
    });
    void exited.then(() => {
      failed = true;
      reject(new Error(`${name} exited before it was ready (code ${child.exitCode}): ${stderr.trim().slice(0, 400)}`));
    });
    const poll = async (): Promise<void> => {
      if (failed) return;
      if (await ready(stdout)) return resolve(service);
      if (Date.now() > deadline) {
        await service.stop();
        return reject(new Error(`${name} not ready within ${readyTimeoutMs} ms: ${stderr.trim().slice(0, 400)}`));
      }
      setTimeout(() => void poll(), 50);
    };
    void poll();
  });
}
