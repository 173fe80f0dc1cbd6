#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { loadScenario } from '../config/load.js';
import { toolVersion } from '../version.js';
import { describeError, EXIT, exitCodeForError } from './exit-codes.js';
import { withSignals } from './signals.js';
import { registerCompareCommand } from './compare.js';
import { registerK8sCommands } from './k8s.js';
import type { AbCommandOptions } from './ab.js';
import { registerReportCommand } from './report.js';
import { registerPilotCommands } from './pilot.js';
import type { LoadCommandOptions } from './load.js';
import { addLoadOptions, int, positive } from './load-options.js';

/**
 * The CLI entry: parses arguments, runs one command, maps its outcome to an exit code. Only CLI entries call
 * process.exit: this one, cli/signals.ts (a second Ctrl-C forces it), and cli/incluster.ts (the entry the
 * pods run); everything else returns or throws. Commands load their modules when they run, so `echo` (the container
 * entrypoint) and `load` do not pay for the local environment's PKI or the verdict's statistics at start-up.
 */

async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.pass;
  const program = new Command('meshbench')
    .description('Measure what a service mesh costs a service — meshed vs unmeshed, HDR latency, a verdict against P99 budgets.')
    .version(toolVersion)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('run a scenario: deploy the pair, prove the paths, drive interleaved rounds, judge the budgets')
    .argument('[scenario]', 'scenario file, or the name of a shipped scenario', 'quickstart')
    .option('--out <dir>', 'output directory (default: reports/<scenario>-<UTC timestamp>/)')
    .option('--json', 'print result.json to stdout instead of the summary table')
    .option('-q, --quiet', 'no progress output on stderr')
    .option('--aa', 'A/A calibration: both variants drive the unmeshed targets; passes when no difference is found')
    .action(async (scenarioArg: string, opts: { out?: string; json?: boolean; quiet?: boolean; aa?: boolean }) => {
      const { path, scenario } = await loadScenario(scenarioArg);
      const { runCommand } = await import('./run.js');
      exitCode = await runCommand(scenario, path, { ...opts, signal: withSignals().signal });
    });

  program
    .command('sweep')
    .description('latency vs load: step the open-loop rate up per variant until the P99 budget breaks (scenario `sweep`); the knee per variant')
    .argument('<scenario>', 'scenario file with a sweep section, or the name of a shipped one (e.g. sweep)')
    .option('--out <dir>', 'output directory (default: reports/<scenario>-sweep-<UTC timestamp>/)')
    .option('--json', 'print sweep.json to stdout instead of the tables')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (scenarioArg: string, opts: { out?: string; json?: boolean; quiet?: boolean }) => {
      const { path, scenario } = await loadScenario(scenarioArg);
      const { sweepCommand } = await import('./sweep.js');
      exitCode = await sweepCommand(scenario, path, { ...opts, signal: withSignals().signal });
    });

  program
    .command('validate')
    .description('check a scenario file and print it with every default filled in; starts nothing')
    .argument('[scenario]', 'scenario file, or the name of a shipped scenario', 'quickstart')
    .action(async (scenarioArg: string) => {
      const { scenario } = await loadScenario(scenarioArg);
      process.stdout.write(`${JSON.stringify(scenario, null, 2)}\n`);
    });

  addLoadOptions(
    program
      .command('load')
      .description('ad hoc load against one target — any HTTP/1.1, websocket or gRPC server, TLS included (no pair, no verdict)')
      .argument('<target...>', 'http(s)://host:port/path, ws(s)://host:port/path, or host:port / grpc(s)://host:port for gRPC; several URLs of one origin make a mix (--weights)'),
  )
    .option('--max-error-rate <fraction>', 'exit 1 when errors ÷ requests exceed this, e.g. 0.01', positive('--max-error-rate', true))
    .option('--out <dir>', 'write result.json and the latency .hlog there')
    .option('--json', 'print the result document as JSON')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (targets: string[], opts: LoadCommandOptions) => {
      const { loadCommand } = await import('./load.js');
      exitCode = await loadCommand(targets, { ...opts, signal: withSignals().signal });
    });

  addLoadOptions(
    program
      .command('ab')
      .description('drive two targets paired in time (as run does): B − A at p50/p99/p99.9 with intervals, errors, a verdict with --budget-p99-ms')
      .argument('<a>', 'the baseline (e.g. a port-forward straight to the pod)')
      .argument('<b>', 'the candidate (e.g. the meshed path)'),
  )
    .option('--rounds <n>', 'rounds -d is split into (the units of the between-round interval; ≥ 3 for a pass)', int('--rounds', 1), 4)
    .option('--budget-p99-ms <ms>', 'largest allowed P99 difference B − A (ms); without it the difference is measured, not judged', positive('--budget-p99-ms', true))
    .option('--out <dir>', 'output directory (default: reports/ab-<UTC timestamp>/)')
    .option('--json', 'print result.json to stdout instead of the tables')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (a: string, b: string, opts: AbCommandOptions) => {
      const { abCommand } = await import('./ab.js');
      exitCode = await abCommand(a, b, { ...opts, signal: withSignals().signal });
    });

  program
    .command('up')
    .description('start the local environment (echoes + HAProxy mTLS sidecar pair), print its addresses and what to try; Ctrl-C stops it')
    .argument('[scenario]', 'a local scenario (its env: sidecar mode, planted delay), or the name of a shipped one', 'quickstart')
    .option('--json', 'print the addresses as one JSON line instead of the text')
    .action(async (scenarioArg: string, opts: { json?: boolean }) => {
      const { scenario } = await loadScenario(scenarioArg);
      const { upCommand } = await import('./up.js');
      exitCode = await upCommand(scenario, { ...opts, signal: withSignals().signal });
    });

  program
    .command('echo')
    .description('run the echo workload (HTTP/1.1 + websocket on one port, gRPC on another); prints one JSON line when listening')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--http-port <port>', 'HTTP/1.1 and websocket port (0 = any free port)', int('--http-port', 0), 8080)
    .option('--grpc-port <port>', 'gRPC port (0 = any free port)', int('--grpc-port', 0), 9090)
    .option('--planted-delay-ms <ms>', 'test/calibration knob: hold every response this long (µs-precise) before sending it', positive('--planted-delay-ms', true), 0)
    .option('--planted-ports', 'with --planted-delay-ms: hold only the replies of a second pair of ports (announced as "planted" in the listening line); the ordinary ports answer at once')
    .action(async (opts: { host: string; httpPort: number; grpcPort: number; plantedDelayMs: number; plantedPorts?: boolean }) => {
      const { echoCommand } = await import('./echo.js');
      await echoCommand(opts);
    });

  program
    .command('relay')
    .description('run a relay: a service in a call chain (env.hops) that forwards each HTTP/1.1 request to the next hop; one port per --to; prints one JSON line when listening')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .requiredOption('--to <url...>', 'the next hop of each port, e.g. http://127.0.0.1:8080/ (repeat for more ports)')
    .action(async (opts: { host: string; to: string[] }) => {
      const { runRelayProcess } = await import('../workloads/relay.js');
      await runRelayProcess(opts.host, opts.to, (line) => process.stdout.write(`${line}\n`));
    });

  registerCompareCommand(program, (code) => {
    exitCode = code;
  });

  registerReportCommand(program, (code) => {
    exitCode = code;
  });

  registerK8sCommands(program, (code) => {
    exitCode = code;
  });

  registerPilotCommands(program, (code) => {
    exitCode = code;
  }, (name) => int(name, 0));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? EXIT.pass : EXIT.badInput;
    }
    process.stderr.write(`${describeError(err)}\n`);
    return exitCodeForError(err);
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${describeError(err)}\n`);
    process.exit(EXIT.runtime);
  },
);
