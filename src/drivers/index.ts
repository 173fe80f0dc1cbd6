import type { Protocol } from '../protocols.js';
import type { DriverModule } from './driver.js';
import { grpcBidi, grpcUnary } from './grpc.js';
import { http1 } from './http1.js';
import { http2 } from './http2.js';
import { websocket } from './websocket.js';

/** One driver module per protocol; see driver.ts for the interface and its contract. */
export const drivers: Record<Protocol, DriverModule> = {
  http1,
  'grpc-bidi': grpcBidi,
  'grpc-unary': grpcUnary,
  websocket,
  http2,
};

export type { CompletionSink, Driver, DriverConnection, DriverModule, DriverOptions, ErrorKind, ProbeResult } from './driver.js';
