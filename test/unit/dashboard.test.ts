import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PilotMetrics } from '../../src/metrics/exporter.js';
import { packageRoot } from '../../src/paths.js';
import { PROTOCOLS } from '../../src/protocols.js';

interface Panel { title: string; targets: { expr: string; legendFormat?: string }[]; fieldConfig?: { overrides: { matcher: { options: string }; properties: { id: string; value: unknown }[] }[] } }

/** No Grafana here: the dashboard is checked as data against the metrics meshbench actually exposes. */
const dashboard = JSON.parse(readFileSync(join(packageRoot, 'dashboards', 'meshbench.json'), 'utf8')) as { panels: Panel[]; __inputs: { name: string }[] };

describe('dashboards/meshbench.json', () => {
  const exposed = new Set(
    new PilotMetrics().registry.getMetricsAsArray().flatMap((m) => {
      const name = m.name;
      return m.constructor.name === 'Histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name];
    }),
  );

  it('every query names only metrics the pilot exposes', () => {
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/meshbench_[a-z0-9_]+/g) ?? []));
    expect(used.length).toBeGreaterThan(8);
    for (const name of used) expect(exposed, name).toContain(name);
  });

  it.each([
    ['p99 overhead', /meshbench_p99_overhead_seconds/],
    ['p50 and p99 per variant', /histogram_quantile\(0\.99, sum by \(le, protocol, variant\)/],
    ['errors', /meshbench_errors_total/],
    ['proxy CPU', /meshbench_proxy_cpu_seconds_total/],
    ['proxy RSS', /meshbench_proxy_rss_bytes/],
    ['generator lag', /meshbench_generator_lag_seconds/],
  ])('has a panel for %s', (title, expr) => {
    const panel = dashboard.panels.find((p) => p.title.includes(title));
    expect(panel, title).toBeDefined();
    expect(panel?.targets.some((t) => expr.test(t.expr))).toBe(true);
  });

  it('the overhead band fills from each protocol\'s high bound down to its low bound, by the series names the legends give', () => {
    const panel = dashboard.panels[0] as Panel;
    const legends = panel.targets.map((t) => t.legendFormat ?? '');
    expect(legends).toEqual(['{{protocol}} {{variant}} estimate', '{{protocol}} {{variant}} low', '{{protocol}} {{variant}} high']);
    const fills = (panel.fieldConfig?.overrides ?? []).flatMap((o) => o.properties.filter((p) => p.id === 'custom.fillBelowTo').map((p) => [o.matcher.options, p.value]));
    expect(fills).toEqual(PROTOCOLS.map((protocol) => [`${protocol} meshed high`, `${protocol} meshed low`]));
  });
});
