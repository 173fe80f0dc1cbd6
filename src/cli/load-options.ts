import { resolve as resolvePath, dirname } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadRequestsFile, readBodyFile } from '../config/requests.js';
import type { TlsConfig } from '../config/schema.js';
import { readTlsFiles, type TlsPem } from '../config/tls.js';
import type { RequestMix } from '../drivers/driver.js';
import { drivers } from '../drivers/index.js';
import { parseExpectStatus } from '../drivers/status.js';
import { MeshbenchError } from '../errors.js';
import type { DriverExtras } from '../load/types.js';
import { PROTOCOLS, type Protocol } from '../protocols.js';

/**
 * The flags `load` and `ab` share — the load's shape, the requests, TLS, a gRPC method — and what they turn
 * into: the protocol, the load's shape, the drivers' extra options, and the TLS files. Everything a flag names
 * is read and checked here, before any load, so a typo fails with exit 3 and the flag to fix.
 */
export interface LoadFlags {
  protocol?: Protocol;
  connections: number;
  rate?: number;
  duration: number;
  warmup: number;
  payload?: number;
  timeout: number;
  /** Absent: defaultWorkers() (half the cores, at least 1). */
  workers?: number;
  header?: string[];
  method?: string;
  bodyFile?: string;
  weights?: string;
  requests?: string;
  expectStatus?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  proto?: string;
  importPath?: string[];
  call?: string;
  data?: string;
  json?: boolean;
  quiet?: boolean;
  out?: string;
}

export function int(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

export function positive(name: string, allowZero = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new InvalidArgumentError(`${name} must be a number > ${allowZero ? '= ' : ''}0`);
    return n;
  };
}

/** A repeatable option's values, in order (not variadic: `-H a:b URL` must not read the URL as a header). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addLoadOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--protocol <name>', 'protocol (default: from the URL scheme — ws(s):// websocket, grpc(s):// grpc-bidi, else http1; http2: h2c for http://, h2 for https://)').choices(PROTOCOLS))
    .option('-c, --connections <n>', 'connections (or gRPC streams)', int('--connections', 1), 16)
    .option('-r, --rate <hz>', 'open loop at this total rate (per target); without it, closed loop', positive('--rate'))
    .option('-d, --duration <s>', 'measured seconds', positive('--duration'), 10)
    .option('--warmup <s>', 'seconds of unrecorded warm-up', positive('--warmup', true), 1)
    .option('--payload <bytes>', 'request body / message size in bytes of "x" (default: 64, or none with -m)', int('--payload', 0))
    .option('--timeout <ms>', 'request timeout', int('--timeout', 1), 5000)
    .option('-w, --workers <n>', 'worker threads (default: half the cores, at least 1)', int('--workers', 1))
    .option('-H, --header <name:value>', 'request header, or gRPC metadata (repeat -H for more)', collect)
    .option('-m, --method <method>', 'HTTP method (default: POST with a body, GET without)')
    .option('--body-file <file>', 'request body (websocket: message) from a file')
    .option('--weights <list>', 'with several URLs: their shares, e.g. 3,1')
    .option('--requests <file>', 'YAML/JSON list of requests { path, method, headers, body | bodyFile, weight } sent to the target')
    .option('--expect-status <list>', 'HTTP statuses that count as success, e.g. 2xx, 200,204, 200-299,404 (default 2xx,3xx)')
    .option('--cacert <file>', 'trust these CA certificates (PEM) for https://, wss://, grpcs://')
    .option('--cert <file>', 'client certificate (PEM) for targets that require one; with --key')
    .option('--key <file>', 'private key (PEM) of --cert')
    .option('-k, --insecure', 'do not verify the server certificate (test endpoints only; reported loudly)')
    .option('--proto <file>', 'gRPC: the .proto of any service (loaded at run time, no compile step)')
    .option('--import-path <dir>', 'gRPC: a directory to resolve the .proto\'s imports in (repeatable; default: its own directory)', collect)
    .option('--call <method>', 'gRPC: package.Service/Method of --proto (unary: --protocol grpc-unary; bidi streaming: grpc-bidi)')
    .option('--data <json>', 'gRPC: the request message as JSON (default {})');
}

/** The protocol a URL's scheme implies when --protocol is not given. */
export function protocolOf(target: string, explicit: Protocol | undefined): Protocol {
  if (explicit !== undefined) return explicit;
  if (/^wss?:\/\//.test(target)) return 'websocket';
  if (/^grpcs?:\/\//.test(target)) return 'grpc-bidi';
  return 'http1';
}

/** -H values as a header record (lower-case names). */
export function parseHeaders(list: string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf(':');
    if (i <= 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `--header "${item}": expected name:value, e.g. -H 'traceparent: 00-…'`);
    headers[item.slice(0, i).trim().toLowerCase()] = item.slice(i + 1).trim();
  }
  return headers;
}

/** What the flags mean for the load: its protocol, the drivers' extra options, the body size and the TLS. */
export interface LoadRequestSetup {
  protocol: Protocol;
  payloadBytes: number;
  headers: Record<string, string>;
  driverOptions: DriverExtras;
  /** The TLS flags as a scenario's `tls` (paths: what result.json records); absent without any. */
  tls?: TlsConfig;
  tlsPem?: TlsPem;
}

/**
 * The flags' requests: one URL (or several of one origin, with --weights), or --requests FILE; method, body,
 * headers, expected statuses; TLS; a gRPC method from --proto. `targets` are what the command drives (`load`:
 * its URLs; `ab`: A then B — the request options then apply to both, and a mix needs --requests).
 */
export function requestSetup(targets: readonly string[], flags: LoadFlags, severalOrigins = false): LoadRequestSetup {
  const first = targets[0] ?? '';
  const protocol = protocolOf(first, flags.protocol);
  const method = flags.method?.toUpperCase();
  const body = flags.bodyFile === undefined ? undefined : readBodyFile(flags.bodyFile, '--body-file');
  const payloadBytes = body?.length ?? flags.payload ?? (method === undefined ? 64 : 0);
  const driverOptions: DriverExtras = { echoCheck: false };
  if (method !== undefined) driverOptions.method = method;
  if (body !== undefined) driverOptions.body = body;
  if (flags.expectStatus !== undefined) {
    parseExpectStatus(flags.expectStatus); // fails here, with the flag named, rather than in a worker
    driverOptions.expectStatus = flags.expectStatus;
  }
  const mix = requestMix(targets, flags, protocol, severalOrigins, method, body);
  if (mix !== undefined) driverOptions.requests = mix;
  if ((flags.weights !== undefined || flags.requests !== undefined || flags.method !== undefined || flags.expectStatus !== undefined) && protocol !== 'http1' && protocol !== 'http2') {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `-m, --weights, --requests and --expect-status are for HTTP targets (http1, http2), not ${protocol}`);
  }
  if (flags.proto !== undefined || flags.call !== undefined) {
    if (protocol !== 'grpc-bidi' && protocol !== 'grpc-unary') throw new MeshbenchError('MB_BAD_ARGUMENT', `--proto/--call are for gRPC targets (grpc://, grpcs:// or --protocol grpc-unary|grpc-bidi), not ${protocol}`);
    if (flags.proto === undefined || flags.call === undefined) throw new MeshbenchError('MB_BAD_ARGUMENT', '--proto and --call go together: --proto service.proto --call package.Service/Method');
    driverOptions.grpcCall = {
      protoFile: resolvePath(flags.proto),
      importPaths: (flags.importPath ?? [dirname(flags.proto)]).map((p) => resolvePath(p)),
      call: flags.call,
      dataJson: flags.data ?? '{}',
    };
  } else if (flags.data !== undefined) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', '--data is the request of a gRPC --call; give --proto and --call with it');
  }
  const setup: LoadRequestSetup = { protocol, payloadBytes, headers: parseHeaders(flags.header), driverOptions };
  if (flags.cacert !== undefined || flags.cert !== undefined || flags.key !== undefined || flags.insecure === true) {
    if ((flags.cert === undefined) !== (flags.key === undefined)) throw new MeshbenchError('MB_BAD_ARGUMENT', '--cert and --key go together: give both (a client certificate and its private key)');
    const tls: TlsConfig = { insecure: flags.insecure === true };
    if (flags.cacert !== undefined) tls.cacert = flags.cacert;
    if (flags.cert !== undefined) tls.cert = flags.cert;
    if (flags.key !== undefined) tls.key = flags.key;
    setup.tls = tls;
    setup.tlsPem = readTlsFiles(tls, (field) => `--${field}`);
    driverOptions.tls = setup.tlsPem;
  }
  // Build each target's driver once (it opens nothing): a bad method, header or --call fails here, not in a worker.
  for (const target of targets) void drivers[protocol].create({ ...driverOptions, target, payloadBytes, headers: setup.headers }).close();
  return setup;
}

