import type { Toolbox } from './tools.js';

/** What every section gets: the run's shape and where to say what it is doing. */
export interface BenchContext {
  quick: boolean;
  /** Repetitions of each throughput comparison (medians are reported). */
  reps: number;
  /** Seconds of each closed-loop throughput run. */
  durationS: number;
  tools: Toolbox;
  cores: number;
  log(message: string): void;
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Runs `rounds` repetitions of every entry, interleaved (A B C, B C A, C A B …) so drift hits all equally. */
export async function interleaved<T extends { name: string }, R>(entries: readonly T[], rounds: number, run: (entry: T, round: number) => Promise<R>): Promise<Map<string, R[]>> {
  const out = new Map<string, R[]>(entries.map((e) => [e.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(i + r) % entries.length] as T;
      out.get(entry.name)?.push(await run(entry, r));
    }
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
