import { parentPort, workerData } from 'node:worker_threads';
import { loadDriver } from '../drivers/load-driver.js';
import { spreadDriver } from '../drivers/spread.js';
import { HiccupMeter } from '../meters/hiccup.js';
import { toLocalUs } from '../timing/clock.js';
import { LoadLoop } from './loop.js';
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker } from './messages.js';
import { errorMessage } from '../errors.js';
import type { IntervalHistogram } from '../histograms/index.js';

/**
 * Load worker thread (entry point, started by pool.ts): opens this worker's share of connections for every
 * lane (one lane per target: paired variants run side by side on this one thread, so a stall of the thread or
 * the machine hits all of them alike), reports ready, runs every lane's loop from the common start time, and
 * posts the lanes' partial results (histograms encoded) with this thread's hiccups — or an error saying what
 * broke.
 */
const data = workerData as LoadWorkerData;
const port = parentPort;
if (port === null) throw new Error('load/worker.js must run as a worker thread (started by runLoads)');

const post = (message: FromLoadWorker): void => port.postMessage(message);

const loops = await Promise.all(
  data.lanes.map(async (lane) => {
    const { protocol, replicas, ...options } = lane.driver;
    const module = await loadDriver(protocol);
    return new LoadLoop(spreadDriver((replicas ?? [options.target]).map((target) => module.create({ ...options, target }))), lane.loop);
  }),
);
// Running from the start (its ticker thread needs tens of ms to come up); what it saw before the load is dropped.
const meter = new HiccupMeter().start();
const closeAll = (): Promise<unknown> => Promise.allSettled([...loops.map((l) => l.close()), meter.close()]);

async function start(startSharedUs: number): Promise<void> {
  try {
    const startUs = toLocalUs(startSharedUs);
    meter.take();
    const results = await Promise.all(
      loops.map((loop, lane) =>
        loop.run({
          startUs,
          phaseUs: data.lanes[lane]?.phaseUs ?? 0,
          onProgress: (progress) => post({ type: 'progress', lane, progress }),
          ...(data.stream ? { onInterval: (interval: IntervalHistogram) => post({ type: 'interval', lane, interval }) } : {}),
        }),
      ),
    );
    const hiccupHistogram = meter.take();
    await closeAll();
    post({ type: 'result', results, hiccupHistogram });
  } catch (err) {
    for (const loop of loops) loop.stop();
    await closeAll();
    post({ type: 'error', message: errorMessage(err) });
  }
}

port.on('message', (message: ToLoadWorker) => {
  if (message.type === 'start') void start(message.startSharedUs);
  else for (const loop of loops) loop.stop();
});

try {
  await Promise.all(loops.map((loop) => loop.connect()));
  post({ type: 'ready' });
} catch (err) {
  await closeAll();
  post({ type: 'error', message: errorMessage(err) });
}
