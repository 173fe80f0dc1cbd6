import { interleaved, median, sleep, type BenchContext } from '../lib/context.js';
import type { EchoTarget } from '../lib/targets.js';
import { runMeshbench, runPingPong, type LoadFigures, type PingPongKind } from '../lib/tools.js';

/**
 * 5. Streaming: per-message round trips over 16 gRPC bidi streams / 16 websockets, 64 B messages, against
 * the meshbench echo — meshbench load (closed loop, every message timed and recorded) vs a hand-written
 * ping-pong with the same library and layout (bench/peers/pingpong.ts), interleaved repetitions, medians.
 */

export interface StreamingRow {
  protocol: string;
  meshbenchHz: number;
  pingPongHz: number;
  ratio: number;
  meshbenchCpuUsPerMsg: number;
  pingPongCpuUsPerMsg: number;
  meshbenchP99Us: number;
}

export interface StreamingSection {
  streams: number;
  payloadBytes: number;
  durationS: number;
  reps: number;
  rows: StreamingRow[];
}

const STREAMS = 16;
const PAYLOAD = 64;

export async function streaming(ctx: BenchContext, echo: EchoTarget): Promise<StreamingSection> {
  const durationS = ctx.quick ? 3 : 4;
  // Both sides are Node processes sharing the cores with a Node target: noisier than HTTP/1.1 against nginx,
  // so more (shorter) repetitions.
  const reps = ctx.quick ? 1 : 5;
  const rows: StreamingRow[] = [];
  const protocols: [PingPongKind, string][] = [
    ['grpc-bidi', echo.grpcAddress],
    ['websocket', echo.wsUrl],
  ];
  for (const [protocol, url] of protocols) {
    const a = { url, connections: STREAMS, durationS, warmupS: 1 };
    const entries: { name: string; run(): Promise<LoadFigures> }[] = [
      { name: 'meshbench', run: () => runMeshbench({ ...a, protocol, extra: ['--payload', String(PAYLOAD)] }) },
      { name: 'ping-pong', run: () => runPingPong(protocol, { ...a, payloadBytes: PAYLOAD }) },
    ];
    const results = await interleaved(entries, reps, async (entry, round) => {
      await sleep(300);
      const f = await entry.run();
      ctx.log(`  streaming ${protocol} ${round + 1}/${reps} ${entry.name.padEnd(10)} ${f.rps.toFixed(0).padStart(6)} msg/s  ${f.cpuUsPerReq.toFixed(1)} µs CPU/msg${f.errors > 0 ? `  ${f.errors} errors` : ''}`);
      return f;
    });
    const mesh = results.get('meshbench') ?? [];
    const peer = results.get('ping-pong') ?? [];
    const meshbenchHz = median(mesh.map((f) => f.rps));
    const pingPongHz = median(peer.map((f) => f.rps));
    rows.push({
      protocol,
      meshbenchHz,
      pingPongHz,
      ratio: meshbenchHz / pingPongHz,
      meshbenchCpuUsPerMsg: median(mesh.map((f) => f.cpuUsPerReq)),
      pingPongCpuUsPerMsg: median(peer.map((f) => f.cpuUsPerReq)),
      meshbenchP99Us: median(mesh.map((f) => f.p99Us)),
    });
  }
  return { streams: STREAMS, payloadBytes: PAYLOAD, durationS, reps, rows };
}
