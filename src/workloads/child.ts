import { createInterface } from 'node:readline';
import { HiccupMeter } from '../meters/hiccup.js';
import { startEchoServers, type EchoServerOptions } from './index.js';

/**
 * `meshbench echo`: the echo servers as a process of their own (local environment, container entrypoint).
 *
 * Contract with whoever spawns it: once both servers listen, exactly one line goes to stdout,
 *   {"event":"listening","host":"127.0.0.1","httpPort":41234,"grpcPort":41235}
 * (keys in that order, no spaces; with planted ports, `"planted":{"httpPort":…,"grpcPort":…}` follows). SIGTERM or SIGINT closes the servers; the process then exits by itself
 * (the CLI returns; nothing here calls process.exit).
 *
 * The process runs a hiccup meter (meters/hiccup.ts) on its event loop. Each line `hiccups` on the control
 * stream (the CLI: stdin, when it is a pipe) is answered on stdout with the hiccups since the previous ask:
 *   {"event":"hiccups","histogram":"<compressed base64, µs>"}
 */

/** The line that asks an echo process for its hiccups. */
export const HICCUPS_REQUEST = 'hiccups';

export interface EchoListening {
  event: 'listening';
  host: string;
  httpPort: number;
  grpcPort: number;
  /** The ports whose replies are held (`--planted-ports`). */
  planted?: { httpPort: number; grpcPort: number };
}

export interface EchoProcessOptions extends EchoServerOptions {
  /** Where `hiccups` requests come from (the CLI: stdin when it is a pipe); none: the meter is not read. */
  control?: NodeJS.ReadableStream;
  /** Also stops the servers when aborted (for embedding and tests; the process itself stops on signals). */
  signal?: AbortSignal;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** The listening line, without its trailing newline. */
export function formatListeningLine(listening: Omit<EchoListening, 'event'>): string {
  const line: EchoListening = {
    event: 'listening',
    host: listening.host,
    httpPort: listening.httpPort,
    grpcPort: listening.grpcPort,
  };
  if (listening.planted !== undefined) line.planted = { httpPort: listening.planted.httpPort, grpcPort: listening.planted.grpcPort };
  return JSON.stringify(line);
}

/** Reads a line of the echo process's stdout: the listening event, or null for anything else. */
export function parseListeningLine(line: string): EchoListening | null {
  try {
    return listeningOf(JSON.parse(line));
  } catch {
    return null;
  }
}

/** The listening event from a parsed stdout line, or null when it is not one (or its ports are not ports). */
export function listeningOf(value: unknown): EchoListening | null {
  if (typeof value !== 'object' || value === null) return null;
  const { event, host, httpPort, grpcPort, planted } = value as Record<string, unknown>;
  if (event !== 'listening' || typeof host !== 'string') return null;
  if (!isPort(httpPort) || !isPort(grpcPort)) return null;
  if (planted === undefined) return { event, host, httpPort, grpcPort };
  const ports = (typeof planted === 'object' && planted !== null ? planted : {}) as Record<string, unknown>;
  if (!isPort(ports['httpPort']) || !isPort(ports['grpcPort'])) return null;
  return { event, host, httpPort, grpcPort, planted: { httpPort: ports['httpPort'], grpcPort: ports['grpcPort'] } };
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536;
}

/**
 * Starts the echo servers, hands `write` the listening line (without a newline: `write` adds one, as
 * console.log does; the default writes line + "\n" to stdout), and resolves once SIGTERM, SIGINT or
 * `opts.signal` has stopped them. Rejects (MeshbenchError MB_ENV_FAILED) when a server cannot listen.
 */
export async function runEchoProcess(
  opts: EchoProcessOptions = {},
  write: (line: string) => void = (line) => void process.stdout.write(line + '\n'),
): Promise<void> {
  const signal = opts.signal;
  if (signal?.aborted === true) return;
  const servers = await startEchoServers({ host: opts.host, httpPort: opts.httpPort, grpcPort: opts.grpcPort, plantedDelayUs: opts.plantedDelayUs, plantedPorts: opts.plantedPorts });
  const meter = new HiccupMeter().start();
  const answer = (line: string): void => {
    if (line.trim() === HICCUPS_REQUEST) write(JSON.stringify({ event: 'hiccups', histogram: meter.take() }));
  };
  const input = opts.control === undefined ? undefined : createInterface({ input: opts.control, terminal: false });
  input?.on('line', answer);
  let onStop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    onStop = resolve;
  });
  for (const name of STOP_SIGNALS) process.once(name, onStop);
  signal?.addEventListener('abort', onStop, { once: true });
  try {
    // The signal may have been aborted while the servers started (its listener was not yet there).
    if (!isAborted(signal)) {
      write(formatListeningLine(servers));
      await stopped;
    }
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, onStop);
    signal?.removeEventListener('abort', onStop);
    input?.close();
    await Promise.all([servers.close(), meter.close()]);
  }
}
