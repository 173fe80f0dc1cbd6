import type { CompletionSink, Driver, DriverConnection, ErrorKind } from './driver.js';

/**
 * One driver over several replicas of the same service (LoadSpec.replicas): connection i goes to replica
 * i mod n, as that replica's connection ⌊i / n⌋ — so per-replica grouping (gRPC streams sharing a channel)
 * stays as it would be against one target. Completions come back under the caller's index through one small
 * adapter per connection; nothing is allocated per request.
 */
export function spreadDriver(drivers: readonly Driver[]): Driver {
  const first = drivers[0];
  if (first === undefined) throw new Error('spreadDriver needs at least one driver');
  if (drivers.length === 1) return first;
  const n = drivers.length;
  return {
    protocol: first.protocol,
    connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
      const adapter: CompletionSink = {
        onResponse: () => sink.onResponse(index),
        onError: (_inner: number, kind: ErrorKind) => sink.onError(index, kind),
        onConnected: () => sink.onConnected?.(index),
      };
      return (drivers[index % n] as Driver).connect(Math.floor(index / n), adapter);
    },
    async close(): Promise<void> {
      await Promise.all(drivers.map((d) => d.close()));
    },
  };
}
