import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { errorMessage, MeshbenchError } from '../errors.js';
import { scenariosDir } from '../paths.js';
import { scenarioSchema, type Scenario } from './schema.js';

/** `protocols[0].rateHz`, `env.variants.meshed.targets.http1`, or `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** One line per problem: the field path and what is allowed there. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${formatPath(issue.path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see scenarios/README.md)`;
    }
    if (issue.code === 'invalid_value') {
      return `${formatPath(issue.path)}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return `${formatPath(issue.path)}: ${issue.message}`;
  });
}

/** Validates an already-parsed scenario object. Throws MB_BAD_SCENARIO listing every problem. */
export function parseScenario(input: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error.issues);
    throw new MeshbenchError('MB_BAD_SCENARIO', `${source}: invalid scenario (${problems.length} problem${problems.length > 1 ? 's' : ''})`, { problems });
  }
  return parsed.data;
}

/** Parses YAML text (JSON is YAML too) and validates it. */
export function parseScenarioText(text: string, source: string): Scenario {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0] ?? e.message}`);
    throw new MeshbenchError('MB_BAD_SCENARIO', `${source}: not valid YAML`, { problems });
  }
  let value: unknown;
  try {
    // toJS resolves aliases: an alias without its anchor, or one that expands beyond maxAliasCount, throws here
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new MeshbenchError('MB_BAD_SCENARIO', `${source}: not valid YAML (${errorMessage(err)})`);
  }
  return parseScenario(value, source);
}

/**
 * Resolves a scenario argument: a path to a file, or the name of a shipped scenario in scenarios/
 * ("quickstart" → scenarios/quickstart.yaml). No argument means the quickstart.
 */
export function resolveScenarioPath(arg: string | undefined): string {
  const name = arg ?? 'quickstart';
  const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();
  if (isFile(name)) return name;
  for (const candidate of [join(scenariosDir, name), join(scenariosDir, `${name}.yaml`), join(scenariosDir, `${name}.yml`)]) {
    if (isFile(candidate)) return candidate;
  }
  throw new MeshbenchError('MB_BAD_ARGUMENT', `scenario "${name}" not found: give a path to a .yaml file or the name of a shipped scenario in ${scenariosDir}`);
}

export async function loadScenario(arg: string | undefined): Promise<{ path: string; scenario: Scenario }> {
  const path = resolveScenarioPath(arg);
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `cannot read scenario ${path}: ${errorMessage(err)}`);
  });
  return { path, scenario: parseScenarioText(text, path) };
}
