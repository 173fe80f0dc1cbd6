import { init, use, type ComposeOption } from 'echarts/core';
import { BarChart, CustomChart, LineChart, ScatterChart, type BarSeriesOption, type CustomSeriesOption, type LineSeriesOption, type ScatterSeriesOption } from 'echarts/charts';
import {
  GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TitleComponent,
  type GridComponentOption, type LegendComponentOption, type MarkAreaComponentOption, type MarkLineComponentOption, type TitleComponentOption,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { escapeHtml } from './page.js';

/**
 * Charts are Apache ECharts options rendered to SVG by ECharts' server-side renderer when the report is written:
 * the page needs no script and no network, and what a reader sees is fixed in the file. This module owns
 * ECharts (its parts, the palette, the fonts); each chart of the report is a pure function of the document
 * that builds a `ChartSpec`, and `renderChart` turns it into markup.
 */
use([LineChart, ScatterChart, BarChart, CustomChart, TitleComponent, GridComponent, LegendComponent, MarkLineComponent, MarkAreaComponent, SVGRenderer]);

export type ChartOption = ComposeOption<
  | LineSeriesOption | ScatterSeriesOption | BarSeriesOption | CustomSeriesOption
  | TitleComponentOption | GridComponentOption | LegendComponentOption | MarkLineComponentOption | MarkAreaComponentOption
>;

/** Okabe & Ito's palette: told apart by readers with every common colour-vision deficiency. */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

/** Series colours in order of use (yellow last: it is faint on white). */
export const PALETTE = [OKABE_ITO.blue, OKABE_ITO.vermillion, OKABE_ITO.bluishGreen, OKABE_ITO.reddishPurple, OKABE_ITO.orange, OKABE_ITO.skyBlue, OKABE_ITO.black, OKABE_ITO.yellow];

/** The colour of the i-th variant of a document (the baseline first): the same in every chart of a report. */
export function variantColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? OKABE_ITO.black;
}

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

export interface ChartSpec {
  /** Unique within a page (an HTML id: letters, digits, '-'); prefixes the SVG's own ids. */
  id: string;
  /** Shown above the chart; also the SVG's accessible name. */
  title: string;
  /** One or two sentences under the chart: what it shows and how to read it. */
  caption: string;
  option: ChartOption;
  width?: number;
  height?: number;
}

/** Every value axis names what it measures and its unit, e.g. "latency (ms)"; a category axis names its categories. */
const AXIS_NAME_WITH_UNIT = /\(.+\)/;

/**
 * The chart as an inline SVG in a <figure>. Throws when the chart has no title or an axis has no name with a
 * unit in parentheses: every chart of a report must say what it plots.
 */
export function renderChart(spec: ChartSpec): string {
  if (!/^[A-Za-z][\w-]*$/.test(spec.id)) throw new Error(`meshbench: chart id "${spec.id}" is not a valid HTML id`);
  const axes = [spec.option.xAxis, spec.option.yAxis].flatMap((a) => (a === undefined ? [] : Array.isArray(a) ? a : [a]));
  for (const a of axes) {
    const { name, type } = a as { name?: unknown; type?: unknown };
    const ok = typeof name === 'string' && name.trim() !== '' && (type === 'category' || AXIS_NAME_WITH_UNIT.test(name));
    if (!ok) throw new Error(`meshbench: chart "${spec.title}": axis "${String(name)}" needs a name (a value axis: with its unit in parentheses)`);
  }
  if (axes.length === 0 || spec.title.trim() === '') throw new Error(`meshbench: chart "${spec.id}" needs a title and named axes`);
  const width = spec.width ?? 950;
  const height = spec.height ?? 420;
  const chart = init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: FONT, color: '#222' },
      title: { text: spec.title, left: 8, top: 6, textStyle: { fontSize: 15, fontWeight: 600, fontFamily: FONT, color: '#111' } },
      ...spec.option,
    });
    // zrender numbers its instances and style classes process-wide (zr0-, zr1-, …; cls-155): give each chart its
    // own prefix and number its classes from 0, so a page's SVG ids are unique and the same document always
    // renders the same bytes.
    const classes = new Map<string, number>();
    const svg = chart.renderToSVGString()
      .replace(/\bzr\d+-/g, `${spec.id}-`)
      .replace(/-cls-(\d+)\b/g, (_, n: string) => {
        if (!classes.has(n)) classes.set(n, classes.size);
        return `-cls-${classes.get(n) ?? 0}`;
      });
    const labelled = svg.replace('<svg ', `<svg role="img" aria-label="${escapeHtml(spec.title)}" `);
    // The series that have data, by index (ECharts tags each mark with its series' index): what a reader must see drawn.
    const series = spec.option.series === undefined ? [] : Array.isArray(spec.option.series) ? spec.option.series : [spec.option.series];
    const drawn = series.flatMap((x, i) => (Array.isArray(x.data) && x.data.some((d) => d !== null) ? [i] : []));
    return `<figure class="chart" id="${spec.id}" data-series="${drawn.join(' ')}">${labelled}<figcaption>${escapeHtml(spec.caption)}</figcaption></figure>`;
  } finally {
    chart.dispose();
  }
}

/** Axis defaults: the name centred along the axis, light grid lines. */
export function axis(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    nameLocation: 'middle',
    nameTextStyle: { fontSize: 12, color: '#333' },
    axisLine: { lineStyle: { color: '#888' } },
    axisLabel: { color: '#333' },
    splitLine: { lineStyle: { color: '#e6e6e6' } },
    ...extra,
  };
}

/** A legend across the top right, under the title. */
export function legend(extra: Record<string, unknown> = {}): LegendComponentOption {
  return { top: 6, right: 8, itemGap: 22, textStyle: { fontSize: 12, color: '#222' }, ...extra };
}

/** Milliseconds from µs, rounded to the µs (keeps the SVG small and the tooltips honest). */
export function msOf(us: number): number {
  return Math.round(us) / 1000;
}
