import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import type { DrillEvent, LocalEnvConfig } from '../../config/schema.js';
import { MeshbenchError } from '../../errors.js';
import type { DrillOutcome } from '../env.js';
import { renderClientSidecar, renderServerSidecar, type SidecarPlan } from './haproxy-config.js';
import { rotatePki, type PkiFiles } from './pki.js';
import { ChildFailed, waitForPort, type ManagedChild, type ProcessSet } from './processes.js';

/**
 * The local env's drills (src/drills/ decides when; this does what): each acts on the live pair — the
 * sidecars and echo replicas of `LocalPair`, which it replaces in place — and resolves when the action is over.
 */

export type SidecarRole = 'client' | 'server';

/** The running pair as the drills see it; `sidecars`, `echoes`, `plan` and `pki` change as drills replace them. */
export interface LocalPair {
  set: ProcessSet;
  config: LocalEnvConfig;
  dir: string;
  plan: SidecarPlan;
  pki: PkiFiles;
  sidecars: Record<SidecarRole, ManagedChild>;
  echoes: { child: ManagedChild; httpPort: number; grpcPort: number }[];
  /** Starts echo replica `index` again on its ports (the env's own start: same command, same readiness check). */
  restartEcho(index: number): Promise<ManagedChild>;
  /** Rotations so far (names the files of the next one). */
  rotations: number;
}

const HOST = '127.0.0.1';
const SIDECAR_READY_MS = 10_000;
/** A rotation waits this long at most for the processes of its first stage to drain (hard-stop-after ends them by then). */
const DRAIN_WAIT_MS = 6_000;
/** A new process that lost its bind or read a bad config exits within this long. */
const SETTLE_MS = 100;

const ROLES: Record<'client' | 'server' | 'both', SidecarRole[]> = { client: ['client'], server: ['server'], both: ['server', 'client'] };

export async function applyLocalDrill(pair: LocalPair, event: DrillEvent, signal: AbortSignal | undefined): Promise<DrillOutcome> {
  const startedAtMs = Date.now();
  const done = (detail: string, facts: Record<string, unknown>): DrillOutcome => ({ startedAtMs, finishedAtMs: Date.now(), detail, facts });
  switch (event.action) {
    case 'restart-sidecars': {
      const steps = [];
      for (const role of ROLES[event.sidecar]) steps.push(await (event.mode === 'hitless' ? reloadSidecar(pair, role) : hardRestartSidecar(pair, role)));
      const how = event.mode === 'hitless' ? 'hitless reload (haproxy -x <admin socket> -sf <old pid>)' : 'hard restart (SIGTERM, then a new process)';
      return done(`${how} of ${steps.map(describeStep).join(' and ')}`, { mode: event.mode, sidecars: stepFacts(steps) });
    }
    case 'rotate-certs': {
      pair.rotations += 1;
      const { trust, leaves } = await rotatePki(pair.dir, pair.pki, pair.rotations + 1);
      const steps: SidecarStep[] = [];
      for (const files of [trust, leaves]) {
        await writeConfigs(pair, files);
        const stage = [];
        for (const role of ROLES.both) stage.push(await reloadSidecar(pair, role));
        // An old process still trusting only the old CA must be gone before any sidecar presents a new leaf.
        if (files === trust) {
          await Promise.all(stage.map(async (s) => {
            s.drainMs = await Promise.race([s.drained ?? Promise.resolve(0), sleep(DRAIN_WAIT_MS).then(() => null)]);
          }));
        }
        steps.push(...stage);
      }
      pair.pki = leaves;
      return done(`new CA "${leaves.ca.subject}": trust bundle, then new leaves, each a hitless reload of both sidecars (${steps.map(describeStep).join(', ')})`, {
        caSubject: leaves.ca.subject, serverCertSha256: leaves.server.sha256, clientCertSha256: leaves.client.sha256, sidecars: stepFacts(steps),
      });
    }
    case 'kill-echo': {
      const index = event.replica - 1;
      const echo = pair.echoes[index];
      if (echo === undefined) throw new MeshbenchError('MB_ENV_FAILED', `kill-echo: there is no echo replica ${event.replica} (the local env runs ${pair.echoes.length})`);
      const old = echo.child;
      old.child.kill('SIGKILL');
      await old.exited;
      if (event.restartDelayMs > 0) await sleep(event.restartDelayMs, undefined, signal === undefined ? {} : { signal });
      const child = await pair.restartEcho(index);
      echo.child = child;
      return done(`SIGKILL of ${old.name} (pid ${old.pid}), started again on ports ${echo.httpPort}/${echo.grpcPort} as pid ${child.pid}`, {
        replica: event.replica, oldPid: old.pid, newPid: child.pid, listeningAfterMs: Date.now() - startedAtMs,
      });
    }
    case 'sidecar-pause': {
      const children = ROLES[event.sidecar].map((role) => pair.sidecars[role]);
      for (const c of children) c.child.kill('SIGSTOP');
      try {
        await sleep(event.pauseMs);
      } finally {
        // Always resumed, also when the run is being aborted: a stopped process ignores SIGTERM until continued.
        for (const c of children) c.child.kill('SIGCONT');
      }
      return done(`SIGSTOP of ${children.map((c) => `${c.name} (pid ${c.pid})`).join(' and ')} for ${event.pauseMs} ms, then SIGCONT`, {
        pids: children.map((c) => c.pid), pauseMs: event.pauseMs,
      });
    }
  }
}

