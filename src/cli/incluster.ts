import { errorMessage } from '../errors.js';

/**
 * Entry point of the in-cluster bundle (envs/kubernetes/bundle.ts), a CLI entry like main.ts: what a pod runs when meshbench comes from a ConfigMap on
 * the stock Node image instead of an image of its own. It speaks the two commands pods use, with the same
 * arguments as the full CLI — `echo [--host H] [--http-port P] [--grpc-port P]` and `k8s generate --job JSON` —
 * and nothing else, so the bundle stays small (no scenario parser, reports or Kubernetes client).
 * The load pool's thread entries are bundled beside it at their dist/ paths (bundle.ts THREAD_ENTRIES).
 */

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function port(args: readonly string[], name: string, fallback: number): number {
  const raw = flag(args, name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got "${raw ?? ''}"`);
  return n;
}

async function main(args: readonly string[]): Promise<number> {
  if (args[0] === 'echo') {
    const { runEchoProcess } = await import('../workloads/child.js');
    await runEchoProcess({ host: flag(args, '--host') ?? '0.0.0.0', httpPort: port(args, '--http-port', 8080), grpcPort: port(args, '--grpc-port', 9090) });
    return 0;
  }
  if (args[0] === 'k8s' && args[1] === 'generate') {
    const job = flag(args, '--job');
    if (job === undefined) throw new Error('k8s generate: --job <json> is required');
    const { generateMain } = await import('../envs/kubernetes/generator.js');
    return generateMain(job, (line) => void process.stdout.write(`${line}\n`));
  }
  process.stderr.write('usage: incluster.js echo [--host H] [--http-port P] [--grpc-port P] | k8s generate --job <json>\n');
  return 3;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`meshbench: ${errorMessage(err)}\n`);
    process.exit(4);
  },
);
