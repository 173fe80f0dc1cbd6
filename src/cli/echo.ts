import { runEchoProcess } from '../workloads/child.js';

/**
 * `meshbench echo`: runs until SIGTERM/SIGINT; prints one JSON line on stdout once listening.
 * `plantedDelayMs` > 0 holds every response that long (a calibration knob, src/workloads/delay.ts).
 */
export async function echoCommand(opts: { host: string; httpPort: number; grpcPort: number; plantedDelayMs?: number }): Promise<void> {
  const plantedDelayUs = Math.round((opts.plantedDelayMs ?? 0) * 1000);
  await runEchoProcess({ host: opts.host, httpPort: opts.httpPort, grpcPort: opts.grpcPort, plantedDelayUs }, (line) => process.stdout.write(`${line}\n`));
}
