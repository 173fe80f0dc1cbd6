import type { ProtocolConfig } from '../config/schema.js';
import type { RunningEnv } from '../envs/env.js';
import { loadSpec } from '../load/spec.js';
import type { DriverExtras, LoadSpec } from '../load/types.js';
import type { VariantName } from '../protocols.js';

/** One variant's load job for one protocol, as the running env reaches it. */
export interface Lane {
  name: VariantName;
  spec: LoadSpec;
}

/**
 * The lanes of one protocol, in `order` (variants the env has no target for are left out): each variant's
 * target and replicas (LoadSpec.replicas), and its TLS on top of `driverOptions`. `run` and `pilot` both load
 * through this, so what reaches a variant's workload is decided in one place.
 */
export function variantLanes(env: RunningEnv, order: readonly VariantName[], config: ProtocolConfig, lateThresholdMs: number, driverOptions: DriverExtras = {}): Lane[] {
  return order.flatMap((name) => {
    const v = env.variants.find((e) => e.name === name);
    const target = v?.targets[config.name];
    if (v === undefined || target === undefined) return [];
    const extras: DriverExtras = { ...driverOptions, ...(v.tls === undefined ? {} : { tls: v.tls }) };
    const spec = loadSpec(config, target, lateThresholdMs, v.replicas?.[config.name]);
    return [{ name, spec: Object.keys(extras).length > 0 ? { ...spec, driverOptions: { ...spec.driverOptions, ...extras } } : spec }];
  });
}
