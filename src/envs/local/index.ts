import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrillEvent, LocalEnvConfig } from '../../config/schema.js';
import { MeshbenchError } from '../../errors.js';
import { distPath } from '../../paths.js';
import { QUIET_V8_FLAGS } from '../../timing/v8-flags.js';
import { BASELINE_VARIANT, MESHED_VARIANT, type Protocol, type VariantName } from '../../protocols.js';
import type { MeshExpectation } from '../../result.js';
import type { ProxySample, RunningEnv, VariantTargets } from '../env.js';
import {
  DEFAULT_MAXCONN,
  LONG_TIMEOUT,
  XFCC,
  portsNeeded,
  renderClientSidecar,
  renderServerSidecar,
  sidecarsOf,
  type SidecarPlan,
} from './haproxy-config.js';
import { HICCUPS_REQUEST, listeningOf } from '../../workloads/child.js';
import { CERT_KEY_TYPE, createPki, type PkiFiles } from './pki.js';
import { applyLocalDrill, type LocalPair } from './drills.js';
import { ChildFailed, ProcessSet, readEvent, readListening, reservePorts, unlessAborted, waitForPort, type ManagedChild } from './processes.js';

/**
 * The local environment: one echo service of ECHO_REPLICAS `meshbench echo` processes, reached directly
 * (unmeshed) and through a real HAProxy mTLS sidecar pair (meshed). Everything runs on loopback as our
 * children and lives in one private temp dir; close() (or, failing that, the process-exit guard) removes it.
 *
 * Both variants reach the same replicas — the unmeshed load spreads its connections over them, the server
 * sidecar balances the meshed requests over them — so the variants differ by the mesh path alone. With one
 * echo process per variant, the processes' own luck (one's heap, caches, a page-out stall hitting one and not
 * the other) made two identical echoes differ by 0.2–0.3 ms at P99 within a run, either way: as large as the
 * effect, and invisible to the within-run interval. Shared, it hits both variants alike.
 */

const HOST = '127.0.0.1';
const ECHO_READY_MS = 15_000;
const HICCUPS_ANSWER_MS = 5_000;
const SIDECAR_READY_MS = 10_000;
const BIND_ATTEMPTS = 3;
const BIND_SETTLE_MS = 50;
/** ssl_c_s_dn(…,rfc2253) needs 2.2, websockets over h2 to a backend 2.4. */
const MIN_HAPROXY = [2, 4] as const;
/** Echo processes behind both variants: more than one, so no variant's figures rest on one process's luck. */
const ECHO_REPLICAS = 2;

export interface LocalEnvOptions {
  /**
   * Command that starts one echo process; the env appends `--host 127.0.0.1 --http-port 0 --grpc-port 0`.
   * Default: `node dist/cli/main.js echo`.
   */
  echoCommand?: { command: string; args: readonly string[] };
}

/** What a running local env exposes beyond RunningEnv (for tests and diagnostics). */
export interface LocalEnv extends RunningEnv {
  kind: 'local';
  /** The private directory with certificates and sidecar configs (removed by close()). */
  dir: string;
  pki: PkiFiles;
  plan: SidecarPlan;
  /** All child processes (echo replicas, sidecars); their pids are gone after close(). */
  pids: () => number[];
}

interface Echo {
  child: ManagedChild;
  httpPort: number;
  grpcPort: number;
  /** The ports whose replies are held (env.plantedDelayMs): the meshed path's backends. */
  planted?: { httpPort: number; grpcPort: number };
}

/** One hop's sidecars: both, or the one env.sidecars places. */
interface Sidecars {
  client?: ManagedChild;
  server?: ManagedChild;
  plan: SidecarPlan;
  /** The ports the hop is entered by (its client sidecar's; the server sidecar's when that runs alone). */
  entry: { httpPort: number; grpcPort: number };
}

