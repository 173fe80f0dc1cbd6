import type { EnvConfig } from '../config/schema.js';
import type { Protocol } from '../protocols.js';
import type { RunningEnv } from './env.js';
import { startLocalEnv } from './local/index.js';
import { startStaticEnv } from './static.js';

export type { RunningEnv } from './env.js';
export { provePaths } from './proof.js';

/**
 * Starts the environment a scenario names and resolves once every variant's targets answer. The caller
 * owns the result and must close() it on every path (it is idempotent). An abort during startup cleans up
 * what was started and rejects with MB_INTERRUPTED.
 */
export function startEnv(config: EnvConfig, protocols: Protocol[], signal?: AbortSignal): Promise<RunningEnv> {
  switch (config.kind) {
    case 'local':
      return startLocalEnv(config, protocols, signal);
    case 'static':
      return startStaticEnv(config, protocols, signal);
    case 'kubernetes':
      // Loaded on demand: @kubernetes/client-node is heavy and only this env needs it.
      return import('./kubernetes/index.js').then((k8s) => k8s.startKubernetesEnv(config, protocols, signal));
  }
}
