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
  };
}

/** The text `up` prints: the addresses, then curl / grpcurl / meshbench lines to try. A pure function of UpInfo. */
export function renderUp(info: UpInfo, protoDirectory: string = protoDir): string {
  const target = (variant: string, protocol: Protocol): string => info.variants.find((v) => v.name === variant)?.targets[protocol] ?? '';
  const lines = [`meshbench up: the local environment of scenario ${info.scenario} (sidecars: ${info.sidecarMode === 'http' ? 'L7 HAProxy mTLS pair' : 'L4 HAProxy mTLS tunnel'})`, ''];
  for (const v of info.variants) {
    lines.push(`  ${v.name}${v.name === 'meshed' ? ' (client → sidecar A → mTLS → sidecar B → the echo replicas)' : ' (straight to the echo replicas)'}`);
    for (const p of PROTOCOLS) {
      const t = v.targets[p];
      if (t !== undefined) lines.push(`    ${p.padEnd(11)} ${(v.replicas?.[p] ?? [t]).join('  ')}`);
    }
  }
  const b = info.serverSidecar;
  lines.push(`  sidecar B (mTLS only)  https://${b.address}  CA ${b.caFile}, client certificate + key ${b.clientPem}`, '');
  lines.push('Try:');
  lines.push(`  curl -si ${target('meshed', 'http1')}  # x-echo-x-forwarded-client-cert: the identity sidecar B verified`);
  lines.push(`  curl -si ${target('unmeshed', 'http1')}`);
  if (target('meshed', 'http2') !== '') lines.push(`  curl -si --http2-prior-knowledge ${target('meshed', 'http2')}  # h2c to sidecar A, h2 between the sidecars`);
  lines.push(`  curl -si --cacert ${b.caFile} --cert ${b.clientPem} https://${b.address}/  # straight to sidecar B with the client's identity`);
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
  const env = await startLocalEnv(scenario.env, PROTOCOLS, opts.signal);
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
