import { MeshbenchError } from '../errors.js';
import type { Protocol } from '../protocols.js';

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
