/**
 * report.html: charts rendered to SVG by Apache ECharts when a report is written, on a self-contained page.
 * Reports of new kinds (pilot, sweep) build their page from the same parts: `htmlPage` and `Section`s holding
 * `renderChart` figures (`spectrumChart`, `forestChart`, or any `ChartSpec`) and `htmlTable`s.
 */
export { renderHtmlReport } from './run-report.js';
export { renderComparisonHtml } from './compare-report.js';
export { axis, legend, msOf, OKABE_ITO, PALETTE, renderChart, variantColor } from './chart.js';
export type { ChartOption, ChartSpec } from './chart.js';
export { forestChart } from './forest.js';
export type { ForestOptions, ForestRow } from './forest.js';
export { escapeHtml, htmlPage, htmlTable, para } from './page.js';
export type { Banner, Page, Section } from './page.js';
export { spectrumChart, spectrumPoints } from './spectrum.js';
export type { SpectrumCurve } from './spectrum.js';
export { timelineChart } from './timeline.js';
export { roundsChart } from './rounds.js';
export { sidecarChart } from './sidecars.js';
