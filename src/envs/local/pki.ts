// @peculiar/x509 uses tsyringe, which needs a Reflect metadata polyfill loaded before it (see its README).
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

/**
 * A per-run PKI for the local sidecar pair: one CA, a server certificate for sidecar B and a client
 * certificate for sidecar A, all ECDSA P-256 (key generation takes milliseconds; no openssl binary needed).
 * Identities follow Istio's SPIFFE shape so the x-forwarded-client-cert B writes reads like Istio's.
 */

export const SERVER_NAME = 'echo.meshbench.local';
export const TRUST_DOMAIN = 'cluster.local';
export const SERVER_SPIFFE_ID = `spiffe://${TRUST_DOMAIN}/ns/meshbench/sa/echo`;
export const CLIENT_SPIFFE_ID = `spiffe://${TRUST_DOMAIN}/ns/meshbench/sa/client`;
export const CERT_KEY_TYPE = 'ECDSA P-256 (SHA-256 signatures)';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** The crypto provider passed explicitly to every x509 call (no global provider side effect). */
const cryptoImpl = webcrypto;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;
const DAY_MS = 24 * 3600 * 1000;

export interface Issued {
  /** PEM of the certificate. */
  certPem: string;
  /** PEM (PKCS#8) of the private key. */
  keyPem: string;
  /** Subject DN in RFC 2253 order as HAProxy's ssl_c_s_dn(,0,rfc2253) prints it, e.g. "CN=x,O=y". */
  subject: string;
  /** Lower-case hex SHA-256 of the DER certificate (Istio's xfcc Hash). */
  sha256: string;
}

