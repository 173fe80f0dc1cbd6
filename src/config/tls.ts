import { readFileSync } from 'node:fs';
import { MeshbenchError } from '../errors.js';
import type { TlsConfig } from './schema.js';

/** The PEM text a TLS config names (the drivers' TlsOptions): what crosses to the load workers. */
export interface TlsPem {
  ca?: string;
  cert?: string;
  key?: string;
  insecure: boolean;
}

/**
 * Reads the files of a TLS config (scenario `tls`, or the CLI's --cacert/--cert/--key). `where` names the field
 * or flag in the error, e.g. "env.variants.meshed.tls" or "--cacert", so an unreadable file says what to fix.
 */
export function readTlsFiles(tls: TlsConfig, where: (field: 'cacert' | 'cert' | 'key') => string): TlsPem {
  const read = (field: 'cacert' | 'cert' | 'key', path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new MeshbenchError('MB_BAD_ARGUMENT', `${where(field)} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (!text.includes('-----BEGIN ')) throw new MeshbenchError('MB_BAD_ARGUMENT', `${where(field)} ${path}: not a PEM file (no "-----BEGIN" line)`);
    return text;
  };
  const pem: TlsPem = { insecure: tls.insecure };
  const ca = read('cacert', tls.cacert);
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  if (ca !== undefined) pem.ca = ca;
  if (cert !== undefined) pem.cert = cert;
  if (key !== undefined) pem.key = key;
  return pem;
}
