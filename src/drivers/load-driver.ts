import type { Protocol } from '../protocols.js';
import type { DriverModule } from './driver.js';

/**
 * The driver module of one protocol, importing only that driver (index.ts imports all five). Load workers
 * use it so an HTTP/1.1 worker does not load grpc-js, proto-loader and ws: less start-up CPU and memory
 * per worker thread.
 */
export async function loadDriver(protocol: Protocol): Promise<DriverModule> {
  switch (protocol) {
    case 'http1':
      return (await import('./http1.js')).http1;
    case 'grpc-bidi':
      return (await import('./grpc.js')).grpcBidi;
    case 'grpc-unary':
      return (await import('./grpc.js')).grpcUnary;
    case 'websocket':
      return (await import('./websocket.js')).websocket;
    case 'http2':
      return (await import('./http2.js')).http2;
  }
}
