import { existsSync } from 'node:fs';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { drivers } from '../../src/drivers/index.js';
import type { UpInfo } from '../../src/cli/up.js';
import { isAlive, startCli } from './helpers.js';

/** `meshbench up`: the local pair stays up for the user's own tools until Ctrl-C, then everything is gone. */

function get(url: string): Promise<http.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

describe('meshbench up', () => {
  it('prints every protocol\'s meshed and unmeshed address, answers on them, and cleans up on SIGINT', async () => {
    const { child, done } = startCli(['up', '--json']);
    const info = await new Promise<UpInfo>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (d: Buffer) => {
        text += d.toString();
        const nl = text.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as UpInfo);
      });
      child.on('close', (code) => reject(new Error(`up exited (${code}) before printing its addresses`)));
    });
    try {
      const targets = (name: string) => info.variants.find((v) => v.name === name)?.targets ?? {};
      for (const name of ['unmeshed', 'meshed']) {
        expect(Object.keys(targets(name)).sort()).toEqual(['grpc-bidi', 'grpc-unary', 'http1', 'http2', 'websocket']);
      }
      // The meshed path carries the identity sidecar B verified; the unmeshed one none.
      expect((await get(targets('meshed').http1 ?? ''))['x-echo-x-forwarded-client-cert']).toMatch(/URI=spiffe:\/\//);
      expect((await get(targets('unmeshed').http1 ?? ''))['x-echo-x-forwarded-client-cert']).toBeUndefined();
      const grpc = await drivers['grpc-unary'].probe({ target: targets('meshed')['grpc-unary'] ?? '', payloadBytes: 8, headers: {} }, 5000);
      expect(grpc.status).toBe('OK');
      expect(grpc.headers['x-echo-x-forwarded-client-cert']).toMatch(/URI=spiffe:\/\//);
      expect(existsSync(info.serverSidecar.caFile)).toBe(true);
      expect(info.pids.every(isAlive)).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
    const run = await done;
    expect(run.code).toBe(0);
    expect(info.pids.some(isAlive)).toBe(false);
    expect(existsSync(info.dir)).toBe(false);
  });
});
