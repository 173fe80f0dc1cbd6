import type { RunningEnv } from '../envs/env.js';
import type { ProofRecord } from '../result.js';
import { MeshbenchError } from '../errors.js';
import { BASELINE_VARIANT } from '../protocols.js';

/**
 * `run --aa`: the same environment, but every variant drives its workload directly — the meshed variant the
 * echo replicas it reaches, without the sidecars (`direct`; in a planted-delay run, the planted ports) —
 * from where the baseline's load runs, and must prove unmeshed. Where an env has no direct path for a variant
 * (static, kubernetes) it drives the baseline's targets. The rest of the pipeline is untouched — variants are
 * paired and judged as in any run — so an A/A run measures exactly what the method makes of two identical
 * variants.
 */
export function aaEnv(env: RunningEnv): RunningEnv {
  const base = env.variants.find((v) => v.name === BASELINE_VARIANT);
  if (base === undefined) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--aa needs the "${BASELINE_VARIANT}" variant, and this environment has only ${env.variants.map((v) => v.name).join(', ')}`);
  }
  const variants = env.variants.map((v) => {
    const direct = v.name === BASELINE_VARIANT ? base : (v.direct ?? base);
    const tls = direct === base ? base.tls : undefined;
    return {
      name: v.name,
      targets: direct.targets,
      ...(direct.replicas === undefined ? {} : { replicas: direct.replicas }),
      ...(tls === undefined ? {} : { tls }),
      expect: { kind: 'none' as const },
    };
  });
  const how = env.variants.every((v) => v.name === BASELINE_VARIANT || v.direct !== undefined)
    ? 'every variant drives its own workload directly (no mesh path)'
    : `every variant drives the ${BASELINE_VARIANT} targets`;
  const wrapped: RunningEnv = {
    kind: env.kind,
    // A getter: environments add facts while they run (e.g. kubernetes sidecarCost after the rounds).
    get facts() {
      return { ...env.facts, aa: how };
    },
    variants,
    sampleProxies: () => env.sampleProxies(BASELINE_VARIANT),
    close: () => env.close(),
  };
  if (env.takeHiccups !== undefined) wrapped.takeHiccups = env.takeHiccups.bind(env);
  const { runLoad, prove } = env;
  if (runLoad !== undefined) wrapped.runLoad = (_variant, spec, signal, onProgress) => runLoad.call(env, BASELINE_VARIANT, spec, signal, onProgress);
  if (prove !== undefined) {
    // The env proves where its targets are reachable; the baseline's proofs stand for every variant.
    wrapped.prove = async (protocols, signal) => {
      const proofs = (await prove.call(env, protocols, signal)).filter((p) => p.variant === BASELINE_VARIANT);
      return variants.flatMap((v): ProofRecord[] => proofs.map((p) => ({ ...p, variant: v.name })));
    };
  }
  return wrapped;
}

/** `aaEnv(env)` when `aa` is set, else `env`; closes the env if it cannot be wrapped. */
export async function withAa(env: RunningEnv, aa: boolean | undefined): Promise<RunningEnv> {
  if (aa !== true) return env;
  try {
    return aaEnv(env);
  } catch (err) {
    await env.close();
    throw err;
  }
}
