import type { Scenario } from '../config/schema.js';
import { startLocalEnv, type LocalEnv } from '../envs/local/index.js';
import { SERVER_NAME } from '../envs/local/pki.js';
import { MeshbenchError } from '../errors.js';
import { protoDir } from '../paths.js';
import { PROTOCOLS, type Protocol } from '../protocols.js';
import { EXIT } from './exit-codes.js';

/** What `meshbench up` tells a person (or, with --json, a script): where everything listens, and how to poke it. */
export interface UpInfo {
  scenario: string;
  sidecarMode: string;
  /** Per variant (unmeshed, meshed): the address of each protocol, and of each echo replica where it has several. */
  variants: { name: string; targets: Partial<Record<Protocol, string>>; replicas?: Partial<Record<Protocol, readonly string[]>> }[];
  /** Sidecar B, the mTLS side: its address and the files a client needs to reach it directly. */
  serverSidecar: { address: string; serverName: string; caFile: string; clientPem: string };
  /** env.hops and env.sidecars, when not the default single hop with both sidecars (Topologies). */
  topology?: { hops: number; sidecars: string };
  /** The private temp dir (certificates, HAProxy configs), removed on exit. */
  dir: string;
  pids: number[];
}

export function upInfo(scenario: Scenario, env: LocalEnv): UpInfo {
  return {
    scenario: scenario.name,
    sidecarMode: env.plan.mode,
    variants: env.variants.map((v) => ({ name: v.name, targets: v.targets, ...(v.replicas === undefined ? {} : { replicas: v.replicas }) })),
    serverSidecar: { address: `127.0.0.1:${env.plan.serverPorts.http}`, serverName: SERVER_NAME, caFile: env.pki.caFile, clientPem: env.pki.clientPem },
    dir: env.dir,
    pids: env.pids(),
    ...(scenario.env.kind === 'local' && (scenario.env.hops > 1 || scenario.env.sidecars !== 'both') ? { topology: { hops: scenario.env.hops, sidecars: scenario.env.sidecars } } : {}),
  };
}

/** How the meshed path runs, in words. */
function meshedPath(topology: UpInfo['topology']): string {
  const hop = topology?.sidecars === 'client-only' ? 'sidecar A' : topology?.sidecars === 'server-only' ? 'sidecar B' : 'sidecar A → mTLS → sidecar B';
  const hops = topology?.hops ?? 1;
  const relays = hops === 2 ? 'relay 1' : `relay 1 → … → relay ${hops - 1}`;
  return hops > 1 ? `client → ${hop} → ${relays} → ${hop} → the echo replicas, ${hops} hops` : `client → ${hop} → the echo replicas`;
}

/** The text `up` prints: the addresses, then curl / grpcurl / meshbench lines to try. A pure function of UpInfo. */
export function renderUp(info: UpInfo, protoDirectory: string = protoDir): string {
  const target = (variant: string, protocol: Protocol): string => info.variants.find((v) => v.name === variant)?.targets[protocol] ?? '';
  const lines = [`meshbench up: the local environment of scenario ${info.scenario} (sidecars: ${info.sidecarMode === 'http' ? 'L7 HAProxy mTLS pair' : 'L4 HAProxy mTLS tunnel'})`, ''];
  for (const v of info.variants) {
    lines.push(`  ${v.name}${v.name === 'meshed' ? ` (${meshedPath(info.topology)})` : (info.topology?.hops ?? 1) > 1 ? ' (every hop direct)' : ' (straight to the echo replicas)'}`);
    for (const p of PROTOCOLS) {
      const t = v.targets[p];
      if (t !== undefined) lines.push(`    ${p.padEnd(11)} ${(v.replicas?.[p] ?? [t]).join('  ')}`);
    }
  }
  const b = info.serverSidecar;
  const pair = (info.topology?.sidecars ?? 'both') === 'both';
  if (pair) lines.push(`  sidecar B (mTLS only)  https://${b.address}  CA ${b.caFile}, client certificate + key ${b.clientPem}`);
  lines.push('', 'Try:');
  lines.push(`  curl -si ${target('meshed', 'http1')}  # ${pair ? 'x-echo-x-forwarded-client-cert: the identity sidecar B verified' : 'x-echo-via: the one sidecar it passed'}${(info.topology?.hops ?? 1) > 1 ? '; x-echo-chain: every hop' : ''}`);
  lines.push(`  curl -si ${target('unmeshed', 'http1')}`);
  if (target('meshed', 'http2') !== '') lines.push(`  curl -si --http2-prior-knowledge ${target('meshed', 'http2')}  # h2c to sidecar A${pair ? ', h2 between the sidecars' : ''}`);
  if (pair) lines.push(`  curl -si --cacert ${b.caFile} --cert ${b.clientPem} https://${b.address}/  # straight to sidecar B with the client's identity`);
  const grpc = target('meshed', 'grpc-unary') || target('meshed', 'grpc-bidi');
  if (grpc !== '') {
    lines.push(`  grpcurl -plaintext -import-path ${protoDirectory} -proto echo.proto -d '{"payload":"aGk="}' -v ${grpc} meshbench.echo.v1.Echo/Echo`);
  }
  lines.push(`  meshbench ab ${target('unmeshed', 'http1')} ${target('meshed', 'http1')} -r 1000 -d 20 --budget-p99-ms 1`);
  lines.push('', 'Ctrl-C stops everything and removes the temp files.');
  return lines.join('\n');
}

/**
 * `meshbench up [scenario]`: starts the scenario's local environment (every protocol), prints where it listens,
 * and keeps it up until Ctrl-C (or SIGTERM); then stops every process and removes the temp dir. Exit 0.
 */
export async function upCommand(scenario: Scenario, opts: { json?: boolean; signal: AbortSignal }): Promise<number> {
  if (scenario.env.kind !== 'local') {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `meshbench up starts the local environment; scenario ${scenario.name} has env.kind ${scenario.env.kind} (use a local scenario, e.g. quickstart)`);
  }
  // A chain's relays forward HTTP/1.1 only (env.hops).
  const env = await startLocalEnv(scenario.env, scenario.env.hops > 1 ? ['http1'] : PROTOCOLS, opts.signal);
  try {
    const info = upInfo(scenario, env);
    process.stdout.write(opts.json === true ? `${JSON.stringify(info)}\n` : `${renderUp(info)}\n`);
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) return resolve();
      opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await env.close();
  }
  return EXIT.pass;
}
