/**
 * Coded errors. Every error meshbench raises on purpose is a MeshbenchError with a stable code and a
 * message that says what to fix. The CLI maps the code's class to an exit code; nothing else exits.
 */
export type ErrorCode =
  | 'MB_BAD_SCENARIO' // scenario file invalid: fields, types, ranges
  | 'MB_BAD_ARGUMENT' // CLI argument invalid
  | 'MB_UNREACHABLE_TARGET' // a static target does not answer
  | 'MB_MISSING_DEPENDENCY' // e.g. haproxy not installed
  | 'MB_MESH_UNPROVEN' // the meshed path could not be proven meshed (or unmeshed path shows mesh headers)
  | 'MB_ENV_FAILED' // an environment could not start
  | 'MB_LOAD_FAILED' // the generator broke (not: the target returned errors)
  | 'MB_INTERRUPTED' // SIGINT / SIGTERM
  | 'MB_INCOMPATIBLE_RESULTS' // `compare`: not results, other schema versions, other scenarios or load
  | 'MB_WRITE_FAILED'; // a report could not be written (e.g. the disk filled during the run)

export const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set([
  'MB_BAD_SCENARIO',
  'MB_BAD_ARGUMENT',
  'MB_UNREACHABLE_TARGET',
  'MB_INCOMPATIBLE_RESULTS',
]);

export class MeshbenchError extends Error {
  readonly code: ErrorCode;
  /** One line per problem, for errors that collect several (e.g. scenario validation). */
  readonly problems: readonly string[];

  constructor(code: ErrorCode, message: string, options?: { problems?: readonly string[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshbenchError';
    this.code = code;
    this.problems = options?.problems ?? [];
  }
}

export function isMeshbenchError(err: unknown): err is MeshbenchError {
  return err instanceof MeshbenchError;
}

/** The text of anything thrown: an Error's message, else its string form. (The CLI's describeError adds code and stack.) */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error every stage throws when its AbortSignal fired (Ctrl-C, SIGTERM) while it was doing `what`. */
export function interrupted(what: string): MeshbenchError {
  return new MeshbenchError('MB_INTERRUPTED', `interrupted while ${what}`);
}
