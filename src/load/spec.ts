import { availableParallelism } from 'node:os';
import type { ArrivalsConfig, ProtocolConfig } from '../config/schema.js';
import type { ArrivalsSpec } from './arrivals/index.js';
import type { DriverExtras, LoadSpec } from './types.js';

/**
 * The load job of one protocol of a scenario against one target (per round and variant), or against several
 * replicas of it (`replicas`, the first being `target`); a request sent more than `lateThresholdMs` (scenario
 * validity.lateThresholdMs) after its intended time counts as late.
 */
export function loadSpec(config: ProtocolConfig, target: string, lateThresholdMs = 1, replicas?: readonly string[]): LoadSpec {
  const at = (t: string): string => (config.name === 'http1' || config.name === 'http2' || config.name === 'websocket' ? withPath(t, config.path) : t);
  return {
    protocol: config.name,
    target: at(target),
    ...(replicas !== undefined && replicas.length > 1 ? { replicas: replicas.map(at) } : {}),
    model: config.model,
    rateHz: config.rateHz,
    ...(config.arrivals.kind === 'constant' ? {} : { arrivals: arrivalsSpec(config.arrivals) }),
    ...(config.churn?.everyRequests !== undefined ? { churn: { everyRequests: config.churn.everyRequests } } : {}),
    ...(config.churn?.rateHz !== undefined ? { churn: { rateHz: config.churn.rateHz } } : {}),
    connections: config.connections,
    durationMs: Math.round(config.durationS * 1000),
    warmupMs: Math.round(config.warmupS * 1000),
    payloadBytes: config.payloadBytes,
    timeoutMs: config.timeoutMs,
    headers: config.headers,
    workers: Math.min(config.workers, config.connections, availableParallelism()),
    intervalMs: 1000,
    maxRequests: 0,
    lateThresholdUs: Math.round(lateThresholdMs * 1000),
    ...trafficOptions(config),
  };
}

/** What the drivers are told of the protocol's traffic mix and HTTP/2 streams (nothing when it sets neither). */
function trafficOptions(config: ProtocolConfig): Pick<LoadSpec, 'driverOptions'> {
  const options: DriverExtras = {};
  if (config.streamsPerConnection !== undefined) options.streamsPerConnection = config.streamsPerConnection;
  const mix = config.mix;
  if (mix !== undefined) {
    const { requests, ...traffic } = mix;
    if (requests !== undefined) options.requests = requests;
    options.mix = traffic;
  }
  return Object.keys(options).length === 0 ? {} : { driverOptions: options };
}

/** Replaces the target URL's path and query with the scenario's `path` unless it is the default "/". */
function withPath(target: string, path: string): string {
  if (path === '/') return target;
  const url = new URL(target);
  const [pathname, query] = path.split('?', 2);
  url.pathname = pathname ?? '/';
  url.search = query === undefined ? '' : `?${query}`;
  return url.toString();
}

/** The scenario's arrivals as the loop takes them (ms instead of s). */
export function arrivalsSpec(config: ArrivalsConfig): ArrivalsSpec {
  if (config.kind !== 'stages') return config;
  return { ...config, stages: config.stages.map((s) => ({ durationMs: s.durationS * 1000, targetRateHz: s.targetRateHz })) };
}
