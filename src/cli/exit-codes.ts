import { BAD_INPUT_CODES, isMeshbenchError } from '../errors.js';
import type { VerdictStatus } from '../result.js';

/** 0 pass · 1 budget failed · 2 inconclusive / invalid run · 3 bad input · 4 runtime error. */
export const EXIT = { pass: 0, fail: 1, inconclusive: 2, badInput: 3, runtime: 4 } as const;

export function exitCodeForVerdict(status: VerdictStatus): number {
  return EXIT[status];
}

export function exitCodeForError(err: unknown): number {
  if (isMeshbenchError(err)) {
    if (BAD_INPUT_CODES.has(err.code)) return EXIT.badInput;
    if (err.code === 'MB_MESH_UNPROVEN' || err.code === 'MB_INTERRUPTED') return EXIT.inconclusive;
  }
  return EXIT.runtime;
}

/** What a person sees for an error: the message, one line per problem, no stack for expected errors. */
export function describeError(err: unknown): string {
  if (isMeshbenchError(err)) {
    const lines = [`meshbench: ${err.message} [${err.code}]`, ...err.problems.map((p) => `  - ${p}`)];
    return lines.join('\n');
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return `meshbench: unexpected error: ${e.stack ?? e.message}`;
}
