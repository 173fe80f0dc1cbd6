import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { MeshbenchError } from '../errors.js';
import { formatIssues } from './load.js';

/**
 * A file of requests (`--requests FILE`, YAML or JSON): a list of HTTP/1.1 requests sent to the target's origin
 * in proportion to their weights. Paths, not URLs, so the same file drives both sides of `meshbench ab`.
 */
export const requestsFileSchema = z
  .array(
    z.strictObject({
      /** Path and query, e.g. /api/items?page=2. */
      path: z.string().startsWith('/'),
      method: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP method, e.g. GET').default('GET'),
      headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name (token characters only)'), z.string()).default({}),
      /** The body as text (UTF-8). */
      body: z.string().optional(),
      /** The body from a file, relative to the requests file. */
      bodyFile: z.string().min(1).optional(),
      weight: z.int().min(1).max(10_000).default(1),
    }).refine((r) => r.body === undefined || r.bodyFile === undefined, { message: 'body and bodyFile exclude each other' }),
  )
  .min(1, 'list at least one request');

/** One request read from a requests file, with its body loaded (the drivers' RequestMix). */
export interface LoadedRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  weight: number;
}

/** Reads a body file, or MB_BAD_ARGUMENT naming `what` (the flag or field) and the file. */
export function readBodyFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `${what} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and validates a requests file; MB_BAD_ARGUMENT lists every problem with its place in the file. */
export function loadRequestsFile(path: string): LoadedRequest[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--requests ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `--requests ${path}: not valid YAML or JSON (${doc.errors[0]?.message.split('\n')[0] ?? ''})`);
  const parsed = requestsFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues);
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--requests ${path}: ${problems.join('; ')} (expected a list of { path, method, headers, body | bodyFile, weight })`, { problems });
  }
  return parsed.data.map((r) => {
    const out: LoadedRequest = { path: r.path, method: r.method.toUpperCase(), headers: r.headers, weight: r.weight };
    if (r.body !== undefined) out.body = Buffer.from(r.body, 'utf8');
    if (r.bodyFile !== undefined) out.body = readBodyFile(resolve(dirname(path), r.bodyFile), `--requests ${path}: bodyFile`);
    return out;
  });
}
