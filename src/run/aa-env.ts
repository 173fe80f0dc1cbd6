import type { RunningEnv } from '../envs/env.js';
import type { ProofRecord } from '../result.js';
import { MeshbenchError } from '../errors.js';
import { BASELINE_VARIANT } from '../protocols.js';

/**
 * `run --aa`: the same environment, but every variant drives the baseline's (unmeshed) targets, from where
 * the baseline's load runs, and must prove unmeshed. The rest of the pipeline is untouched — rounds are
 * interleaved and judged as in any run — so an A/A run measures exactly what the method makes of two
 * identical variants.
 */
export function aaEnv(env: RunningEnv): RunningEnv {
  const base = env.variants.find((v) => v.name === BASELINE_VARIANT);
  if (base === undefined) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `--aa needs the "${BASELINE_VARIANT}" variant, and this environment has only ${env.variants.map((v) => v.name).join(', ')}`);
  }
  const variants = env.variants.map((v) => ({ name: v.name, targets: base.targets, expect: { kind: 'none' as const } }));
  const wrapped: RunningEnv = {
    kind: env.kind,
    // A getter: environments add facts while they run (e.g. kubernetes sidecarCost after the rounds).
    get facts() {
      return { ...env.facts, aa: `every variant drives the ${BASELINE_VARIANT} targets` };
    },
    variants,
    sampleProxies: () => env.sampleProxies(BASELINE_VARIANT),
    close: () => env.close(),
  };
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
