import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interrupted, MeshbenchError } from '../../errors.js';

/**
 * Child processes and private files of one local environment, with one owner of their lifetime.
 *
 * Children are spawned without `detached`, so they share our process group and a terminal Ctrl-C reaches
 * them too. Three last resorts cover the paths where close() is never called:
 *  - process 'exit': SIGKILL every live child and rmSync the directories, synchronously;
 *  - SIGINT/SIGTERM/SIGHUP sent to the parent alone while nobody else listens for it (the CLI does, and calls
 *    close()): the same synchronous cleanup, then the signal is re-raised so the default action still happens;
 *  - the parent killed outright (SIGKILL, OOM): a watchdog child holds a pipe from us; when it reads EOF it
 *    SIGKILLs the children it was told about and removes the directory.
 */

const STDERR_TAIL_BYTES = 8192;
// A program of its own (node -e), so its process.exit ends the watchdog, never the harness.
const WATCHDOG_SCRIPT = `
const pids = new Set(); let dir = '';
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d; let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    if (line === 'done') process.exit(0);
    if (line.startsWith('+')) pids.add(Number(line.slice(1)));
    else if (line.startsWith('-')) pids.delete(Number(line.slice(1)));
    else if (line.startsWith('dir ')) dir = line.slice(4);
  }
});
process.stdin.on('end', () => {
  for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch {} }
  if (dir) { try { require('fs').rmSync(dir, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});
process.on('SIGINT', () => {}); // a terminal Ctrl-C must not take the watchdog down before the parent decides
`;

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<void>;
  hasExited(): boolean;
  /** The exit status as text, e.g. "code 1" or "signal SIGKILL"; null while running. */
  exitStatus(): string | null;
  /** The last few KiB of its stderr. */
  stderrTail(): string;
}

const liveSets = new Set<ProcessSet>();
const GUARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(): void {
  for (const set of liveSets) set.killSync();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // someone else (the CLI) handles it and will call close()
  onExit();
  uninstallGuard();
  process.kill(process.pid, signal);
}

function installGuard(): void {
  if (liveSets.size !== 1) return;
  process.on('exit', onExit);
  for (const s of GUARDED_SIGNALS) process.on(s, onSignal);
}

function uninstallGuard(): void {
  process.off('exit', onExit);
  for (const s of GUARDED_SIGNALS) process.off(s, onSignal);
}

export class ProcessSet {
  private readonly children: ManagedChild[] = [];
  private readonly dirs: string[] = [];
  private watchdog: ChildProcess | null = null;
  private closing: Promise<void> | null = null;

  /** Creates a private directory (0700) under the OS temp dir, removed on close. */
  async makePrivateDir(prefix: string): Promise<string> {
    this.refuseWhenClosing(`create ${prefix}*`);
    this.register();
    const dir = await mkdtemp(join(tmpdir(), prefix));
    if (this.closing !== null) {
      // close() ran while mkdtemp was in flight and could not see this dir.
      await rm(dir, { recursive: true, force: true });
      this.refuseWhenClosing(`create ${prefix}*`);
    }
    this.dirs.push(dir);
    this.tellWatchdog(`dir ${dir}`);
    return dir;
  }

