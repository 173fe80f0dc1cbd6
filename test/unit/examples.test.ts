import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/config/load.js';
import { LATENCY_BUDGETS, type Budgets } from '../../src/config/schema.js';
import { packageRoot } from '../../src/paths.js';

describe('examples/github-actions/mesh-gate.yml', () => {
  it('is a workflow that calibrates (A/A), runs, compares with a baseline, uploads the reports and gates on exit codes', () => {
    const text = readFileSync(join(packageRoot, 'examples', 'github-actions', 'mesh-gate.yml'), 'utf8');
    const workflow = parse(text) as { jobs: Record<string, { steps: { name?: string; run?: string; uses?: string }[] }> };
    const steps = Object.values(workflow.jobs)[0]?.steps ?? [];
    const runs = steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/npx meshbench run "\$SCENARIO" --aa/);
    expect(runs).toMatch(/npx meshbench compare baseline\/result\.json reports\/run\/result\.json/);
    expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact') === true)).toBe(true);
    expect(steps.at(-1)?.name).toBe('Gate');
  });
});

describe('shipped scenarios validate (each sets a latency budget, or is a drill whose events set budgets)', () => {
  const dirs = [join(packageRoot, 'scenarios'), join(packageRoot, 'test', 'fixtures')];
  const files = dirs.flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'bad-scenario.yaml').map((f) => join(dir, f)));
  it.each(files.map((f) => [relative(packageRoot, f), f]))('%s', (_name, file) => {
    const s = parseScenarioText(readFileSync(file, 'utf8'), file);
    const has = (b: Budgets | undefined) => LATENCY_BUDGETS.some((k) => b?.[k] !== undefined);
    const drill = s.events.length > 0 && s.events.every((e) => e.budgets.maxErrors !== undefined || e.budgets.recoveryS !== undefined);
    expect(has(s.budgets) || s.protocols.every((p) => has(p.budgets)) || drill).toBe(true);
  });
});
