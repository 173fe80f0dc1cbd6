import {
  Client,
  connectivityState,
  credentials,
  Metadata,
  status as Status,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { errorMessage, MeshbenchError } from '../errors.js';
import { ECHO_STREAM_PATH, ECHO_UNARY_PATH, loadEchoProto } from '../echo-proto.js';
import type {
  CompletionSink,
  Driver,
  DriverConnection,
  DriverModule,
  DriverOptions,
  ErrorKind,
  GrpcCallOptions,
  ProbeResult,
  TlsOptions,
} from './driver.js';

/**
 * gRPC (@grpc/grpc-js) over h2c, or TLS for grpcs://host:port, against the echo service (proto/echo.proto) or
 * any service whose .proto is given (`grpcCall`: loaded at run time with @grpc/proto-loader, as ghz does).
 *
 * - `grpc-bidi`: connection index = one long-lived EchoStream; send() writes one message, each reply
 *   message completes it. A stream that ends or fails is reopened by the next send().
 * - `grpc-unary`: each send() is one Echo call.
 * Logical connections share channels, STREAMS_PER_CHANNEL each; every channel is its own HTTP/2
 * connection (local subchannel pool), so N streams are spread over ceil(N / 8) connections.
 *
 * The request is serialized once and passed through identity (de)serializers, and an echo reply is checked by
 * length only (the echo's reply encodes the same bytes as the request), so no protobuf work per message; any
 * other service's replies are not decoded at all (its status says whether the call succeeded).
 * grpc-js still allocates per message (frames, the received Buffer, and per unary call its call objects
 * and callback): that is the library's nature.
 *
 * Errors: a call that ends with UNAVAILABLE before a connection existed → 'connect'; a dropped connection
 * or a cancelled/reset stream → 'reset'; any other non-OK status → 'status'; a stream that ends OK while a
 * message is outstanding → 'reset'; a reply of the wrong size → 'protocol'.
 * connect() resolves when the index's channel is READY and rejects when it fails to connect.
 */

export const STREAMS_PER_CHANNEL = 8;
const CONNECT_TIMEOUT_MS = 10_000;

const CHANNEL_OPTIONS: Partial<ChannelOptions> = {
  // Each Client gets its own subchannel, hence its own HTTP/2 connection (the global pool would share one).
  'grpc.use_local_subchannel_pool': 1,
  // Retries would hide the failures the benchmark is there to count.
  'grpc.enable_retries': 0,
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
};

function identity(buffer: Buffer): Buffer {
  return buffer;
}

/** `host:port` and whether it is TLS, from `host:port`, `grpc://host:port` or `grpcs://host:port`. */
export function grpcAddress(target: string): { address: string; secure: boolean } {
  const secure = target.startsWith('grpcs://');
  const address = secure ? target.slice('grpcs://'.length) : target.startsWith('grpc://') ? target.slice('grpc://'.length) : target;
  if (!/^[^\s/]+:\d+$/.test(address)) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `gRPC target "${target}" must be host:port, grpc://host:port or grpcs://host:port (TLS)`);
  }
  return { address, secure };
}

