import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { MeshbenchError } from '../errors.js';
import type { Protocol } from '../protocols.js';
import type { TlsOptions } from './driver.js';

/**
 * The target URL of a driver addressed by URL (http1, websocket), or MB_BAD_ARGUMENT naming the form it must
 * take, e.g. parseTarget('ws://h:1/x', 'websocket', ['ws:', 'wss:'], 'ws://host:port/path (or wss://)').
 */
export function parseTarget(target: string, protocol: Protocol, schemes: readonly string[], form: string): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch (cause) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `${protocol} target "${target}" is not a URL; use ${form}`, { cause });
  }
  if (!schemes.includes(url.protocol)) throw new MeshbenchError('MB_BAD_ARGUMENT', `${protocol} target "${target}" must be ${form}`);
  return url;
}

/**
 * node:tls options for a connection to `host` (SNI only for names: an IP address target sends none, and the
 * certificate is then checked against the IP): the CAs, the client certificate, and verification unless
 * `insecure`. Shared by every driver's TLS path (http1 sockets, its probe, websocket).
 */
export function tlsConnectOptions(host: string, options: TlsOptions | undefined): ConnectionOptions {
  return {
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(options?.ca === undefined ? {} : { ca: options.ca }),
    ...(options?.cert === undefined ? {} : { cert: options.cert }),
    ...(options?.key === undefined ? {} : { key: options.key }),
    rejectUnauthorized: options?.insecure !== true,
  };
}