/** The weighted mix of several URLs (`load`) or of --requests; undefined for a single request. */
function requestMix(targets: readonly string[], flags: LoadFlags, protocol: Protocol, severalOrigins: boolean, method: string | undefined, body: Uint8Array | undefined): RequestMix[] | undefined {
  if (flags.requests !== undefined) {
    if (!severalOrigins && targets.length > 1) throw new MeshbenchError('MB_BAD_ARGUMENT', '--requests replaces several URLs: give one target (its origin) and the paths in the file');
    if (flags.weights !== undefined) throw new MeshbenchError('MB_BAD_ARGUMENT', '--weights is for several URLs; a --requests file has a weight per request');
    return loadRequestsFile(flags.requests);
  }
  if (severalOrigins || targets.length <= 1) {
    if (flags.weights !== undefined) throw new MeshbenchError('MB_BAD_ARGUMENT', '--weights needs several URLs (one weight each)');
    return undefined;
  }
  if (protocol !== 'http1' && protocol !== 'http2') throw new MeshbenchError('MB_BAD_ARGUMENT', `several targets are for HTTP (a weighted mix of URLs), not ${protocol}`);
  const weights = flags.weights === undefined ? targets.map(() => 1) : flags.weights.split(',').map((w) => Number(w.trim()));
  if (weights.length !== targets.length) throw new MeshbenchError('MB_BAD_ARGUMENT', `--weights has ${weights.length} value(s) for ${targets.length} URLs: give one each, e.g. --weights ${targets.map(() => 1).join(',')}`);
  const origin = new URL(targets[0] ?? '').origin;
  return targets.map((target, i): RequestMix => {
    const url = new URL(target);
    if (url.origin !== origin) throw new MeshbenchError('MB_BAD_ARGUMENT', `${target}: every URL of a mix must have the first one's origin (${origin}): they share its connections`);
    const mix: RequestMix = { path: `${url.pathname}${url.search}`, method: method ?? (body !== undefined ? 'POST' : 'GET'), headers: {}, weight: weights[i] ?? 1 };
    if (body !== undefined) mix.body = body;
    return mix;
  });
}
