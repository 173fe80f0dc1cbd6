import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { CompletionSink, Driver, DriverConnection } from '../../src/drivers/driver.js';
import { Http1ResponseParser, type Http1ParserHandler } from '../../src/drivers/http1-parser.js';
import { nowUs } from '../../src/timing/clock.js';
import { LoadLoop } from '../../src/load/loop.js';
import type { ArrivalsSpec } from '../../src/load/arrivals/index.js';

/**
 * The generator core in isolation (run with --expose-gc): the real LoadLoop, LoopRecorder, clock and
 * HTTP/1.1 response parser, driven synchronously — each iteration parses one response from a fixed Buffer,
 * which completes the request on its connection; the loop records it and sends the next (open loop: the
 * next due request). The only thing faked is the socket, so what this measures is everything meshbench
 * itself does per request. Heap growth over N requests with no GC in between is the garbage per request.
 *
 * Prints {"closed": {...}, "open": {...}} with bytesPerRequest, gcs, nsPerRequest.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const CONNECTIONS = 32;
const WARM = 300_000;
const N = 500_000;
const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 07:54:44 GMT\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nConnection: keep-alive\r\n\r\nhello from nginx\n', 'latin1');

class SocketlessDriver implements Driver {
  readonly protocol = 'http1' as const;
  readonly sinks: CompletionSink[] = [];
  async connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    this.sinks[index] = sink;
    return { send: () => undefined, abort: () => undefined, close: async () => undefined };
  }
  async close(): Promise<void> {}
}

class Completer implements Http1ParserHandler {
  constructor(
    private readonly sink: CompletionSink,
    private readonly index: number,
  ) {}
  onParsedResponse(): void {
    this.sink.onResponse(this.index);
  }
  onParseError(): void {
    throw new Error('parse error');
  }
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
/**
 * Open loop: a cap above what the run sends, so ending it counts at most that many due-but-unsent arrivals —
 * at 1e9 Hz the uncapped walk over every arrival due by the stop takes minutes (Poisson, stages).
 */
const OPEN_CAP = 2 * (WARM + N);
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

/** `MESHBENCH_ARRIVALS='{"kind":"poisson","seed":1}'`: the open loop on other arrivals (load/arrivals/). */
const arrivals = process.env['MESHBENCH_ARRIVALS'] === undefined ? {} : { arrivals: JSON.parse(process.env['MESHBENCH_ARRIVALS']) as ArrivalsSpec };

async function measure(model: 'open' | 'closed'): Promise<{ bytesPerRequest: number | null; gcs: number; nsPerRequest: number; requests: number }> {
  const driver = new SocketlessDriver();
  const loop = new LoadLoop(driver, { model, rateHz: model === 'open' ? 1e9 : 0, connections: CONNECTIONS, durationMs: 600_000, warmupMs: 0, timeoutMs: 600_000, intervalMs: 600_000, maxRequests: model === 'open' ? OPEN_CAP : 0, lateThresholdUs: 1000, ...arrivals });
  await loop.connect();
  const running = loop.run({ startUs: nowUs() + 1000 });
  await settle(); // every connection has sent its first request
  const parsers = driver.sinks.map((sink, i) => new Http1ResponseParser(new Completer(sink, i)));
  const drive = (count: number): void => {
    for (let i = 0; i < count; i++) (parsers[i % CONNECTIONS] as Http1ResponseParser).execute(RESPONSE);
  };
  drive(WARM);
  gc?.();
  gc?.();
  await settle(); // let the gc observer report the forced collections before counting
  const gcsBefore = gcs;
  const before = v8.getHeapStatistics().used_heap_size;
  const t0 = process.hrtime.bigint();
  drive(N);
  const t1 = process.hrtime.bigint();
  const after = v8.getHeapStatistics().used_heap_size;
  await settle();
  const during = gcs - gcsBefore;
  loop.stop();
  await running;
  await loop.close();
  return { bytesPerRequest: during === 0 ? Math.max(0, after - before) / N : null, gcs: during, nsPerRequest: Number(t1 - t0) / N, requests: N };
}

const closed = await measure('closed');
const open = await measure('open');
process.stdout.write(`${JSON.stringify({ closed, open })}\n`);
process.exit(0);
