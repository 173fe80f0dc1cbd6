import { stringify } from 'yaml';
import type { KubernetesEnvConfig, Scenario } from '../../config/schema.js';
import { MeshbenchError } from '../../errors.js';
import { loadSpec } from '../../load/spec.js';
import { inclusterBundle } from './bundle.js';
import type { GeneratorJob } from './generator.js';
import {
  renderCodeConfigMap,
  renderEchoDeployment,
  renderEchoService,
  renderGeneratorJob,
  renderNamespace,
  renderPilotGenerator,
  targetsOf,
  variantsOf,
  JOB_LABEL,
  START_AT_ANNOTATION,
  hasSidecar,
  type K8sPlan,
} from './manifests.js';
import { MESH_PROFILES } from './meshes.js';
import { renderClusterRole, renderRole } from './rbac.js';
import type { PilotGeneratorJob } from './pilot-generator.js';

/**
 * `meshbench k8s render`: the objects a run applies, as YAML files for GitOps. The top-level
 * kustomization.yaml deploys the pair (namespaces, code ConfigMap, echo Deployments and Services); jobs/ holds
 * one generator Job per variant × protocol and a probe Job per variant, all suspended — applying jobs/ starts
 * nothing; unsuspend them one at a time once the echo is ready, publish a load Job's start once its pods are
 * Ready (the start barrier, as a run does it: jobs/kustomization.yaml says how) and read the results with
 * `kubectl logs POD | meshbench k8s records`. pilot/ holds a pilot's generators (a Deployment per variant × shard)
 * on the wall-clock grid: windows of `pilot.windowS` aligned to the epoch, so every pod numbers them alike,
 * running for a week from their start. Apply with server-side apply: the code ConfigMap (≈ 0.7 MB) is far over
 * the 256 KiB that client-side apply's last-applied annotation can hold.
 * Pure apart from building the code bundle: the same scenario and run id give the same bytes.
 */

export const RENDER_HEADER = '# Rendered by `meshbench k8s render`; re-render instead of editing.';

/** Fixed (a render is reproducible); a manual probe only needs some trace id to look for in the echo's reply. */
const RENDER_TRACE_HEADERS = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', b3: '4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1' };

export interface RenderOptions {
  runId: string;
  /** Overrides env.image (e.g. an image built from the Dockerfile). */
  image?: string;
}

