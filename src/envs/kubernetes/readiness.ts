import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A generator pod's readiness endpoint for the start barrier: `GET /ready` answers 503 until the generator calls
 * ready() (its targets answer through its own sidecar and, ambient, its capture annotation is seen), then 200.
 * The Job's pod template probes it (manifests.ts: readinessProbe httpGet, period 1 s), so the pod's Ready condition
 * — which with a sidecar also needs the proxy ready — tells meshbench that this generator can start. One tiny
 * response a second while the load runs; no token, no API call from the pod.
 *
 * The meshes and the probe: Istio's injector rewrites httpGet probes to its agent (:15020/app-health/generator/readyz),
 * which calls this port on the pod's own address — hence 0.0.0.0; Linkerd lets the kubelet's probe through its
 * proxy to the port as is; ambient's ztunnel exempts kubelet probes. The port is named http-ready (protocol prefix,
 * as Istio names ports) and is not behind any Service.
 */

export const READY_PORT = 8079;
export const READY_PATH = '/ready';

export interface ReadinessEndpoint {
  /** The port it listens on (READY_PORT in a pod; 0 picks a free one in tests). */
  port: number;
  ready(): void;
  close(): Promise<void>;
}

export async function serveReadiness(port = READY_PORT, host = '0.0.0.0'): Promise<ReadinessEndpoint> {
  let ready = false;
  const server = createServer((req, res) => {
    const ok = ready && req.url === READY_PATH;
    res.writeHead(ok ? 200 : req.url === READY_PATH ? 503 : 404, { 'content-type': 'text/plain', connection: 'close' }).end(ok ? 'ready\n' : 'not ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    ready: () => {
      ready = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
