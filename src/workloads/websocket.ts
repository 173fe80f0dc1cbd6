import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { ByteBuffer } from './bytes.js';
import { writeReflectedHeaders } from './http-response.js';
import { METHOD_GET, type RequestHead } from './http-request-head.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';

/**
 * The websocket echo (RFC 6455) on the HTTP echo's connections: any path upgrades. Every message is sent
 * back as one frame as it arrived: binary stays binary, text stays text (and must be valid UTF-8).
 * Fragmented messages are reassembled; pings get pongs; a close is answered with the same code and reason
 * and the connection ends. No extensions (permessage-deflate would measure zlib, not the path); the first
 * subprotocol offered is accepted, as the ws library does. Messages over 16 MiB close with 1009. The 101
 * response carries the reflected headers.
 *
 * Per message nothing is allocated: payloads are unmasked into a reused buffer and the reply frame is
 * assembled in the connection's output buffer (a text message's UTF-8 check takes one view).
 */

/** How a session writes: the HTTP connection's reused output buffer and its write path. */
export interface FrameOutput {
  readonly out: ByteBuffer;
  /** Sends `out`, then `payload` as its own Buffer (the stream keeps it; used for large payloads). */
  flushWith(payload: Buffer): void;
  /** Sends what is pending, then ends the connection. */
  end(): void;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const SWITCHING = latin1('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ');
const PROTOCOL = latin1('Sec-WebSocket-Protocol: ');
const CRLF = latin1('\r\n');

/** A Sec-WebSocket-Key is the base64 of 16 bytes: 22 base64 characters and "==". */
const BASE64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;

/**
 * Checks the upgrade request (RFC 6455 §4.2.1) and appends the 101 response to `out`. Returns null, or a
 * message for a 400 saying what is wrong.
 */
export function acceptWebsocket(head: RequestHead, out: ByteBuffer): string | null {
  if (head.method !== METHOD_GET) return 'meshbench echo: a websocket upgrade must be a GET';
  const key = head.websocketKey;
  let keyValid = key.length === 24 && key.bytes[22] === 61 && key.bytes[23] === 61;
  for (let i = 0; keyValid && i < 22; i++) keyValid = BASE64[key.bytes[i]!] === 1;
  if (!keyValid) return 'meshbench echo: missing or invalid Sec-WebSocket-Key';
  if (head.websocketVersion !== 13 && head.websocketVersion !== 8) return 'meshbench echo: Sec-WebSocket-Version must be 13';
  const accept = createHash('sha1').update(key.bytes.toString('latin1', 0, 24) + GUID).digest('base64');
  out.appendAll(SWITCHING);
  out.appendLatin1(accept);
  out.appendAll(CRLF);
  if (head.websocketProtocol.length > 0) {
    out.appendAll(PROTOCOL);
    out.append(head.websocketProtocol.bytes, 0, head.websocketProtocol.length);
    out.appendAll(CRLF);
  }
  writeReflectedHeaders(out, head);
  out.appendAll(CRLF);
  return null;
}

const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;

const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_INVALID_DATA = 1007;
const CLOSE_TOO_BIG = 1009;

/** Payloads up to this size are copied next to the frame header (one write); larger go out as their own Buffer. */
const INLINE_PAYLOAD_MAX_BYTES = 16 * 1024;

/** Frame parser and echo for one upgraded connection. */
export class WebsocketSession {
  /** The frame header being read (2..14 bytes; may arrive split). */
  private readonly header = Buffer.alloc(14);
  private headerBytes = 0;
  private inPayload = false;
  private opcode = 0;
  private fin = false;
  private remaining = 0;
  private maskOffset = 0;
  /** Opcode of the message being reassembled (text or binary), -1 between messages. */
  private messageOpcode = -1;
  private readonly message = new ByteBuffer(4096);
  private readonly control = new ByteBuffer(128);
  /** We sent a close frame; further input is ignored. */
  private closed = false;

  constructor(private readonly output: FrameOutput) {}

  execute(chunk: Buffer, start: number): void {
    let at = start;
    const end = chunk.length;
    while (at < end && !this.closed) {
      if (!this.inPayload) {
        at = this.readHeader(chunk, at, end);
        continue;
      }
      const take = Math.min(this.remaining, end - at);
      const target = this.opcode >= OP_CLOSE ? this.control : this.message;
      target.reserve(take);
      const bytes = target.bytes;
      const header = this.header;
      const maskAt = this.headerBytes - 4;
      let into = target.length;
      let offset = this.maskOffset;
      for (let i = at; i < at + take; i++) bytes[into++] = chunk[i]! ^ header[maskAt + (offset++ & 3)]!;
      target.length = into;
      this.maskOffset = offset;
      this.remaining -= take;
      at += take;
      if (this.remaining === 0) this.frameDone();
    }
  }

