import { availableParallelism } from 'node:os';
import type { RunningEnv } from '../envs/env.js';
import type { VariantName } from '../protocols.js';
import type { PlacementRecord, ResultDocument } from '../result.js';

/** What a run or a pilot segment ran on: the env's kind and facts, this machine, and the scheduling it got. */
export function environmentRecord(env: RunningEnv, variants: VariantName[], placement: PlacementRecord, facts: Record<string, unknown> = env.facts): ResultDocument['environment'] {
  return { kind: env.kind, nodeVersion: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism(), facts, variants, placement };
}
