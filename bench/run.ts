import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, type as osType } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { judge } from './lib/checks.js';
import { errorMessage, type BenchContext } from './lib/context.js';
import { renderMarkdown, type BenchResult } from './lib/markdown.js';
import { startEcho, startNginx, type EchoTarget, type Target } from './lib/targets.js';
import { findTools } from './lib/tools.js';
import { allocation } from './sections/allocation.js';
import { closedLoop } from './sections/closed-loop.js';
import { noiseFloor } from './sections/noise-floor.js';
import { omission } from './sections/omission.js';
import { openLoop } from './sections/open-loop.js';
import { recording } from './sections/recording.js';
import { streaming } from './sections/streaming.js';

/**
 * `npm run bench [-- --quick] [-- --only closed,alloc,open,omission,streaming,recording,noise]`
 *
 * Starts its own targets on loopback, runs every comparison in this one run, prints the Markdown table and
 * writes bench/results/latest.{json,md} and the README's Performance section (a full run), or
 * bench/results/quick.{json,md} (--quick: 1 repetition, short runs; README untouched). Peers that are not
 * installed are skipped with the reason printed. Exit 0 when every section ran (targets met or not), 1 when
 * a section failed.
 */
const SECTIONS = ['closed', 'alloc', 'open', 'omission', 'streaming', 'recording', 'noise'] as const;
type Section = (typeof SECTIONS)[number];

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv[argv.indexOf('--only') + 1];
const only = new Set<Section>(argv.includes('--only') && onlyArg !== undefined ? (onlyArg.split(',') as Section[]) : SECTIONS);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section "${s}" (one of ${SECTIONS.join(', ')})`);

const resultsDir = join(packageRoot, 'bench', 'results');
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const cleanups: (() => Promise<void>)[] = [];
const cleanup = async (): Promise<void> => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
};
process.once('SIGINT', () => {
  log('bench: interrupted, stopping targets');
  void cleanup().then(() => process.exit(130));
});

const startedAt = new Date();
const t0 = performance.now();
const tools = findTools();
const ctx: BenchContext = { quick, reps: quick ? 1 : 3, durationS: quick ? 3 : 10, tools, cores: availableParallelism(), log };
for (const why of Object.values(tools.skipped)) log(`bench: skipping — ${why}`);

const result: BenchResult = {
  schemaVersion: 1,
  startedAt: startedAt.toISOString(),
  wallS: 0,
  quick,
  machine: { cores: ctx.cores, cpu: cpus()[0]?.model.trim() ?? 'unknown', os: `${osType()} ${release()}`, loadAvgAtStart: loadavg() },
  versions: tools.versions,
  skipped: tools.skipped,
  checks: [],
  failures: {},
};

async function section<T>(name: Section, run: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  log(`bench: ${name}`);
  try {
    return await run();
  } catch (err) {
    result.failures[name] = errorMessage(err);
    log(`bench: ${name} failed: ${errorMessage(err)}`);
    return undefined;
  }
}

try {
  let http: Target | undefined;
  let echo: EchoTarget | undefined;
  echo = await startEcho();
  cleanups.push(() => (echo as EchoTarget).stop());
  if (tools.nginx !== undefined) {
    http = await startNginx(tools.nginx);
    cleanups.push(() => (http as Target).stop());
  } else {
    http = { name: 'meshbench echo (nginx not installed)', url: `${echo.httpUrl}`, service: echo.service, stop: async () => undefined };
  }
  const target = http;
  result.closedLoop = await section('closed', () => closedLoop(ctx, target));
  result.allocation = await section('alloc', () => allocation(ctx, target));
  const closedMax = result.closedLoop?.tools.find((t) => t.tool === 'meshbench')?.rps ?? NaN;
  result.openLoop = await section('open', () => openLoop(ctx, target, closedMax));
  result.omission = await section('omission', () => omission(ctx));
  const echoTarget = echo;
  result.streaming = await section('streaming', () => streaming(ctx, echoTarget));
  const cpuPerReq = result.closedLoop?.tools.find((t) => t.tool === 'meshbench')?.cpuUsPerReq ?? NaN;
  result.recording = await section('recording', () => recording(ctx, cpuPerReq));
  result.noiseFloor = await section('noise', () => noiseFloor(ctx, target, echoTarget));
} finally {
  await cleanup();
}

result.wallS = (performance.now() - t0) / 1000;
result.checks = judge(result);
const markdown = renderMarkdown(result);
const base = quick || only.size !== SECTIONS.length ? 'quick' : 'latest';
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, `${base}.md`), markdown);
process.stdout.write(`\n${markdown}`);
log(`bench: wrote bench/results/${base}.json and ${base}.md in ${result.wallS.toFixed(0)} s`);
if (base === 'latest') updateReadme(markdown);
process.exitCode = Object.keys(result.failures).length > 0 ? 1 : 0;

/** Replaces what lies between the README's bench markers with the table; leaves the README alone without them. */
function updateReadme(table: string): void {
  const path = join(packageRoot, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) {
    log('bench: README.md has no bench markers; not updated');
    return;
  }
  writeFileSync(path, `${readme.slice(0, i + start.length)}\n${table}${readme.slice(j)}`);
  log('bench: README.md Performance section updated');
}