  /**
   * Starts a child and resolves once it runs. A missing executable rejects with the spawn error
   * (code ENOENT) so callers can turn it into MB_MISSING_DEPENDENCY. A piped stdout must be read (see
   * readListening), or the child blocks once the pipe is full.
   */
  async spawn(name: string, command: string, args: readonly string[], stdout: 'pipe' | 'ignore' = 'pipe', stdin: 'pipe' | 'ignore' = 'ignore'): Promise<ManagedChild> {
    this.refuseWhenClosing(`start ${name}`);
    this.register();
    const child = spawn(command, args, { stdio: [stdin, stdout, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL_BYTES);
    });
    let status: string | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        status = signal === null ? `code ${code ?? '?'}` : `signal ${signal}`;
        if (child.pid !== undefined) this.tellWatchdog(`-${child.pid}`);
        resolve();
      });
    });
    const pid = child.pid;
    if (pid === undefined) {
      // The executable could not be started (ENOENT, EACCES …): Node reports it on the next tick.
      throw await new Promise<Error>((resolve) => child.once('error', resolve));
    }
    child.on('error', () => undefined); // e.g. kill() on an exited child; exit status is what matters
    const managed: ManagedChild = {
      name,
      pid,
      child,
      exited,
      hasExited: () => status !== null,
      exitStatus: () => status,
      stderrTail: () => stderr,
    };
    // Registered before any await, so a close() racing with startup always sees it.
    this.children.push(managed);
    this.tellWatchdog(`+${pid}`);
    return managed;
  }

  /** Stops one child (SIGTERM, SIGKILL after `graceMs`) and waits for its exit. */
  stop(child: ManagedChild, graceMs = 2000): Promise<void> {
    return stopChild(child, graceMs);
  }

  /** Pids of every child this set started (running or not). */
  pids(): number[] {
    return this.children.map((c) => c.pid);
  }

  /** SIGTERM every child, SIGKILL after `graceMs`, wait for all exits, remove the directories. Idempotent. */
  close(graceMs = 2000): Promise<void> {
    this.closing ??= this.doClose(graceMs);
    return this.closing;
  }

  private async doClose(graceMs: number): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c, graceMs)));
    await Promise.all(this.dirs.map((d) => rm(d, { recursive: true, force: true })));
    const wd = this.watchdog;
    if (wd !== null && wd.pid !== undefined && wd.exitCode === null && wd.signalCode === null) {
      const gone = new Promise<void>((resolve) => wd.once('exit', () => resolve()));
      wd.stdin?.end('done\n');
      const timer = setTimeout(() => wd.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    }
    liveSets.delete(this);
    if (liveSets.size === 0) uninstallGuard();
  }

  /** Synchronous last resort (process 'exit' and unhandled signals). */
  killSync(): void {
    for (const c of this.children) {
      if (!c.hasExited()) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }

  private refuseWhenClosing(what: string): void {
    if (this.closing !== null) throw new MeshbenchError('MB_ENV_FAILED', `cannot ${what}: the environment is closing`);
  }

  private register(): void {
    if (liveSets.has(this)) return;
    liveSets.add(this);
    installGuard();
    const wd = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
    wd.on('error', () => undefined); // the watchdog is a last resort; its absence must not fail the run
    wd.stdin?.on('error', () => undefined);
    this.watchdog = wd;
  }

  private tellWatchdog(line: string): void {
    const stdin = this.watchdog?.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(line + '\n');
  }
}

async function stopChild(c: ManagedChild, graceMs: number): Promise<void> {
  if (c.hasExited()) return;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}

/** Rejects with MB_INTERRUPTED once `signal` aborts; resolves/rejects with `promise` otherwise. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(interrupted(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interrupted(what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * `count` distinct free loopback ports, found by binding port 0 and closing again. Another process may take
 * one before the caller binds it; callers retry with fresh ports when a bind fails.
 */
export async function reservePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls until `port` accepts a connection; fails early when `child` exits, or after `timeoutMs`. */
export async function waitForPort(host: string, port: number, child: ManagedChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.hasExited()) throw new ChildFailed(child, `exited (${child.exitStatus() ?? '?'}) before listening on ${host}:${port}`);
    if (await tryConnect(host, port)) return;
    if (Date.now() > deadline) throw new ChildFailed(child, `did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A child that failed to start; the message carries its stderr. */
export class ChildFailed extends MeshbenchError {
  readonly stderr: string;
  constructor(child: ManagedChild, what: string) {
    const stderr = child.stderrTail().trim();
    super('MB_ENV_FAILED', `${child.name} (pid ${child.pid}) ${what}` + (stderr ? `; its stderr:\n${stderr}` : '; it wrote nothing to stderr'));
    this.stderr = stderr;
  }
}

/** Reads stdout lines until one parses as JSON with `"event":"listening"`, within `timeoutMs`. */
export function readListening(child: ManagedChild, timeoutMs: number): Promise<Record<string, unknown>> {
  return readEvent(child, 'listening', timeoutMs, 'report its ports');
}

/**
 * The next JSON line `{"event":"<event>",…}` the child writes to stdout (other lines are skipped); rejects
 * with ChildFailed when it exits first or does not write one within `timeoutMs` (`what` says what it failed to do).
 */
export function readEvent(child: ManagedChild, event: string, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
  const stdout = child.child.stdout;
  if (stdout === null) return Promise.reject(new ChildFailed(child, 'has no stdout'));
  stdout.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err: Error | null, value?: Record<string, unknown>): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.child.off('exit', onExitEarly);
      stdout.resume(); // keep draining so a chatty child never blocks on a full pipe
      if (err) reject(err);
      else if (value) resolve(value);
    };
    const onData = (d: string): void => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        const parsed = parseJsonObject(line);
        if (parsed?.['event'] === event) return finish(null, parsed);
      }
    };
    const onExitEarly = (): void => finish(new ChildFailed(child, `exited (${child.exitStatus() ?? '?'}) before it could ${what}`));
    const timer = setTimeout(() => finish(new ChildFailed(child, `did not ${what} within ${timeoutMs} ms`)), timeoutMs);
    stdout.on('data', onData);
    child.child.once('exit', onExitEarly);
    if (child.hasExited()) onExitEarly();
  });
}

function parseJsonObject(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
