import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadScenario } from '../config/load.js';
import { MeshbenchError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { withSignals } from './signals.js';

/**
 * `meshbench k8s …`: render (the run's objects as YAML + kustomization, for GitOps), cleanup (delete leftovers
 * by label), and generate (what generator pods run). Modules that need @kubernetes/client-node are imported
 * only by the command that uses them, so the rest of the CLI starts without loading it.
 */

/** Writes the render into `out`, replacing an earlier render there but refusing to overwrite anything else. */
async function writeRender(out: string, files: Map<string, string>, header: string): Promise<void> {
  if (existsSync(out) && (await readdir(out)).length > 0) {
    const marker = join(out, 'kustomization.yaml');
    const ours = existsSync(marker) && (await readFile(marker, 'utf8')).startsWith(header);
    if (!ours) throw new MeshbenchError('MB_BAD_ARGUMENT', `--out ${out}: exists and is not an earlier render (no meshbench kustomization.yaml) — give an empty or new directory`);
    await rm(out, { recursive: true, force: true });
  }
  for (const [path, text] of files) {
    const file = join(out, ...path.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
  }
}

/** Adds `k8s` and its subcommands to `program` (created through it, so they inherit its exit and output settings). */
export function registerK8sCommands(program: Command, setExit: (code: number) => void): void {
  const k8s = program.command('k8s').description('Kubernetes: render the pair as YAML, clean up leftovers, run a generator pod');

  k8s
    .command('render')
    .description('write the objects a kubernetes scenario deploys as YAML with a kustomization.yaml (jobs/ holds the generator Jobs)')
    .argument('<scenario>', 'scenario file (env.kind: kubernetes), or the name of a shipped one, e.g. k8s-istio-sidecar')
    .requiredOption('--out <dir>', 'output directory (an earlier render there is replaced)')
    .option('--run-id <id>', 'run id in the namespace names (meshbench-<id>-meshed / -unmeshed)', 'render')
    .option('--image <image>', 'use this image (entrypoint: the meshbench CLI, see Dockerfile) instead of env.image')
    .action(async (scenarioArg: string, opts: { out: string; runId: string; image?: string }) => {
      const { scenario } = await loadScenario(scenarioArg);
      const { renderFiles, RENDER_HEADER } = await import('../envs/kubernetes/render.js');
      const files = await renderFiles(scenario, opts.image === undefined ? { runId: opts.runId } : { runId: opts.runId, image: opts.image });
      await writeRender(opts.out, files, RENDER_HEADER);
      process.stdout.write(`${[...files.keys()].map((f) => join(opts.out, f)).join('\n')}\n`);
      setExit(EXIT.pass);
    });

  k8s
    .command('cleanup')
    .description('delete what meshbench left in a cluster: the namespaces of one run (--run), or every meshbench namespace (--all); with neither, list them')
    .option('--run <id>', 'delete this run\'s namespaces (its id is in result.json environment.facts.runId)')
    .option('--all', 'delete every namespace labelled app.kubernetes.io/managed-by=meshbench, a concurrent run\'s too')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (opts: { run?: string; all?: boolean; context?: string; kubeconfig?: string; dryRun?: boolean }) => {
      if (opts.all === true && opts.run !== undefined) throw new MeshbenchError('MB_BAD_ARGUMENT', '--all and --run exclude each other: give one');
      const { Kube } = await import('../envs/kubernetes/client.js');
      const { deleteByLabel } = await import('../envs/kubernetes/index.js');
      const { selectorOf, isOurs, RUN_LABEL } = await import('../envs/kubernetes/manifests.js');
      const kube = Kube.connect({ ...(opts.context === undefined ? {} : { context: opts.context }), ...(opts.kubeconfig === undefined ? {} : { kubeconfig: opts.kubeconfig }) });
      // Without --run or --all a bare cleanup only lists: a concurrent CI run's namespaces must survive it.
      const listOnly = opts.dryRun === true || (opts.run === undefined && opts.all !== true);
      let names: string[];
      if (listOnly) {
        const { items } = await kube.list('Namespace', undefined, selectorOf(opts.run));
        names = items.filter((n) => isOurs(n.metadata?.labels, opts.run)).map((n) => `${n.metadata?.name ?? '?'} (run ${n.metadata?.labels?.[RUN_LABEL] ?? '?'})`);
      } else {
        names = await deleteByLabel(kube, opts.run);
      }
      const verb = listOnly ? 'would delete' : 'deleted';
      const how = listOnly && opts.dryRun !== true && names.length > 0 ? '\nnothing deleted: pass --run <id> for one run, or --all for every one of them\n' : '\n';
      process.stdout.write(names.length === 0 ? `nothing to delete (context ${kube.context})\n` : `${verb} namespace ${names.join(', ')} (context ${kube.context})${how}`);
      setExit(EXIT.pass);
    });

  k8s
    .command('records')
    .description('read a generator pod\'s log on stdin (kubectl logs POD | meshbench k8s records) and print each whole record as one JSON line')
    .action(async () => {
      const { ChunkReader } = await import('../envs/kubernetes/chunks.js');
      const reader = new ChunkReader();
      let n = 0;
      const print = (records: { seq: number; value: unknown }[]): void => {
        for (const r of records) process.stdout.write(`${JSON.stringify({ seq: r.seq, record: r.value })}\n`);
        n += records.length;
      };
      process.stdin.setEncoding('utf8');
      for await (const text of process.stdin) print(reader.push(text as string));
      print(reader.end());
      if (n === 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `no whole meshbench record on stdin${reader.damaged > 0 ? ` (${reader.damaged} damaged chunk(s))` : ''}: pipe in a generator pod's log`);
      setExit(EXIT.pass);
    });

  k8s
    .command('generate')
    .description('(inside a generator pod) run shard $JOB_COMPLETION_INDEX of a load or probe job; prints its output as meshbench-chunk lines')
    .requiredOption('--job <json>', 'the job, as the environment wrote it into the pod')
    .action(async (opts: { job: string }) => {
      const { generateMain } = await import('../envs/kubernetes/generator.js');
      setExit(await generateMain(opts.job, (line) => void process.stdout.write(`${line}\n`), withSignals().signal));
    });
}
