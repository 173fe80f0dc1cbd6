import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
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