/** `haproxy -v`'s first line; MB_MISSING_DEPENDENCY when the binary cannot be run. */
export function haproxyVersion(haproxy: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(haproxy, ['-v'], { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => {
      const first = stdout.split('\n')[0]?.trim() ?? '';
      if (err === null && first !== '') {
        const [, major = 0, minor = 0] = (/version (\d+)\.(\d+)/.exec(first) ?? []).map(Number);
        if (major > MIN_HAPROXY[0] || (major === MIN_HAPROXY[0] && minor >= MIN_HAPROXY[1])) return resolve(first);
        return reject(
          new MeshbenchError(
            'MB_MISSING_DEPENDENCY',
            `"${haproxy}" is ${first || 'of an unknown version'}; the sidecar pair needs HAProxy ${MIN_HAPROXY.join('.')} or newer ` +
              '(websockets over HTTP/2 between the sidecars) — install a newer haproxy (Debian 12: apt-get install -y haproxy)',
          ),
        );
      }
      const code = (err as NodeJS.ErrnoException | null)?.code;
      const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : `failed (${err?.message ?? 'no output'})`;
      reject(
        new MeshbenchError(
          'MB_MISSING_DEPENDENCY',
          `haproxy ${why}: "${haproxy}" (env.haproxy) — the local environment runs its sidecar pair with HAProxy; ` +
            'install it: apt-get install -y haproxy (or set env.haproxy to its path)',
          { cause: err },
        ),
      );
    });
  });
}

/** `node dist/cli/main.js <command>` (echo, relay). */
function defaultCommand(command: 'echo' | 'relay'): { command: string; args: readonly string[] } {
  const cli = distPath('cli/main.js');
  if (!existsSync(cli)) {
    throw new MeshbenchError('MB_ENV_FAILED', `${cli} is missing — build meshbench first (npm run build)`);
  }
  return { command: process.execPath, args: [...QUIET_V8_FLAGS, cli, command] };
}

/** Starts one echo replica; on `ports` when given (a drill restarting it), else on ports the OS picks. */
async function startEcho(set: ProcessSet, name: string, cmd: { command: string; args: readonly string[] }, extraArgs: readonly string[] = [], ports = { httpPort: 0, grpcPort: 0 }): Promise<Echo> {
  const child = await set.spawn(name, cmd.command, [...cmd.args, '--host', HOST, '--http-port', String(ports.httpPort), '--grpc-port', String(ports.grpcPort), ...extraArgs], 'pipe', 'pipe');
  const line = listeningOf(await readListening(child, ECHO_READY_MS));
  if (line === null || (extraArgs.length > 0 && line.planted === undefined)) {
    throw new ChildFailed(child, `reported no ports${extraArgs.length > 0 ? ' (or no planted ports)' : ''}`);
  }
  const { httpPort, grpcPort, planted } = line;
  return planted === undefined ? { child, httpPort, grpcPort } : { child, httpPort, grpcPort, planted };
}

/** Asks an echo process for its hiccups since the last ask (src/workloads/child.ts answers on stdout). */
async function takeEchoHiccups(child: ManagedChild): Promise<string> {
  const answer = readEvent(child, 'hiccups', HICCUPS_ANSWER_MS, 'report its hiccups');
  child.child.stdin?.write(`${HICCUPS_REQUEST}\n`);
  const { histogram } = await answer;
  if (typeof histogram !== 'string') throw new ChildFailed(child, 'reported hiccups without a histogram');
  return histogram;
}

/** When the scenario plants a delay (env.plantedDelayMs): on a second pair of ports, which only the meshed path uses. */
function plantedDelayArgs(config: LocalEnvConfig): string[] {
  return config.plantedDelayMs > 0 ? ['--planted-delay-ms', String(config.plantedDelayMs), '--planted-ports'] : [];
}

/** The ports of a replica the meshed path reaches: the planted ones when the scenario plants a delay. */
function meshedPorts(echo: Echo): { httpPort: number; grpcPort: number } {
  return echo.planted ?? echo;
}

async function writeConfig(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}

const BIND_FAILURE = /cannot bind|Address already in use|cannot listen/i;

type Backend = SidecarPlan['echoes'][number];

/**
 * Starts one hop's sidecars toward `backends` (B then A; only those env.sidecars places) on freshly reserved
 * ports; retries with new ports when a bind lost a race. `hop` (1-based) names the files and processes of a chain.
 */
