import { Http1Framing } from '../http1-syntax.js';
import { ByteBuffer } from './bytes.js';

/**
 * What the echo keeps of one request's head (src/workloads/http-server-parser.ts fills it): plain fields and
 * byte buffers owned by the parser and reused for every request on the connection.
 */

/** Reflected header lines kept per request; more are ignored (no mesh adds dozens). */
export const MAX_REFLECTED_LINES = 32;

export const METHOD_GET = 0;
export const METHOD_HEAD = 1;
export const METHOD_OTHER = 2;

/**
 * The parsed head of the current request; owned by the parser and reset when the next request starts. The
 * framing fields (minorVersion — 0 or 1 here —, contentLength, transferEncoding, chunked, connectionClose,
 * connectionKeepAlive) and `keepAlive` come from Http1Framing, shared with the generator's response parser.
 */
export class RequestHead extends Http1Framing {
  method = METHOD_OTHER;
  /** The bytes after `?` in the request target, up to `#`. */
  readonly query = new ByteBuffer(128);
  connectionUpgrade = false;
  /** An `Upgrade` header names websocket. */
  upgradeWebsocket = false;
  expectContinue = false;
  readonly websocketKey = new ByteBuffer(32);
  /** -1: no (or a non-numeric) Sec-WebSocket-Version. */
  websocketVersion = -1;
  /** The first subprotocol the client offers, empty when none. */
  readonly websocketProtocol = new ByteBuffer(32);
  /** Values of reflected headers, back to back; `reflectEntries` indexes them. */
  readonly reflectValues = new ByteBuffer(256);
  /** (index into REFLECTED_HEADERS, start, end) per reflected header line, in arrival order. */
  readonly reflectEntries = new Int32Array(3 * MAX_REFLECTED_LINES);
  reflectCount = 0;

  override reset(): void {
    super.reset();
    this.method = METHOD_OTHER;
    this.query.length = 0;
    this.connectionUpgrade = false;
    this.upgradeWebsocket = false;
    this.expectContinue = false;
    this.websocketKey.length = 0;
    this.websocketVersion = -1;
    this.websocketProtocol.length = 0;
    this.reflectValues.length = 0;
    this.reflectCount = 0;
  }
}

