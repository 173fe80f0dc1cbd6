import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshbenchError } from '../errors.js';
import { RESULT_SCHEMA_VERSION, type ResultDocument } from '../result.js';
import { parseComparisonDocument, parseResultDocument } from './result-schema.js';
import { COMPARISON_KIND, type ComparisonDocument } from '../verdict/compare.js';

/**
 * What a stored path holds, told from the document itself: a run's result.json or a comparison.json, or a
 * folder holding one of them. A new kind of stored result (a pilot's folder, a sweep) is one more case here
 * and in `meshbench report`'s dispatch.
 */
export type Stored =
  | { kind: 'run'; path: string; doc: ResultDocument }
  | { kind: 'comparison'; path: string; doc: ComparisonDocument };

/** The file names a folder is searched for, in this order. */
const DOCUMENT_FILES = ['result.json', 'comparison.json'];

export async function readStored(arg: string): Promise<Stored> {
  const { path, text } = await readDocumentText(arg);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: not JSON — give a result.json written by \`meshbench run\``);
  }
  const d = parsed as { tool?: { name?: unknown }; schemaVersion?: unknown; kind?: unknown } | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d) || typeof d.tool !== 'object' || d.tool?.name !== 'meshbench') {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: not a meshbench result document (no tool) — give a result.json written by \`meshbench run\``);
  }
  if (d.schemaVersion !== RESULT_SCHEMA_VERSION) {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: result schema version ${JSON.stringify(d.schemaVersion) ?? 'missing'}; this meshbench reads version ${RESULT_SCHEMA_VERSION}`);
  }
  const comparison = d.kind === COMPARISON_KIND;
  const checked = comparison ? parseComparisonDocument(parsed) : parseResultDocument(parsed);
  if (!checked.ok) {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${path}: not a valid ${comparison ? 'comparison.json' : 'result.json'} (${checked.problem}) — was it edited or cut short?`);
  }
  return comparison ? { kind: 'comparison', path, doc: checked.doc as ComparisonDocument } : { kind: 'run', path, doc: checked.doc as ResultDocument };
}

/**
 * Reads a run's result.json (or a folder holding one), or a part of a pilot — `DIR@day2`, `DIR@windows:10-20` —
 * as the result document of those windows; anything else is bad input (exit 3) naming the file.
 */
export async function readResult(arg: string): Promise<{ path: string; doc: ResultDocument }> {
  const at = arg.lastIndexOf('@');
  if (at > 0) {
    const { isPilotDir, readPilot } = await import('../pilot/store.js');
    if (await isPilotDir(arg.slice(0, at))) {
      const { resultFromWindows, selectWindows } = await import('../pilot/documents.js');
      const { meta, records } = await readPilot(arg.slice(0, at));
      const selector = arg.slice(at + 1);
      return { path: arg, doc: resultFromWindows(meta, records, selectWindows(meta, records, selector), selector) };
    }
  }
  const stored = await readStored(arg);
  if (stored.kind !== 'run') throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${stored.path} is a ${stored.kind}, not a run result`);
  return stored;
}

async function readDocumentText(arg: string): Promise<{ path: string; text: string }> {
  try {
    return { path: arg, text: await readFile(arg, 'utf8') };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'EISDIR') throw new MeshbenchError('MB_BAD_ARGUMENT', `${arg}: cannot read (${String(code ?? err)}) — give a result.json written by \`meshbench run\``);
  }
  for (const name of DOCUMENT_FILES) {
    const path = join(arg, name);
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text !== null) return { path, text };
  }
  throw new MeshbenchError('MB_BAD_ARGUMENT', `${arg} is a folder without a ${DOCUMENT_FILES.join(' or ')}`);
}
