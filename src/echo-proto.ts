import { join } from 'node:path';
import {
  makeClientConstructor,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type Metadata,
  type MethodDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoDir } from './paths.js';

/**
 * proto/echo.proto, loaded once. Shared by the echo server (src/workloads/grpc.ts) and the gRPC drivers.
 *
 * Messages are plain objects as @grpc/proto-loader decodes them with the options below: field names as in
 * the .proto (snake_case), `bytes` as Buffer, uint32 as number, missing fields as their defaults
 * (empty Buffer, 0) — so a decoded message always has every field.
 */
export interface EchoRequest {
  payload: Buffer;
  /** When non-zero, the reply carries this many bytes instead of the request payload. */
  response_size: number;
  /** When non-zero, the server waits this long before replying. */
  delay_ms: number;
}

export interface EchoReply {
  payload: Buffer;
}

export const ECHO_PROTO_FILE = 'echo.proto';
export const ECHO_SERVICE_NAME = 'meshbench.echo.v1.Echo';
/** Full method paths, for `client.makeUnaryRequest` / `makeBidiStreamRequest` with pre-serialized buffers. */
export const ECHO_UNARY_PATH = '/meshbench.echo.v1.Echo/Echo';
export const ECHO_STREAM_PATH = '/meshbench.echo.v1.Echo/EchoStream';

/**
 * The echo service's method definitions: paths plus (de)serializers for each message type. A type alias, not
 * an interface, so it stays assignable to grpc-js's index-signature ServiceDefinition (Server#addService).
 */
export type EchoServiceDefinition = {
  Echo: MethodDefinition<EchoRequest, EchoReply>;
  EchoStream: MethodDefinition<EchoRequest, EchoReply>;
};

/** A grpc-js client for the echo service, typed (the generic ServiceClient is `[name: string]: Function`). */
export interface EchoClient extends Client {
  Echo(request: EchoRequest, callback: (err: ServiceError | null, reply?: EchoReply) => void): ClientUnaryCall;
  Echo(
    request: EchoRequest,
    metadata: Metadata,
    callback: (err: ServiceError | null, reply?: EchoReply) => void,
  ): ClientUnaryCall;
  Echo(
    request: EchoRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (err: ServiceError | null, reply?: EchoReply) => void,
  ): ClientUnaryCall;
  EchoStream(metadata?: Metadata, options?: Partial<CallOptions>): ClientDuplexStream<EchoRequest, EchoReply>;
}

/** Same shape as grpc-js's ServiceClientConstructor, with the client and definition typed. */
export interface EchoClientConstructor {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ChannelOptions>): EchoClient;
  service: EchoServiceDefinition;
  serviceName: string;
}

let cached: EchoClientConstructor | undefined;

/**
 * The echo service: `new (loadEchoProto())(address, credentials.createInsecure())` makes a client;
 * `loadEchoProto().service` is the definition a Server adds. Loaded from protoDir on first call, then cached.
 */
export function loadEchoProto(): EchoClientConstructor {
  if (cached !== undefined) return cached;
  const packageDefinition = loadSync(join(protoDir, ECHO_PROTO_FILE), {
    keepCase: true,
    longs: Number,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  });
  const definition = packageDefinition[ECHO_SERVICE_NAME];
  // Message and enum definitions carry a `format`; a service definition is a record of methods.
  if (definition === undefined || 'format' in definition) {
    throw new Error(`meshbench: ${ECHO_PROTO_FILE} in ${protoDir} does not define service ${ECHO_SERVICE_NAME}`);
  }
  // proto-loader's definitions are untyped at the message level; the .proto above is the source of the types.
  cached = makeClientConstructor(definition, 'Echo') as unknown as EchoClientConstructor;
  return cached;
}
