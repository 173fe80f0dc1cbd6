import { runEchoProcess } from '../workloads/child.js';

/**
 * `meshbench echo`: runs until SIGTERM/SIGINT; prints one JSON line on stdout once listening. A piped stdin
 * (the local env) carries `hiccups` requests; a terminal's is left alone.
 */
export async function echoCommand(opts: { host: string; httpPort: number; grpcPort: number }): Promise<void> {
  const control = process.stdin.isTTY === true ? undefined : process.stdin;
  await runEchoProcess({ ...opts, ...(control === undefined ? {} : { control }) }, (line) => process.stdout.write(`${line}\n`));
}