/** Channel credentials: insecure for h2c; TLS with the CAs, the client certificate and (unless insecure) verification. */
function channelCredentials(secure: boolean, tls: TlsOptions | undefined): ChannelCredentials {
  if (!secure) return credentials.createInsecure();
  const pem = (text: string | undefined): Buffer | null => (text === undefined ? null : Buffer.from(text));
  return credentials.createSsl(pem(tls?.ca), pem(tls?.key), pem(tls?.cert), tls?.insecure === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}

function metadataOf(headers: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.add(name.toLowerCase(), value);
  return metadata;
}

/** The method a driver calls: its path, the serialized request, and the reply size to check (-1: none). */
interface PreparedCall {
  path: string;
  request: Buffer;
  replyBytes: number;
}

/**
 * The echo's call: the EchoRequest bytes (payload of payloadBytes, response_size and delay_ms 0: the reply
 * echoes the payload) and the size of the EchoReply bytes that answer it.
 */
function echoCall(protocol: 'grpc-bidi' | 'grpc-unary', payloadBytes: number): PreparedCall {
  const payload = Buffer.alloc(payloadBytes, 0x78);
  const { Echo } = loadEchoProto().service;
  return {
    path: protocol === 'grpc-bidi' ? ECHO_STREAM_PATH : ECHO_UNARY_PATH,
    request: Echo.requestSerialize({ payload, response_size: 0, delay_ms: 0 }),
    replyBytes: Echo.responseSerialize({ payload }).length,
  };
}

/**
 * A method of any service, from its .proto (no compile step): `package.Service/Method` must be unary for
 * grpc-unary and bidirectional streaming for grpc-bidi; the request is the JSON read into the request message
 * (protobufjs fromObject: unknown fields are dropped, wrong types rejected). MB_BAD_ARGUMENT says what is wrong.
 */
export function anyCall(protocol: 'grpc-bidi' | 'grpc-unary', options: GrpcCallOptions): PreparedCall {
  const bad = (why: string): MeshbenchError => new MeshbenchError('MB_BAD_ARGUMENT', `--proto ${options.protoFile} --call ${options.call}: ${why}`);
  const slash = options.call.lastIndexOf('/');
  if (slash <= 0 || slash === options.call.length - 1) throw bad('--call must be package.Service/Method');
  const serviceName = options.call.slice(0, slash).replace(/^\//, '');
  const methodName = options.call.slice(slash + 1);
  let definitions: ReturnType<typeof loadSync>;
  try {
    definitions = loadSync(options.protoFile, { includeDirs: [...options.importPaths], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  } catch (err) {
    throw bad(`the .proto does not load (${errorMessage(err)})`);
  }
  const service = definitions[serviceName];
  if (service === undefined || 'format' in service) {
    const services = Object.entries(definitions).filter(([, d]) => !('format' in d)).map(([name]) => name);
    throw bad(`no service ${serviceName}; the .proto defines ${services.join(', ') || 'none'}`);
  }
  const method = service[methodName];
  if (method === undefined) throw bad(`service ${serviceName} has no method ${methodName}; it has ${Object.keys(service).join(', ')}`);
  const kind = method.requestStream ? (method.responseStream ? 'bidi' : 'client-streaming') : method.responseStream ? 'server-streaming' : 'unary';
  const wanted = protocol === 'grpc-bidi' ? 'bidi' : 'unary';
  if (kind !== wanted) throw bad(`${methodName} is ${kind}; ${protocol} drives ${wanted} methods (use --protocol ${kind === 'bidi' ? 'grpc-bidi' : 'grpc-unary'}${kind === 'bidi' || kind === 'unary' ? '' : ' — streaming in one direction only is not supported'})`);
  let data: unknown;
  try {
    data = JSON.parse(options.dataJson);
  } catch (err) {
    throw bad(`--data is not JSON (${errorMessage(err)})`);
  }
  let request: Buffer;
  try {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('expected a JSON object');
    request = method.requestSerialize(data);
    // protobufjs drops unknown fields and coerces wrong types ("many" → 0): read the bytes back and compare.
    const problem = misread(data, method.requestDeserialize(request), '');
    if (problem !== null) throw new Error(problem);
  } catch (err) {
    throw bad(`--data does not fit the request message of ${methodName} (${errorMessage(err)})`);
  }
  return { path: method.path, request, replyBytes: -1 };
}

/**
 * Where the JSON a user gave and the message its bytes decode to disagree (null: nowhere): a field the message
 * does not have, or a value read as something else. Enums may be given by number, bytes as base64 (not
 * compared), floats to float32 precision.
 */
export function misread(given: unknown, decoded: unknown, path: string): string | null {
  if (given === null || given === undefined || Buffer.isBuffer(decoded)) return null;
  if (Array.isArray(given)) {
    if (!Array.isArray(decoded)) return `${path || 'the message'}: a list where the message has none`;
    for (const [i, item] of given.entries()) {
      const problem = misread(item, decoded[i], `${path}[${i}]`);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (typeof given === 'object') {
    if (typeof decoded !== 'object' || decoded === null) return `${path || 'the message'}: an object where the message has a ${typeof decoded}`;
    for (const [key, value] of Object.entries(given)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (!(key in decoded)) return `${at}: no such field (field names as in the .proto)`;
      const problem = misread(value, (decoded as Record<string, unknown>)[key], at);
      if (problem !== null) return problem;
    }
    return null;
  }
  if (typeof decoded === 'object' && decoded !== null) return `${path}: ${JSON.stringify(given)} was read as ${JSON.stringify(decoded)}`;
  if (typeof given === 'number' && typeof decoded === 'string' && !/^-?\d/.test(decoded)) return null; // an enum by number
  if (typeof given === 'number' && typeof decoded === 'number' && Math.abs(given - decoded) <= 1e-6 * Math.max(1, Math.abs(given))) return null;
  return String(given) === String(decoded) ? null : `${path}: ${JSON.stringify(given)} was read as ${JSON.stringify(decoded)}`;
}

function prepareCall(protocol: 'grpc-bidi' | 'grpc-unary', options: DriverOptions): PreparedCall {
  return options.grpcCall === undefined ? echoCall(protocol, options.payloadBytes) : anyCall(protocol, options.grpcCall);
}

export function errorKindOf(code: number, details: string): ErrorKind {
  if (code === Status.UNAVAILABLE) return details.startsWith('No connection established') ? 'connect' : 'reset';
  if (code === Status.CANCELLED) return 'reset';
  if (code === Status.INTERNAL && details.startsWith('Received RST_STREAM')) return 'reset';
  return 'status';
}

/** Resolves when the client's channel is READY; rejects on a failed connect attempt or after timeoutMs. */
function waitReady(client: Client, address: string, timeoutMs: number): Promise<void> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = (err?: Error): void => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return resolve();
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN || err) {
        return reject(new Error(`gRPC channel to ${address} could not connect (${connectivityState[state]})`));
      }
      channel.watchConnectivityState(state, deadline, check);
    };
    check();
  });
}

/** What both gRPC connections hold: their slot, where completions go, the channel's client, the prepared request. */
abstract class GrpcConnection {
  protected closed = false;

  constructor(
    protected readonly index: number,
    protected readonly sink: CompletionSink,
    protected readonly client: Client,
    protected readonly shared: GrpcShared,
  ) {}
}

class GrpcBidiConnection extends GrpcConnection implements DriverConnection {
  private stream: ClientDuplexStream<Buffer, Buffer> | null = null;
  private outstanding = false;

  /**
   * One stream with its listeners. The closures are per stream (per reopen), not per message; they check
   * that the stream is still the current one, so a cancelled stream's late events are ignored.
   */
  openStream(): ClientDuplexStream<Buffer, Buffer> {
    const stream = this.client.makeBidiStreamRequest(this.shared.path, identity, identity, this.shared.metadata);
    this.stream = stream;
    stream.on('data', (reply: Buffer) => {
      if (this.stream !== stream) return;
      if (!this.outstanding || (this.shared.replyBytes >= 0 && reply.length !== this.shared.replyBytes)) return this.fail('protocol');
      this.outstanding = false;
      this.sink.onResponse(this.index);
    });
    stream.on('error', ignore); // 'status' follows every 'error' and carries the same code
    stream.on('status', (status: StatusObject) => {
      if (this.stream !== stream) return;
      this.stream = null;
      if (!this.outstanding) return;
      this.outstanding = false;
      this.sink.onError(this.index, status.code === Status.OK ? 'reset' : errorKindOf(status.code, status.details));
    });
    return stream;
  }

  send(): void {
    if (this.closed) return;
    this.outstanding = true;
    (this.stream ?? this.openStream()).write(this.shared.request);
  }

  abort(): void {
    this.outstanding = false;
    this.dropStream(); // a late reply would otherwise complete the next message
  }

  async close(): Promise<void> {
    this.closed = true;
    this.outstanding = false;
    this.dropStream();
  }

  /** Drops the stream (it is out of step) and reports `kind` if a message was outstanding. */
  private fail(kind: ErrorKind): void {
    this.dropStream();
    if (!this.outstanding) return;
    this.outstanding = false;
    this.sink.onError(this.index, kind);
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = null;
    stream?.cancel();
  }
}

class GrpcUnaryConnection extends GrpcConnection implements DriverConnection {
  private call: ClientUnaryCall | null = null;
  /** Bumped per send and abort, so the callback of a cancelled call is ignored. */
  private generation = 0;

  send(): void {
    if (this.closed) return;
    const generation = ++this.generation;
    // A closure per call: grpc-js allocates a call and its callback per unary request anyway.
    this.call = this.client.makeUnaryRequest(
      this.shared.path,
      identity,
      identity,
      this.shared.request,
      this.shared.metadata,
      (err: ServiceError | null, reply?: Buffer) => this.onDone(generation, err, reply),
    );
  }

  private onDone(generation: number, err: ServiceError | null, reply: Buffer | undefined): void {
    if (generation !== this.generation) return;
    this.call = null;
    if (err !== null) this.sink.onError(this.index, errorKindOf(err.code, err.details));
    else if (reply === undefined || (this.shared.replyBytes >= 0 && reply.length !== this.shared.replyBytes)) this.sink.onError(this.index, 'protocol');
    else this.sink.onResponse(this.index);
  }

  abort(): void {
    this.generation++;
    const call = this.call;
    this.call = null;
    call?.cancel();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort();
  }
}

interface GrpcShared extends PreparedCall {
  metadata: Metadata;
}

class GrpcDriver implements Driver {
  private readonly address: string;
  private readonly credentials: ChannelCredentials;
  private readonly shared: GrpcShared;
  private readonly clients: Client[] = [];

  constructor(
    readonly protocol: 'grpc-bidi' | 'grpc-unary',
    options: DriverOptions,
  ) {
    const { address, secure } = grpcAddress(options.target);
    this.address = address;
    this.credentials = channelCredentials(secure, options.tls);
    this.shared = { ...prepareCall(protocol, options), metadata: metadataOf(options.headers) };
  }

  /** The channel for a connection index, created on first use. */
  private clientFor(index: number): Client {
    const slot = Math.floor(index / STREAMS_PER_CHANNEL);
    let client = this.clients[slot];
    if (client === undefined) {
      client = new Client(this.address, this.credentials, CHANNEL_OPTIONS);
      this.clients[slot] = client;
    }
    return client;
  }

  async connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    const client = this.clientFor(index);
    await waitReady(client, this.address, CONNECT_TIMEOUT_MS);
    if (this.protocol === 'grpc-unary') return new GrpcUnaryConnection(index, sink, client, this.shared);
    const connection = new GrpcBidiConnection(index, sink, client, this.shared);
    connection.openStream();
    return connection;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client?.close();
    this.clients.length = 0;
  }
}

