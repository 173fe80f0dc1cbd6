/**
 * The layering rule of src/, checked by `npm run depcheck` (part of `npm test`).
 *
 * Data flows one way — scenario → env → load → verdict → report — and imports point down only: each part of
 * src/ may import itself and what its MAY_IMPORT entry names, nothing else in src/, and no cycles anywhere.
 * A new folder or top-level module must be given its place here first (rule `unplaced`).
 */
const MAY_IMPORT = {
  // The lowest modules: shared by every stage, importing (almost) nothing.
  paths: [],
  errors: [],
  protocols: [],
  version: ['paths'],
  'echo-proto': ['paths'], // the echo .proto, shared by the gRPC driver and the echo server
  'http1-syntax': [], // HTTP/1.1 at the byte level, shared by the HTTP/1.1 driver's parser and the echo's
  histograms: [],
  // Precise wake-ups (a ticker thread) and the clocks of every thread.
  timing: ['paths'],
  // What the platform and the harness cost: hiccup meters (as jHiccup), run in the generator and the echo.
  meters: ['timing', 'histograms'],
  config: ['errors', 'paths', 'protocols'],
  // One driver per protocol; protocol-level shared modules only.
  drivers: ['errors', 'protocols', 'echo-proto', 'http1-syntax'],
  // The generator: schedule, loop, worker pool.
  load: ['drivers', 'meters', 'timing', 'histograms', 'config', 'errors', 'paths', 'protocols'],
  // The result document (result.ts): records what load measured and envs proved; read by verdict and report.
  result: ['load', 'drivers', 'histograms', 'config', 'protocols'],
  // The echo servers: know nothing of the harness.
  workloads: ['meters', 'timing', 'histograms', 'echo-proto', 'http1-syntax', 'errors', 'paths', 'protocols'],
  // Where the pair runs; an env may run the load itself (kubernetes runs the generator in a pod).
  envs: ['result', 'load', 'drivers', 'workloads', 'timing', 'histograms', 'config', 'errors', 'paths', 'protocols', 'version'],
  // A pilot's folder (pilot.json, windows.jsonl): its records and the summary its reports show.
  'pilot-record': ['result', 'histograms', 'config', 'protocols'],
  // A sweep's document (sweep.json): its steps, knees and the pure decisions behind them.
  'sweep-record': ['config', 'protocols'],
  // Decides on the result document: pass / fail / inconclusive, as data.
  verdict: ['result', 'histograms', 'config', 'errors', 'protocols', 'version'],
  // Pure functions of the result document and the verdict's data; the only place sentences are built.
  report: ['verdict', 'pilot-record', 'sweep-record', 'result', 'histograms', 'config', 'protocols'],
  // Drills: when a scenario's events happen during a load (through the env's own actions), and what each cost.
  drills: ['envs', 'load', 'result', 'histograms', 'drivers', 'config', 'errors', 'protocols'],
  // The pipeline: scenario → env → load → verdict → result → report.
  run: ['drills', 'envs', 'load', 'verdict', 'report', 'result', 'drivers', 'histograms', 'config', 'errors', 'protocols', 'version'],
  // Latency vs load: rate steps per variant until the budget breaks, the knee (reuses run/'s lanes, load/ and verdict/).
  sweep: ['run', 'envs', 'load', 'verdict', 'sweep-record', 'result', 'histograms', 'config', 'errors', 'protocols', 'version'],
  // Prometheus exposition of what load/ and the pilot already record (no second recorder).
  metrics: ['pilot-record', 'result', 'histograms', 'protocols'],
  // The pilot: days of paired load cut into windows, written durably, resumed, judged per window, day and pilot.
  pilot: ['run', 'drills', 'envs', 'load', 'verdict', 'pilot-record', 'result', 'drivers', 'histograms', 'config', 'errors', 'protocols', 'version'],
  // The entries (and the only code that exits): may use every stage.
  cli: ['sweep', 'sweep-record', 'pilot', 'drills', 'metrics', 'pilot-record', 'run', 'envs', 'load', 'verdict', 'report', 'result', 'workloads', 'drivers', 'meters', 'timing', 'histograms', 'config', 'errors', 'paths', 'protocols', 'version', 'echo-proto', 'http1-syntax'],
};

const part = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles hide which module is lower; break them by moving the shared part down.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'unplaced',
      comment: 'Every module of src/ belongs to a part named in MAY_IMPORT (.dependency-cruiser.cjs).',
      severity: 'error',
      from: { path: '^src/', pathNot: part(Object.keys(MAY_IMPORT)) },
      to: {},
    },
    {
      name: 'no-dev-dependencies-in-src',
      comment: 'src/ is what ships: it may not import devDependencies.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    ...Object.entries(MAY_IMPORT).map(([name, allowed]) => ({
      name: `${name}-imports-down-only`,
      comment: `${name} may import only ${allowed.length === 0 ? 'nothing in src/' : allowed.join(', ')} (one-way pipeline).`,
      severity: 'error',
      from: { path: part([name]) },
      to: { path: '^src/', pathNot: part([name, ...allowed]) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type from an upper layer is a dependency on it all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