function yamlDocs(objects: readonly object[], comment?: string): string {
  const head = comment === undefined ? `${RENDER_HEADER}\n` : `${RENDER_HEADER}\n# ${comment}\n`;
  return head + objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** File path (relative, "/"-separated) → content. */
export async function renderFiles(scenario: Scenario, options: RenderOptions): Promise<Map<string, string>> {
  if (scenario.env.kind !== 'kubernetes') {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `scenario "${scenario.name}" has env.kind "${scenario.env.kind}": k8s render needs env.kind: kubernetes`);
  }
  if (!/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/.test(options.runId)) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--run-id "${options.runId}": 1–16 lower-case letters, digits and "-" (it becomes part of namespace names)`);
  }
  const env: KubernetesEnvConfig = options.image === undefined ? scenario.env : { ...scenario.env, image: options.image };
  const code = env.image === undefined ? await inclusterBundle() : undefined;
  const plan: K8sPlan = code === undefined ? { runId: options.runId, env } : { runId: options.runId, env, code };
  const profile = MESH_PROFILES[env.mesh];
  const variants = variantsOf(plan);
  const files = new Map<string, string>();
  const resources: string[] = [];
  const add = (path: string, text: string, inKustomization: boolean): void => {
    files.set(path, text);
    if (inKustomization) resources.push(path);
  };

  if (env.namespaces === undefined) add('namespaces.yaml', yamlDocs(variants.map((v) => renderNamespace(plan, v))), true);
  // what `meshbench run` needs (the render needs nothing): for an admin to apply and bind, not part of the kustomization
  const rbac = env.namespaces === undefined ? [renderClusterRole()] : variants.map((v) => renderRole(v.namespace));
  add('rbac.yaml', yamlDocs(rbac, `the rights of the user that runs \`meshbench run\` on this scenario; bind with a ${env.namespaces === undefined ? 'ClusterRoleBinding' : 'RoleBinding in each namespace'}`), false);
  const jobs: string[] = [];
  const pilot: string[] = [];
  for (const v of variants) {
    if (code !== undefined) add(`${v.variant}/code-configmap.yaml`, yamlDocs([renderCodeConfigMap(plan, v, code)], 'meshbench bundled for the stock node image'), true);
    add(`${v.variant}/echo.yaml`, yamlDocs([renderEchoDeployment(plan, v), renderEchoService(plan, v)]), true);
    const targets = targetsOf(plan, v);
    const shutdown = hasSidecar(plan, v, 'generator') && profile.shutdownUrl !== undefined ? { shutdownUrl: profile.shutdownUrl } : {};
    const readyTimeoutMs = env.readyTimeoutS * 1000;
    const probe: GeneratorJob = {
      kind: 'probe',
      probes: scenario.protocols.map((p) => ({ protocol: p.name, target: targets[p.name], headers: { ...RENDER_TRACE_HEADERS } })),
      readyTimeoutMs,
      ...shutdown,
    };
    const probePath = `jobs/${v.variant}-probe.yaml`;
    files.set(probePath, yamlDocs([renderGeneratorJob(plan, v, 'probe', probe, readyTimeoutMs / 1000 + 60, true)], 'proof: what the echo reflected, in `kubectl logs job/probe`'));
    jobs.push(probePath);
    for (const p of scenario.protocols) {
      const spec = { ...loadSpec(p, targets[p.name]), workers: Math.min(p.workers, p.connections) };
      const job: GeneratorJob = { kind: 'load', spec, shards: env.generators, readyTimeoutMs, startAnnotation: START_AT_ANNOTATION, ...shutdown };
      const deadlineS = readyTimeoutMs / 1000 + p.warmupS + p.durationS + p.timeoutMs / 1000 + 60;
      const path = `jobs/${v.variant}-${p.name}.yaml`;
      files.set(path, yamlDocs([renderGeneratorJob(plan, v, `load-${p.name}`, job, deadlineS, true)], `one round of load, its pods starting together once you publish the start (jobs/kustomization.yaml); read each pod's result with \`kubectl logs POD | meshbench k8s records\``));
      jobs.push(path);
    }
    const specs = scenario.protocols.map((p) => ({ ...loadSpec(p, targets[p.name]), warmupMs: Math.round(Math.max(p.warmupS, p.firstWarmupS) * 1000), workers: Math.min(p.workers, p.connections) }));
    const generators = Array.from({ length: env.generators }, (_, shard) => {
      const job: PilotGeneratorJob = { kind: 'pilot', variant: v.variant, specs, shards: env.generators, shard, gridStartMs: 0, firstWindow: 0, windowS: scenario.pilot.windowS, readyTimeoutMs };
      return renderPilotGenerator(plan, v, job);
    });
    const pilotPath = `pilot/${v.variant}-generators.yaml`;
    files.set(pilotPath, yamlDocs(generators, 'a pilot\'s generators; follow its windows with `kubectl logs -f deploy/pilot-generator-0 | meshbench k8s records`'));
    pilot.push(pilotPath);
  }
  const kustomization = (list: string[], how: string): string =>
    `${RENDER_HEADER}\n# ${how}\n${stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: list })}`;
  files.set('kustomization.yaml', kustomization(resources, `kubectl apply --server-side --field-manager=meshbench -k <dir> (Argo CD: syncOptions ServerSideApply=true)`));
  files.set(
    'jobs/kustomization.yaml',
    kustomization(
      jobs.map((j) => j.slice('jobs/'.length)),
      'every Job is suspended: start one at a time with kubectl -n <ns> patch job <name> --type merge -p \'{"spec":{"suspend":false}}\'\n' +
        `# a load Job's pods then wait at the start barrier: once kubectl -n <ns> wait --for=condition=Ready pod -l ${JOB_LABEL}=<name> returns, publish the start (epoch ms)\n` +
        `# with kubectl -n <ns> annotate pod -l ${JOB_LABEL}=<name> ${START_AT_ANNOTATION}=$(( $(date +%s%3N) + 2000 ))`,
    ),
  );
  files.set('pilot/kustomization.yaml', kustomization(pilot.map((j) => j.slice('pilot/'.length)), 'a pilot\'s generators: kubectl apply --server-side -k <dir>/pilot once the echo is ready'));
  return files;
}
