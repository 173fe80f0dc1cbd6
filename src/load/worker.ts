import { parentPort, workerData } from 'node:worker_threads';
import { loadDriver } from '../drivers/load-driver.js';
import { toLocalUs } from './clock.js';
import { LoadLoop } from './loop.js';
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker } from './messages.js';
import { errorMessage } from '../errors.js';

/**
 * Load worker thread (entry point, started by pool.ts): opens this worker's share of connections,
 * reports ready, runs the loop from the common start time, and posts its partial result (histograms
 * encoded) — or an error saying what broke.
 */
const data = workerData as LoadWorkerData;
const port = parentPort;
if (port === null) throw new Error('load/worker.js must run as a worker thread (started by runLoad)');

const post = (message: FromLoadWorker): void => port.postMessage(message);

const driver = (await loadDriver(data.driver.protocol)).create({ target: data.driver.target, payloadBytes: data.driver.payloadBytes, headers: data.driver.headers });
const loop = new LoadLoop(driver, data.loop);

async function start(startSharedUs: number): Promise<void> {
  try {
    const result = await loop.run({
      startUs: toLocalUs(startSharedUs),
      phaseUs: data.phaseUs,
      onProgress: (progress) => post({ type: 'progress', progress }),
    });
    await loop.close();
    post({ type: 'result', result });
  } catch (err) {
    await loop.close().catch(() => undefined);
    post({ type: 'error', message: errorMessage(err) });
  }
}

port.on('message', (message: ToLoadWorker) => {
  if (message.type === 'start') void start(message.startSharedUs);
  else loop.stop();
});

try {
  await loop.connect();
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'error', message: errorMessage(err) });
}
