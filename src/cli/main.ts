#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadScenario } from '../config/load.js';
import { PROTOCOLS } from '../protocols.js';
import { toolVersion } from '../version.js';
import { describeError, EXIT, exitCodeForError } from './exit-codes.js';
import { withSignals } from './signals.js';
import { registerCompareCommand } from './compare.js';
import { registerK8sCommands } from './k8s.js';
import { registerPilotCommands } from './pilot.js';
import type { LoadCommandOptions } from './load.js';

/**
 * The CLI entry: parses arguments, runs one command, maps its outcome to an exit code. Only CLI entries call
 * process.exit: this one, cli/signals.ts (a second Ctrl-C forces it), and cli/incluster.ts (the entry the
 * pods run); everything else returns or throws. Commands load their modules when they run, so `echo` (the container
 * entrypoint) and `load` do not pay for the local environment's PKI or the verdict's statistics at start-up.
 */

function int(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

function positive(name: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new InvalidArgumentError(`${name} must be a number > ${allowZero ? '= ' : ''}0`);
    return n;
  };
}


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
    .command('validate')
    .description('check a scenario file and print it with every default filled in; starts nothing')
    .argument('[scenario]', 'scenario file, or the name of a shipped scenario', 'quickstart')
    .action(async (scenarioArg: string) => {
      const { scenario } = await loadScenario(scenarioArg);
      process.stdout.write(`${JSON.stringify(scenario, null, 2)}\n`);
    });

  program
    .command('load')
    .description('ad hoc load against one target (no pair, no verdict)')
    .argument('<target>', 'http://host:port/path, ws://host:port/path, or host:port for gRPC')
    .addOption(new Option('--protocol <name>', 'protocol').choices(PROTOCOLS).default('http1'))
    .option('-c, --connections <n>', 'connections (or gRPC streams)', int('--connections', 1), 16)
    .option('-r, --rate <hz>', 'open loop at this total rate; without it, closed loop', positive('--rate'))
    .option('-d, --duration <s>', 'measured seconds', positive('--duration'), 10)
    .option('--warmup <s>', 'seconds of unrecorded warm-up', positive('--warmup', true), 1)
    .option('--payload <bytes>', 'request body / message size', int('--payload', 0), 64)
    .option('--timeout <ms>', 'request timeout', int('--timeout', 1), 5000)
    .option('-w, --workers <n>', 'worker threads (default: half the cores, at least 1)', int('--workers', 1))
    .option('-H, --header <name:value...>', 'extra request header (repeatable)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'no progress output on stderr')
    .action(async (target: string, opts: LoadCommandOptions) => {
      const { loadCommand } = await import('./load.js');
      exitCode = await loadCommand(target, { ...opts, signal: withSignals().signal });
    });

  program
    .command('echo')
    .description('run the echo workload (HTTP/1.1 + websocket on one port, gRPC on another); prints one JSON line when listening')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--http-port <port>', 'HTTP/1.1 and websocket port (0 = any free port)', int('--http-port', 0), 8080)
    .option('--grpc-port <port>', 'gRPC port (0 = any free port)', int('--grpc-port', 0), 9090)
    .option('--planted-delay-ms <ms>', 'test/calibration knob: hold every response this long (µs-precise) before sending it', positive('--planted-delay-ms', true), 0)
    .action(async (opts: { host: string; httpPort: number; grpcPort: number; plantedDelayMs: number }) => {
      const { echoCommand } = await import('./echo.js');
      await echoCommand(opts);
    });

  registerCompareCommand(program, (code) => {
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