interface SidecarStep {
  role: SidecarRole;
  oldPid: number;
  newPid: number;
  /** Hitless: how long the old process went on serving its connections, once it has exited. */
  drained?: Promise<number>;
  /** Rotation, first stage: that time, waited for (null: still serving after DRAIN_WAIT_MS). */
  drainMs?: number | null;
}

function describeStep(s: SidecarStep): string {
  return `${s.role}-sidecar ${s.oldPid} → ${s.newPid}`;
}

/** The steps as result facts. */
function stepFacts(steps: readonly SidecarStep[]): object[] {
  return steps.map(({ role, oldPid, newPid, drainMs }) => ({ role, oldPid, newPid, ...(drainMs === undefined ? {} : { drainMs }) }));
}

function configPath(pair: LocalPair, role: SidecarRole): string {
  return join(pair.dir, `${role}-sidecar.cfg`);
}

/** The configs of the pair with new certificate files (the ports and echoes stay). */
async function writeConfigs(pair: LocalPair, files: PkiFiles): Promise<void> {
  pair.plan = { ...pair.plan, files };
  await Promise.all([
    writeFile(configPath(pair, 'client'), renderClientSidecar(pair.plan), { mode: 0o600 }),
    writeFile(configPath(pair, 'server'), renderServerSidecar(pair.plan), { mode: 0o600 }),
  ]);
}

function spawnSidecar(pair: LocalPair, role: SidecarRole, extra: readonly string[]): Promise<ManagedChild> {
  return pair.set.spawn(`${role}-sidecar (haproxy)`, pair.config.haproxy, ['-f', configPath(pair, role), ...extra], 'ignore');
}

/**
 * HAProxy's hitless reload: a new process on the same config takes the old one's listening sockets over its admin
 * socket (-x; `expose-fd listeners`), then tells it (-sf) to stop and finish what it serves — idle keep-alive
 * connections are closed, h2 connections get a GOAWAY. No listening socket is ever closed, so no connection is
 * refused. Over when the new process answers on the admin socket; the old one drains meanwhile — at most
 * DRAIN_AFTER_RELOAD, then it cuts what it still serves (long-lived streams).
 */
async function reloadSidecar(pair: LocalPair, role: SidecarRole): Promise<SidecarStep> {
  const old = pair.sidecars[role];
  const socket = pair.plan.sockets?.[role];
  const next = await spawnSidecar(pair, role, [...(socket === undefined ? [] : ['-x', socket]), '-sf', String(old.pid)]);
  const startMs = Date.now();
  if (socket !== undefined) await waitForAdmin(socket, next);
  await sleep(SETTLE_MS);
  if (next.hasExited()) throw new ChildFailed(next, `exited (${next.exitStatus() ?? '?'}) during a hitless reload`);
  pair.sidecars[role] = next;
  return { role, oldPid: old.pid, newPid: next.pid, drained: old.exited.then(() => Date.now() - startMs) };
}

/** Polls the admin socket until the process answering `show info` is `child` (it has its listeners); bounded. */
async function waitForAdmin(socket: string, child: ManagedChild): Promise<void> {
  const deadline = Date.now() + SIDECAR_READY_MS;
  for (;;) {
    if (child.hasExited()) throw new ChildFailed(child, `exited (${child.exitStatus() ?? '?'}) before taking over the listening sockets`);
    const info = await adminCommand(socket, 'show info').catch(() => '');
    if (new RegExp(`^Pid: ${child.pid}$`, 'm').test(info)) return;
    if (Date.now() > deadline) throw new ChildFailed(child, `did not answer on ${socket} within ${SIDECAR_READY_MS} ms`);
    await sleep(20);
  }
}

function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = connect(socket, () => c.end(`${command}\n`));
    c.setEncoding('utf8');
    c.setTimeout(1000, () => c.destroy(new Error('admin socket timeout')));
    c.on('data', (d: string) => (out += d));
    c.on('error', reject);
    c.on('close', () => resolve(out));
  });
}

/** A hard restart: SIGTERM (HAProxy stops at once, cutting every connection), then a new process on the same ports. */
async function hardRestartSidecar(pair: LocalPair, role: SidecarRole): Promise<SidecarStep> {
  const old = pair.sidecars[role];
  await pair.set.stop(old);
  const next = await spawnSidecar(pair, role, []);
  const ports = role === 'client' ? pair.plan.clientPorts : pair.plan.serverPorts;
  await Promise.all([...new Set([ports.http, ports.grpc])].map((port) => waitForPort(HOST, port, next, SIDECAR_READY_MS)));
  await sleep(SETTLE_MS);
  if (next.hasExited()) throw new ChildFailed(next, `exited (${next.exitStatus() ?? '?'}) right after a hard restart`);
  pair.sidecars[role] = next;
  return { role, oldPid: old.pid, newPid: next.pid };
}