function metadataHeaders(metadata: Metadata, into: Record<string, string>): void {
  // grpc-js keeps metadata keys lower-cased.
  for (const [name, value] of Object.entries(metadata.getMap())) {
    if (into[name] !== undefined) continue;
    into[name] = typeof value === 'string' ? value : value.toString('base64');
  }
}

/**
 * One call with the headers as metadata — unary, or one message on a bidi stream (then the stream is ended):
 * the status name ('OK', 'PERMISSION_DENIED', ...) and the response initial metadata (trailing metadata fills
 * names the initial metadata lacks). Rejects when the target does not answer (UNAVAILABLE, or no answer within
 * timeoutMs).
 */
function probe(protocol: 'grpc-bidi' | 'grpc-unary', options: DriverOptions, timeoutMs: number): Promise<ProbeResult> {
  const { address, secure } = grpcAddress(options.target);
  // The echo is probed with a unary call whichever protocol runs (its paths share one server).
  const call = options.grpcCall === undefined ? echoCall('grpc-unary', options.payloadBytes) : anyCall(protocol, options.grpcCall);
  const client = new Client(address, channelCredentials(secure, options.tls), CHANNEL_OPTIONS);
  const headers: Record<string, string> = {};
  const metadata = metadataOf(options.headers);
  const deadline = Date.now() + timeoutMs;
  return new Promise<ProbeResult>((resolve, reject) => {
    const done = (code: number, details: string, trailers: Metadata | undefined): void => {
      if (code === Status.UNAVAILABLE || code === Status.DEADLINE_EXCEEDED) return reject(new Error(`${Status[code]}: ${details}`));
      if (trailers !== undefined) metadataHeaders(trailers, headers);
      resolve({ status: Status[code] ?? String(code), headers });
    };
    if (options.grpcCall !== undefined && protocol === 'grpc-bidi') {
      const stream = client.makeBidiStreamRequest(call.path, identity, identity, metadata, { deadline });
      stream.on('metadata', (m: Metadata) => metadataHeaders(m, headers));
      stream.on('data', () => stream.end());
      stream.on('error', ignore); // 'status' follows
      stream.on('status', (status: StatusObject) => done(status.code, status.details, status.metadata));
      stream.write(call.request);
      return;
    }
    const unary = client.makeUnaryRequest(call.path, identity, identity, call.request, metadata, { deadline }, (err: ServiceError | null) => {
      done(err?.code ?? Status.OK, err?.details ?? '', err?.metadata);
    });
    unary.on('metadata', (m: Metadata) => metadataHeaders(m, headers));
    unary.on('status', (status: StatusObject) => metadataHeaders(status.metadata, headers));
  }).finally(() => client.close());
}

function ignore(): void {}

export const grpcBidi: DriverModule = {
  create: (options) => new GrpcDriver('grpc-bidi', options),
  probe: (options, timeoutMs) => probe('grpc-bidi', options, timeoutMs),
};

export const grpcUnary: DriverModule = {
  create: (options) => new GrpcDriver('grpc-unary', options),
  probe: (options, timeoutMs) => probe('grpc-unary', options, timeoutMs),
};
