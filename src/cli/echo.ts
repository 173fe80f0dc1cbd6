import { runEchoProcess } from '../workloads/child.js';

/** `meshbench echo`: runs until SIGTERM/SIGINT; prints one JSON line on stdout once listening. */
export async function echoCommand(opts: { host: string; httpPort: number; grpcPort: number }): Promise<void> {
  await runEchoProcess(opts, (line) => process.stdout.write(`${line}\n`));
}
