import type { StaticEnvConfig } from '../config/schema.js';
import { readTlsFiles } from '../config/tls.js';
import { errorMessage, MeshbenchError } from '../errors.js';
import { BASELINE_VARIANT, MESHED_VARIANT, type Protocol } from '../protocols.js';
import type { MeshExpectation } from '../result.js';
import type { RunningEnv, VariantTargets } from './env.js';
import { unlessAborted } from './local/processes.js';
import { driverProbe, type ProbeFn } from './proof.js';

/**
 * The static environment: a pair the user already runs (e.g. behind `kubectl port-forward`). meshbench
 * starts nothing and owns nothing; it only checks, before returning, that every target answers, so a typo
 * or a dead port-forward fails in seconds with the field to fix instead of as a run full of errors.
 */

const REACH_TIMEOUT_MS = 3000;

type StaticVariantConfig = StaticEnvConfig['variants']['unmeshed'];

export function expectationOf(proof: StaticVariantConfig['proof']): MeshExpectation {
  if (proof === 'none') return { kind: 'none' };
  if (proof === 'unverified') return { kind: 'unverified', why: 'the scenario marks this variant unverified (env.variants.*.proof)' };
  return { kind: 'header', header: proof.header.toLowerCase() };
}

/** The shortest useful reason: an errno code (ECONNREFUSED …) when one is there, else the message. */
function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const message = errorMessage(err);
  return /\bE[A-Z]{3,}\b/.exec(message)?.[0] ?? message.slice(0, 200);
}

export async function startStaticEnv(
  config: StaticEnvConfig,
  protocols: readonly Protocol[],
  signal?: AbortSignal,
  probe: ProbeFn = driverProbe,
): Promise<RunningEnv> {
  const variants: VariantTargets[] = ([BASELINE_VARIANT, MESHED_VARIANT] as const).map((name) => {
    const v = config.variants[name];
    const targets: Partial<Record<Protocol, string>> = {};
    for (const p of protocols) {
      const target = v.targets[p];
      if (target === undefined) {
        throw new MeshbenchError('MB_BAD_SCENARIO', `env.variants.${name}.targets.${p}: required — protocol "${p}" is run but has no ${name} target`);
      }
      targets[p] = target;
    }
    const tls = v.tls === undefined ? undefined : readTlsFiles(v.tls, (field) => `env.variants.${name}.tls.${field}`);
    return { name, targets, expect: expectationOf(v.proof), ...(tls === undefined ? {} : { tls }) };
  });

  const checks = variants.flatMap((v) =>
    protocols.map(async (p) => {
      const target = v.targets[p] ?? '';
      try {
        await probe(p, { target, payloadBytes: 16, headers: {}, ...(v.tls === undefined ? {} : { tls: v.tls }) }, REACH_TIMEOUT_MS);
        return null;
      } catch (err) {
        return `env.variants.${v.name}.targets.${p}: ${target} did not answer (${reasonOf(err)}) — check the URL / port-forward`;
      }
    }),
  );
  const problems = (await unlessAborted(Promise.all(checks), signal, 'checking the static targets')).filter((p) => p !== null);
  if (problems.length > 0) {
    throw new MeshbenchError('MB_UNREACHABLE_TARGET', problems.join('\n'), { problems });
  }

  return {
    kind: 'static',
    facts: {
      nodeVersion: process.version,
      targets: Object.fromEntries(variants.map((v) => [v.name, v.targets])),
      // Loud: a run that did not verify its servers' certificates says so in result.json.
      ...(variants.some((v) => v.tls?.insecure === true) ? { tlsInsecure: variants.filter((v) => v.tls?.insecure === true).map((v) => v.name) } : {}),
    },
    variants,
    sampleProxies: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
}
