import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaticEnvConfig } from '../../src/config/schema.js';
import { startEnv } from '../../src/envs/index.js';
import { reservePorts } from '../../src/envs/local/processes.js';
import { provePaths } from '../../src/envs/proof.js';
import { startStaticEnv } from '../../src/envs/static.js';
import { isMeshbenchError } from '../../src/errors.js';
import { PROTOCOLS, type Protocol } from '../../src/protocols.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';

/** The static environment against a real echo (in this process) and against a port nobody listens on. */

function targetsOf(httpPort: number, grpcPort: number): StaticEnvConfig['variants']['unmeshed']['targets'] {
  return {
    http1: `http://127.0.0.1:${httpPort}/`,
    websocket: `ws://127.0.0.1:${httpPort}/`,
    'grpc-bidi': `127.0.0.1:${grpcPort}`,
    'grpc-unary': `grpc://127.0.0.1:${grpcPort}`,
    http2: `http://127.0.0.1:${httpPort}/`,
  };
}

describe('static env', () => {
  let echo: EchoServers;
  let closedPort = 0;
  beforeAll(async () => {
    echo = await startEchoServers();
    [closedPort = 0] = await reservePorts('127.0.0.1', 1);
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('returns the configured variants once every target answers', async () => {
    const config: StaticEnvConfig = {
      kind: 'static',
      variants: {
        unmeshed: { targets: targetsOf(echo.httpPort, echo.grpcPort), proof: 'none' },
        meshed: { targets: targetsOf(echo.httpPort, echo.grpcPort), proof: 'unverified' },
      },
    };
    const env = await startEnv(config, [...PROTOCOLS]);
    try {
      expect(env.kind).toBe('static');
      expect(env.variants.map((v) => [v.name, v.expect.kind])).toEqual([
        ['unmeshed', 'none'],
        ['meshed', 'unverified'],
      ]);
      expect(env.variants[0]?.targets['grpc-unary']).toBe(`grpc://127.0.0.1:${echo.grpcPort}`);
      expect(await env.sampleProxies('meshed')).toEqual([]);
      const records = await provePaths(env, [...PROTOCOLS]);
      for (const r of records) expect(r.ok, `${r.variant}/${r.protocol}: ${r.detail}`).toBe(true);
    } finally {
      await env.close();
      await env.close();
    }
  });

  it('only the protocols being run are checked and kept', async () => {
    const config: StaticEnvConfig = {
      kind: 'static',
      variants: {
        unmeshed: { targets: { ...targetsOf(echo.httpPort, echo.grpcPort), websocket: `ws://127.0.0.1:${closedPort}/` }, proof: 'none' },
        meshed: { targets: { http1: `http://127.0.0.1:${echo.httpPort}/` }, proof: { header: 'X-Forwarded-Client-Cert' } },
      },
    };
    const env = await startStaticEnv(config, ['http1']);
    expect(env.variants[0]?.targets).toEqual({ http1: `http://127.0.0.1:${echo.httpPort}/` });
    expect(env.variants[1]?.expect).toEqual({ kind: 'header', header: 'x-forwarded-client-cert' });
  });

  it('a "meshed" target that is not meshed fails the proof (MB_MESH_UNPROVEN)', async () => {
    const config: StaticEnvConfig = {
      kind: 'static',
      variants: {
        unmeshed: { targets: targetsOf(echo.httpPort, echo.grpcPort), proof: 'none' },
        meshed: { targets: targetsOf(echo.httpPort, echo.grpcPort), proof: { header: 'x-forwarded-client-cert' } },
      },
    };
    const env = await startEnv(config, ['http1', 'grpc-unary']);
    const err: unknown = await provePaths(env, ['http1', 'grpc-unary']).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_MESH_UNPROVEN');
    expect((err as Error).message).toMatch(/meshed\/http1: x-echo-x-forwarded-client-cert did not come back/);
    expect((err as Error).message).toMatch(/meshed\/grpc-unary: /);
    expect((err as Error).message).not.toMatch(/unmeshed\//);
  });

  it.each<[Protocol, (port: number) => string]>([
    ['http1', (p) => `http://127.0.0.1:${p}/`],
    ['grpc-unary', (p) => `127.0.0.1:${p}`],
    ['websocket', (p) => `ws://127.0.0.1:${p}/`],
  ])('an unreachable %s target is MB_UNREACHABLE_TARGET naming the field', async (protocol, target) => {
    const good = targetsOf(echo.httpPort, echo.grpcPort);
    const config: StaticEnvConfig = {
      kind: 'static',
      variants: {
        unmeshed: { targets: good, proof: 'none' },
        meshed: { targets: { ...good, [protocol]: target(closedPort) }, proof: 'unverified' },
      },
    };
    const err: unknown = await startEnv(config, [protocol]).catch((e: unknown) => e);
    expect(isMeshbenchError(err) && err.code).toBe('MB_UNREACHABLE_TARGET');
    expect((err as Error).message).toBe(
      `env.variants.meshed.targets.${protocol}: ${target(closedPort)} did not answer (ECONNREFUSED) — check the URL / port-forward`,
    );
  });
});
