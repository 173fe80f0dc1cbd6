import type { ResultDocument } from '../result.js';

/**
 * A small Mermaid `xychart-beta` for the CI summary (GitHub renders Mermaid blocks in step summaries): each
 * protocol × variant's P99 as a bar and, where the scenario set one, the P99 budget as a line over them. Null
 * when the run has no latency figures. A pure function of the result document.
 */
export function renderP99Chart(doc: ResultDocument): string | null {
  const bars: { label: string; p99Ms: number; budgetMs: number | null }[] = [];
  for (const p of doc.protocols) {
    for (const variant of doc.environment.variants) {
      const v = p.variants[variant];
      if (v === undefined || v.count === 0) continue;
      const budget = doc.verdict.checks.find((c) => c.protocol === p.name && c.variant === variant && c.budget === 'p99Ms');
      bars.push({ label: `${p.name} ${variant}`, p99Ms: v.latencyUs.p99 / 1000, budgetMs: budget?.limit ?? null });
    }
  }
  if (bars.length === 0) return null;
  const top = niceCeiling(Math.max(...bars.map((b) => Math.max(b.p99Ms, b.budgetMs ?? 0))));
  const list = (xs: readonly number[]) => `[${xs.map((x) => Number(x.toFixed(3))).join(', ')}]`;
  const lines = [
    '```mermaid',
    'xychart-beta',
    `    title "P99 latency${bars.some((b) => b.budgetMs !== null) ? ' (bars) and its budget (line)' : ''}"`,
    `    x-axis [${bars.map((b) => `"${b.label}"`).join(', ')}]`,
    `    y-axis "P99 (ms)" 0 --> ${top}`,
    `    bar ${list(bars.map((b) => b.p99Ms))}`,
  ];
  // Mermaid draws a line through every category: only when each bar has a budget.
  if (bars.every((b) => b.budgetMs !== null)) lines.push(`    line ${list(bars.map((b) => b.budgetMs ?? 0))}`);
  lines.push('```');
  return lines.join('\n');
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above x (an axis end a reader can read). */
export function niceCeiling(x: number): number {
  if (!(x > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  const step = [1, 2, 5, 10].find((m) => m * power >= x * (1 - 1e-12)) ?? 10;
  return Number((step * power).toPrecision(6));
}