interface Authority extends Issued {
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

/** Paths of everything the sidecars read. All files 0600 in a 0700 directory the caller owns. */
export interface PkiFiles {
  /** CA certificate (PEM) — both sidecars trust only this. */
  caFile: string;
  /** Server certificate + key (one PEM, as HAProxy's `crt` wants) for sidecar B. */
  serverPem: string;
  /** Client certificate + key (one PEM) for sidecar A. */
  clientPem: string;
  /** HAProxy map: client cert SHA-256 → SPIFFE URI (the identities the "control plane" issued). */
  identitiesMap: string;
  ca: Issued;
  server: Issued;
  client: Issued;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return pemLine(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/** PEM blocks end with exactly one newline, so concatenated blocks stay parseable by OpenSSL. */
function pemLine(pem: string): string {
  return pem.replace(/\r\n/g, '\n').trimEnd() + '\n';
}

function sha256Hex(cert: x509.X509Certificate): string {
  return createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex');
}

/** x509 Name strings are written most-significant first ("O=…, CN=…"); RFC 2253 reverses that. */
function rfc2253(name: string): string {
  return name.split(', ').reverse().join(',');
}

async function issued(cert: x509.X509Certificate, keys: CryptoKeyPair, subject: string): Promise<Issued> {
  return { certPem: pemLine(cert.toString('pem')), keyPem: await keyPem(keys.privateKey), subject: rfc2253(subject), sha256: sha256Hex(cert) };
}

/** A fresh self-signed CA. `label` goes into its CN so two CAs are told apart in errors. */
export async function createAuthority(label = 'meshbench run CA'): Promise<Authority> {
  const keys = await newKeys();
  const subject = `O=meshbench, CN=${label}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: subject,
      keys,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 30 * DAY_MS),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoImpl),
      ],
    },
    cryptoImpl,
  );
  return { ...(await issued(cert, keys, subject)), keys, cert };
}

export interface LeafOptions {
  commonName: string;
  usage: 'server' | 'client';
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  uris?: readonly string[];
}

/** A leaf certificate signed by `ca`. */
export async function issueLeaf(ca: Authority, options: LeafOptions): Promise<Issued> {
  const keys = await newKeys();
  const subject = `O=meshbench, CN=${options.commonName}`;
  const names: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, cryptoImpl),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject,
      issuer: ca.cert.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 30 * DAY_MS),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions,
    },
    cryptoImpl,
  );
  return issued(cert, keys, subject);
}

/** The pair's identities, signed by `ca`: sidecar B's server certificate and sidecar A's client certificate. */
function issuePair(ca: Authority): Promise<[Issued, Issued]> {
  return Promise.all([
    issueLeaf(ca, { commonName: SERVER_NAME, usage: 'server', dnsNames: [SERVER_NAME], ipAddresses: ['127.0.0.1'], uris: [SERVER_SPIFFE_ID] }),
    issueLeaf(ca, { commonName: 'meshbench-client', usage: 'client', uris: [CLIENT_SPIFFE_ID] }),
  ]);
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600, flag: 'wx' });
}

/**
 * Creates the run's CA, server and client certificates and writes them into `dir` (which the caller
 * created 0700). The client certificate carries CLIENT_SPIFFE_ID as a SAN URI; HAProxy 2.6 cannot read SAN
 * URIs, so the identities map registers it under the certificate's hash for B's xfcc.
 */
export async function createPki(dir: string): Promise<PkiFiles> {
  const ca = await createAuthority();
  const [server, client] = await issuePair(ca);
  const files = {
    caFile: join(dir, 'ca.pem'),
    serverPem: join(dir, 'server.pem'),
    clientPem: join(dir, 'client.pem'),
    identitiesMap: join(dir, 'identities.map'),
  };
  await Promise.all([
    writePrivate(files.caFile, ca.certPem),
    writePrivate(files.serverPem, server.certPem + server.keyPem),
    writePrivate(files.clientPem, client.certPem + client.keyPem),
    writePrivate(files.identitiesMap, `${client.sha256} ${CLIENT_SPIFFE_ID}\n`),
  ]);
  return { ...files, ca: strip(ca), server, client };
}

function strip(a: Authority): Issued {
  return { certPem: a.certPem, keyPem: a.keyPem, subject: a.subject, sha256: a.sha256 };
}

/**
 * A client identity from a second, unrelated CA — for tests proving sidecar B refuses certificates it
 * does not trust. Nothing is written to disk; use certPem/keyPem with node:tls directly.
 */
export async function createUnrelatedClient(): Promise<{ ca: Issued; client: Issued }> {
  const ca = await createAuthority('unrelated CA');
  const client = await issueLeaf(ca, { commonName: 'meshbench-client', usage: 'client', uris: [CLIENT_SPIFFE_ID] });
  return { ca: strip(ca), client };
}

/**
 * A rotation to a new CA, as a mesh's control plane rolls one out without breaking connections: `trust` adds the
 * new CA to the trust bundle (and the new client identity to the identities map) while the leaves stay; `leaves`
 * then swaps in server and client certificates signed by the new CA. Applying `trust` to both sidecars before
 * `leaves` means no sidecar ever meets a certificate it does not trust. Files are new (`-<generation>`); the old
 * ones stay until the env's directory is removed.
 */
export async function rotatePki(dir: string, current: PkiFiles, generation: number): Promise<{ trust: PkiFiles; leaves: PkiFiles }> {
  const ca = await createAuthority(`meshbench run CA ${generation}`);
  const [server, client] = await issuePair(ca);
  const [bundle, identities] = await Promise.all([readFile(current.caFile, 'utf8'), readFile(current.identitiesMap, 'utf8')]);
  const name = (base: string, ext: string): string => join(dir, `${base}-${generation}.${ext}`);
  const trustFiles = { caFile: name('ca', 'pem'), identitiesMap: name('identities', 'map') };
  const leafFiles = { serverPem: name('server', 'pem'), clientPem: name('client', 'pem') };
  await Promise.all([
    writePrivate(trustFiles.caFile, bundle + ca.certPem),
    writePrivate(trustFiles.identitiesMap, `${identities}${client.sha256} ${CLIENT_SPIFFE_ID}\n`),
    writePrivate(leafFiles.serverPem, server.certPem + server.keyPem),
    writePrivate(leafFiles.clientPem, client.certPem + client.keyPem),
  ]);
  const trust: PkiFiles = { ...current, ...trustFiles, ca: strip(ca) };
  return { trust, leaves: { ...trust, ...leafFiles, server, client } };
}