  /** Reads header bytes; once the header is whole, checks it and starts the payload. Returns the new offset. */
  private readHeader(chunk: Buffer, start: number, end: number): number {
    const header = this.header;
    let at = start;
    let needed = this.headerLength();
    while (this.headerBytes < needed && at < end) {
      header[this.headerBytes++] = chunk[at++]!;
      needed = this.headerLength();
    }
    if (this.headerBytes < needed) return at;
    const first = header[0]!;
    const second = header[1]!;
    this.fin = (first & 0x80) !== 0;
    this.opcode = first & 0x0f;
    let length = second & 0x7f;
    if (length === 126) length = header.readUInt16BE(2);
    else if (length === 127) length = header.readUInt32BE(2) > 0 ? Infinity : header.readUInt32BE(6);
    if ((first & 0x70) !== 0) return this.fail(CLOSE_PROTOCOL_ERROR, end);
    if ((second & 0x80) === 0) return this.fail(CLOSE_PROTOCOL_ERROR, end); // clients must mask
    if (this.opcode >= OP_CLOSE) {
      if (!this.fin || length > 125 || this.opcode > OP_PONG) return this.fail(CLOSE_PROTOCOL_ERROR, end);
      this.control.length = 0;
    } else if (this.opcode === OP_CONTINUATION) {
      if (this.messageOpcode === -1) return this.fail(CLOSE_PROTOCOL_ERROR, end);
    } else if (this.opcode === OP_TEXT || this.opcode === OP_BINARY) {
      if (this.messageOpcode !== -1) return this.fail(CLOSE_PROTOCOL_ERROR, end);
      this.messageOpcode = this.opcode;
    } else {
      return this.fail(CLOSE_PROTOCOL_ERROR, end);
    }
    if (this.opcode < OP_CLOSE && this.message.length + length > MAX_PAYLOAD_BYTES) return this.fail(CLOSE_TOO_BIG, end);
    this.remaining = length;
    this.maskOffset = 0;
    this.inPayload = true;
    if (length === 0) this.frameDone();
    return at;
  }

  /** Header length implied by the bytes read so far (2 until the length byte is known). */
  private headerLength(): number {
    if (this.headerBytes < 2) return 2;
    const length = this.header[1]! & 0x7f;
    return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + ((this.header[1]! & 0x80) !== 0 ? 4 : 0);
  }

  private frameDone(): void {
    this.inPayload = false;
    this.headerBytes = 0;
    const opcode = this.opcode;
    if (opcode === OP_PING) return this.send(OP_PONG, this.control);
    if (opcode === OP_PONG) return;
    if (opcode === OP_CLOSE) return this.onClose();
    if (!this.fin) return;
    const messageOpcode = this.messageOpcode;
    this.messageOpcode = -1;
    const message = this.message;
    if (messageOpcode === OP_TEXT && !isUtf8(message.bytes.subarray(0, message.length))) {
      this.fail(CLOSE_INVALID_DATA, 0);
      return;
    }
    this.send(messageOpcode, message);
    message.clear();
  }

  /** A close frame: answer with the same code and reason (none when it carried none), then end. */
  private onClose(): void {
    const payload = this.control;
    if (payload.length === 1) return void this.fail(CLOSE_PROTOCOL_ERROR, 0);
    if (payload.length >= 2) {
      const code = payload.bytes.readUInt16BE(0);
      if (!isValidCloseCode(code)) return void this.fail(CLOSE_PROTOCOL_ERROR, 0);
      if (!isUtf8(payload.bytes.subarray(2, payload.length))) return void this.fail(CLOSE_INVALID_DATA, 0);
    }
    this.send(OP_CLOSE, payload);
    this.closed = true;
    this.output.end();
  }

  /** Closes with `code` (a protocol violation by the client) and ignores the rest; returns `end`. */
  private fail(code: number, end: number): number {
    const payload = this.control;
    payload.length = 0;
    payload.reserve(2);
    payload.bytes.writeUInt16BE(code, 0);
    payload.length = 2;
    this.send(OP_CLOSE, payload);
    this.closed = true;
    this.output.end();
    return end;
  }

  /** Appends one unmasked frame carrying `payload` to the output. */
  private send(opcode: number, payload: ByteBuffer): void {
    const out = this.output.out;
    const length = payload.length;
    out.appendByte(0x80 | opcode);
    if (length < 126) {
      out.appendByte(length);
    } else if (length < 65536) {
      out.appendByte(126);
      out.appendByte(length >>> 8);
      out.appendByte(length & 0xff);
    } else {
      out.appendByte(127);
      out.reserve(8);
      out.bytes.writeUInt32BE(0, out.length);
      out.bytes.writeUInt32BE(length, out.length + 4);
      out.length += 8;
    }
    if (length <= INLINE_PAYLOAD_MAX_BYTES) out.append(payload.bytes, 0, length);
    else this.output.flushWith(payload.detach());
  }
}

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are reserved, 3000-4999 are for apps). */
function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
