import { InvalidArgumentError, Option, type Command } from 'commander';
import type { PilotCommandOptions } from './pilot-command.js';

/**
 * `meshbench pilot`: registered here, run by pilot-command.ts (loaded when it runs, so other commands do not pay
 * for the pilot, the environments and prom-client at start-up). `meshbench report DIR` on a pilot's folder is
 * report.ts's, which hands it to writePilotReports.
 */

const UNITS_S: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `30m`, `1h`, `7d` → seconds (whole, > 0). */
export function parseDurationS(name: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(s|m|min|h|d)?$/.exec(value.trim());
    const s = m === null ? NaN : Number(m[1]) * (UNITS_S[m[2] ?? 's'] ?? NaN);
    if (!Number.isFinite(s) || s < 1 || !Number.isInteger(Math.round(s))) throw new InvalidArgumentError(`${name} must be a duration like 90s, 30m, 1h or 7d (at least 1 s)`);
    return Math.round(s);
  };
}

export function registerPilotCommands(program: Command, setExitCode: (code: number) => void, port: (name: string) => (v: string) => number): void {
  program
    .command('pilot')
    .description('days of paired measurement: both variants continuously, judged per window, day and pilot; durable and resumable')
    .argument('[scenario]', 'scenario file, or the name of a shipped scenario (default quickstart)')
    .option('--out <dir>', 'pilot folder (default: reports/pilot-<scenario>-<UTC timestamp>/)')
    .addOption(new Option('--for <duration>', 'how long the pilot runs from its start, e.g. 7d, 12h, 30m').argParser(parseDurationS('--for')).default(7 * 86_400, '7d'))
    .option('--window <duration>', "window length (default: the scenario's pilot.windowS, 1h)", parseDurationS('--window'))
    .option('--resume <dir>', 'continue the pilot in this folder (after a crash, a kill, a reboot)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (0: any free port)', port('--metrics-port'))
    .option('--metrics-host <host>', 'address the metrics server listens on', '127.0.0.1')
    .option('-q, --quiet', 'no progress lines on stderr')
    .action(async (scenario: string | undefined, opts: PilotCommandOptions) => {
      const { pilotCommand } = await import('./pilot-command.js');
      setExitCode(await pilotCommand(scenario, opts));
    });
}