async function startSidecars(set: ProcessSet, config: LocalEnvConfig, dir: string, pki: PkiFiles, backends: readonly Backend[], hop = 1): Promise<Sidecars> {
  const prefix = config.hops > 1 ? `hop${hop}-` : '';
  for (let attempt = 1; ; attempt++) {
    const ports = await reservePorts(HOST, portsNeeded(config.sidecarMode));
    const [a1 = 0, b1 = 0, a2 = a1, b2 = b1] = ports;
    const plan: SidecarPlan = {
      mode: config.sidecarMode,
      placement: config.sidecars,
      clientPorts: { http: a1, grpc: a2 },
      serverPorts: { http: b1, grpc: b2 },
      echoes: backends,
      bindHost: HOST,
      files: pki,
      maxconn: DEFAULT_MAXCONN,
      // for hitless reloads (drills): each sidecar hands its listening sockets to its successor
      sockets: { client: join(dir, `${prefix}client-sidecar.sock`), server: join(dir, `${prefix}server-sidecar.sock`) },
    };
    const placed = sidecarsOf(plan);
    const roles = (['server', 'client'] as const).filter((role) => placed[role]);
    const started: Partial<Record<'client' | 'server', ManagedChild>> = {};
    try {
      for (const role of roles) {
        const cfg = join(dir, `${prefix}${role}-sidecar.cfg`);
        await writeConfig(cfg, role === 'client' ? renderClientSidecar(plan) : renderServerSidecar(plan));
        started[role] = await set.spawn(`${prefix}${role}-sidecar (haproxy)`, config.haproxy, ['-f', cfg], 'ignore');
      }
      const waits: Promise<void>[] = [];
      for (const role of roles) {
        const own = role === 'client' ? plan.clientPorts : plan.serverPorts;
        for (const port of new Set([own.http, own.grpc])) waits.push(waitForPort(HOST, port, started[role] as ManagedChild, SIDECAR_READY_MS));
      }
      await Promise.all(waits);
      // A port that accepts may belong to whoever won a bind race; a sidecar that lost it exits at once.
      await new Promise((r) => setTimeout(r, BIND_SETTLE_MS));
      for (const c of Object.values(started)) if (c.hasExited()) throw new ChildFailed(c, `exited (${c.exitStatus() ?? '?'}) right after starting`);
      const entry = placed.entry === 'client' ? plan.clientPorts : plan.serverPorts;
      return { ...started, plan, entry: { httpPort: entry.http, grpcPort: entry.grpc } };
    } catch (err) {
      await Promise.all(Object.values(started).map((c) => set.stop(c)));
      const lostRace = err instanceof ChildFailed && BIND_FAILURE.test(err.stderr);
      if (!lostRace || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

/**
 * A relay process (src/workloads/relay.ts) in front of hop `hop` + 1 of a chain: its first port forwards
 * straight to `direct` (the unmeshed path), its second to `meshed` (the next hop's first sidecar).
 */
async function startRelay(set: ProcessSet, hop: number, direct: readonly Backend[], meshed: Backend): Promise<{ pid: number; direct: number; meshed: number }> {
  const url = (b: Backend): string => `http://${b.host}:${b.httpPort}/`;
  const cmd = defaultCommand('relay');
  const child = await set.spawn(`relay ${hop}`, cmd.command, [...cmd.args, '--host', HOST, '--to', direct.map(url).join(','), '--to', url(meshed)], 'pipe', 'pipe');
  const ports = (await readListening(child, ECHO_READY_MS))['ports'];
  if (!Array.isArray(ports) || ports.length !== 2 || !ports.every((p) => typeof p === 'number')) throw new ChildFailed(child, 'reported no ports');
  return { pid: child.pid, direct: ports[0] as number, meshed: ports[1] as number };
}

/** The hops of a chain (one for hops: 1): each hop's sidecars and relay, started from the last hop back. */
interface Chain {
  /** Hop 1 first. */
  sidecars: Sidecars[];
  /** Where the unmeshed load enters: the echoes (one hop) or the first relay's direct port. */
  direct: readonly { httpPort: number; grpcPort: number }[];
  /** The relays, hop 1 first (none for one hop). */
  relays: { pid: number; direct: number; meshed: number }[];
}

async function startChain(set: ProcessSet, config: LocalEnvConfig, dir: string, pki: PkiFiles, echoes: readonly Echo[]): Promise<Chain> {
  const sidecars: Sidecars[] = [];
  const relays: Chain['relays'] = [];
  let meshedNext: readonly Backend[] = echoes.map((e) => ({ host: HOST, ...meshedPorts(e) }));
  let directNext: readonly Backend[] = echoes.map((e) => ({ host: HOST, httpPort: e.httpPort, grpcPort: e.grpcPort }));
  for (let hop = config.hops; hop >= 1; hop--) {
    const hopSidecars = await startSidecars(set, config, dir, pki, meshedNext, hop);
    sidecars.unshift(hopSidecars);
    if (hop === 1) break;
    const relay = await startRelay(set, hop - 1, directNext, { host: HOST, ...hopSidecars.entry });
    relays.unshift(relay);
    // A relay serves HTTP/1.1 only (the scenario refuses other protocols in a chain): no gRPC port to pass on.
    meshedNext = [{ host: HOST, httpPort: relay.meshed, grpcPort: relay.meshed }];
    directNext = [{ host: HOST, httpPort: relay.direct, grpcPort: relay.direct }];
  }
  return { sidecars, direct: directNext, relays };
}

/** Per protocol, the address of every replica (ports: what each replica listens on for that path). */
function replicaTargets(protocols: readonly Protocol[], ports: readonly { httpPort: number; grpcPort: number }[]): Pick<VariantTargets, 'targets' | 'replicas'> {
  const at = (p: Protocol, { httpPort, grpcPort }: { httpPort: number; grpcPort: number }): string =>
    p === 'http1' || p === 'http2' ? `http://${HOST}:${httpPort}/` : p === 'websocket' ? `ws://${HOST}:${httpPort}/` : `${HOST}:${grpcPort}`;
  const targets: Partial<Record<Protocol, string>> = {};
  const replicas: Partial<Record<Protocol, string[]>> = {};
  for (const p of protocols) {
    replicas[p] = ports.map((port) => at(p, port));
    targets[p] = replicas[p][0];
  }
  return ports.length > 1 ? { targets, replicas } : { targets };
}

/** What proves the meshed path: B's xfcc (both, http), a lone sidecar's `via` (http), nothing at L4. */
function meshedExpectation(plan: SidecarPlan): MeshExpectation {
  if (plan.mode === 'tcp') return { kind: 'unverified', why: 'L4 sidecars add no headers' };
  const { client, server } = sidecarsOf(plan);
  if (client && server) return { kind: 'header', header: XFCC };
  return { kind: 'header', header: 'via' };
}

function meshedTls(plan: SidecarPlan): string {
  const { client, server } = sidecarsOf(plan);
  if (!client || !server) return `none: ${plan.placement ?? 'both'} runs one sidecar per hop, in clear text on both sides`;
  return plan.mode === 'http' ? 'TLS >= 1.2, client cert required and verified both ways, ALPN h2,http/1.1' : 'TLS >= 1.2 tunnel, client cert required and verified both ways';
}

let clockTicks: number | null = null;

/** Clock ticks per second for /proc times (getconf CLK_TCK, read once; 100 when unavailable). */
function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Cumulative CPU seconds (user + system) and resident memory of a live process, from /proc. */
export async function sampleProcess(pid: number): Promise<{ cpuSeconds: number; rssBytes: number }> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based) — comm may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / clockTicksPerSecond(), rssBytes: rssKb * 1024 };
}

export async function startLocalEnv(
  config: LocalEnvConfig,
  protocols: readonly Protocol[],
  signal?: AbortSignal,
  options: LocalEnvOptions = {},
): Promise<LocalEnv> {
  const version = await unlessAborted(haproxyVersion(config.haproxy), signal, 'checking haproxy');
  const echoCmd = options.echoCommand ?? defaultCommand('echo');
  const set = new ProcessSet();
  try {
    const dir = await unlessAborted(set.makePrivateDir('meshbench-local-'), signal, 'creating the temp dir');
    const [pki, ...echoes] = await unlessAborted(
      Promise.all([
        createPki(dir),
        ...Array.from({ length: ECHO_REPLICAS }, (_, i) => startEcho(set, `echo ${i + 1}`, echoCmd, plantedDelayArgs(config))),
      ]),
      signal,
      'starting the echo servers',
    );
    const chain = await unlessAborted(startChain(set, config, dir, pki, echoes), signal, config.hops > 1 ? 'starting the chain' : 'starting the sidecar pair');
    const first = chain.sidecars[0] as Sidecars;
    const plan = first.plan;
    const proxies = chain.sidecars.flatMap((hop, i) =>
      (['client', 'server'] as const).flatMap((role) => {
        const child = hop[role];
        return child === undefined ? [] : [{ name: `${config.hops > 1 ? `hop${i + 1}-` : ''}${role}-sidecar`, role, child, ports: role === 'client' ? hop.plan.clientPorts : hop.plan.serverPorts }];
      }),
    );
    // What drills replace (sidecars, echo processes, certificates) is read from here, never from the start's values.
    // Drills disrupt a one-hop pair with both sidecars (the scenario schema refuses them on other topologies).
    const pair: LocalPair | undefined =
      config.hops === 1 && first.client !== undefined && first.server !== undefined
        ? {
            set, config, dir, plan, pki, rotations: 0,
            sidecars: { client: first.client, server: first.server },
            echoes,
            restartEcho: async (index) => {
              const echo = echoes[index];
              if (echo === undefined) throw new MeshbenchError('MB_ENV_FAILED', `no echo replica ${index + 1}`);
              return (await startEcho(set, echo.child.name, echoCmd, [], echo)).child;
            },
          }
        : undefined;
    const variants: VariantTargets[] = [
      { name: BASELINE_VARIANT, ...replicaTargets(protocols, chain.direct), expect: { kind: 'none' } },
      {
        name: MESHED_VARIANT,
        ...replicaTargets(protocols, [(chain.sidecars[0] as Sidecars).entry]),
        expect: meshedExpectation(plan),
        direct: replicaTargets(protocols, config.hops > 1 ? chain.direct : echoes.map(meshedPorts)),
      },
    ];
    const facts: Record<string, unknown> = {
      haproxy: version, // the `haproxy -v` line
      nodeVersion: process.version,
      sidecarMode: plan.mode,
      certKeyType: CERT_KEY_TYPE,
      procClockTicks: clockTicksPerSecond(), // read here, not on the first sample between rounds
      mtls: meshedTls(plan),
      sidecar: { nbthread: 1, maxconn: plan.maxconn, timeoutTunnel: LONG_TIMEOUT, logging: 'off' },
      // one service of several replicas, behind both variants
      echoes: echoes.map((e) => ({ pid: e.child.pid, httpPort: e.httpPort, grpcPort: e.grpcPort, ...(e.planted === undefined ? {} : { planted: e.planted }) })),
      sidecars: Object.fromEntries(proxies.map((p) => [config.hops > 1 ? p.name : p.role, { pid: p.child.pid, ports: p.ports }])),
      // the call chain (report: per-hop overhead) and which sides of each hop run a sidecar
      hops: config.hops,
      sidecarPlacement: config.sidecars,
      ...(chain.relays.length > 0 ? { relays: chain.relays.map((r) => ({ pid: r.pid, ports: { direct: r.direct, meshed: r.meshed } })) } : {}),
    };
    // HAProxy's startup warnings (e.g. an FD limit too low for maxconn) belong with the results.
    const warnings = proxies.flatMap((p) => p.child.stderrTail().split('\n').filter((l) => l.includes('[WARNING]')));
    if (warnings.length > 0) facts['sidecarWarnings'] = warnings;
    // a calibration run: every response on the meshed path is held this long (report.md says so loudly)
    if (config.plantedDelayMs > 0) facts['plantedDelayMs'] = config.plantedDelayMs;
    const sampleProxies = async (variant: VariantName): Promise<ProxySample[]> => {
      if (variant !== MESHED_VARIANT) return [];
      return Promise.all(
        proxies.map(async ({ name, role, child: started }) => {
          const child = pair?.sidecars[role] ?? started; // a drill may have replaced it
          try {
            return { name, ...(await sampleProcess(child.pid)) };
          } catch (err) {
            throw new MeshbenchError('MB_ENV_FAILED', `${child.name} is gone (${child.exitStatus() ?? 'no /proc entry'}): ${child.stderrTail().trim()}`, { cause: err });
          }
        }),
      );
    };
    const takeHiccups = async (): Promise<Record<string, string>> =>
      Object.fromEntries(await Promise.all(echoes.map(async (e) => [e.child.name, await takeEchoHiccups(e.child)] as const)));
    const env: LocalEnv = { kind: 'local', facts, variants, sampleProxies, takeHiccups, close: () => set.close(), dir, pki, plan, pids: () => set.pids() };
    if (pair !== undefined) env.drill = (event: DrillEvent, signal: AbortSignal | undefined) => applyLocalDrill(pair, event, signal);
    return env;
  } catch (err) {
    await set.close();
    throw err;
  }
}
