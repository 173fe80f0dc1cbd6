import { runEchoProcess } from '../workloads/child.js';

/**
 * `meshbench echo`: runs until SIGTERM/SIGINT; prints one JSON line on stdout once listening. A piped stdin
 * (the local env) carries `hiccups` requests; a terminal's is left alone. `plantedDelayMs` > 0 holds every
 * response that long (a calibration knob, src/workloads/delay.ts) — with `plantedPorts`, only the responses of a
 * second pair of ports, announced in the listening line.
 */
export async function echoCommand(opts: { host: string; httpPort: number; grpcPort: number; plantedDelayMs?: number; plantedPorts?: boolean }): Promise<void> {
  const plantedDelayUs = Math.round((opts.plantedDelayMs ?? 0) * 1000);
  const control = process.stdin.isTTY === true ? undefined : process.stdin;
  await runEchoProcess(
    { host: opts.host, httpPort: opts.httpPort, grpcPort: opts.grpcPort, plantedDelayUs, plantedPorts: opts.plantedPorts === true, ...(control === undefined ? {} : { control }) },
    (line) => process.stdout.write(`${line}\n`),
  );
}
