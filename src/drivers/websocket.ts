import type { IncomingMessage } from 'node:http';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { MeshbenchError } from '../errors.js';
import type { CompletionSink, Driver, DriverConnection, DriverModule, DriverOptions, ProbeResult } from './driver.js';
import { parseTarget, tlsConnectOptions } from './target.js';

/**
 * Websocket (ws): one WebSocket per connection index, binary messages of payloadBytes (one Buffer, reused),
 * each received message completes the outstanding one (checked to have the message's size against the echo;
 * `echoCheck: false` for other servers). wss:// takes the TLS options of driver.ts. No permessage-deflate: it would measure zlib.
 * The extra headers go on the upgrade request.
 *
 * connect() resolves on 'open' and rejects with the handshake error. A socket that closes or fails while a
 * message is outstanding reports 'reset' ('connect' if it never opened); the next send() reconnects and
 * sends once the new socket is open. A reply of the wrong size reports 'protocol' and drops the socket.
 *
 * ws allocates per message (its send options, the frame header, the masked copy of the payload and the
 * received Buffer); the driver adds nothing per message.
 */

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 1000;
const SEND_OPTIONS = { binary: true, compress: false, fin: true } as const;

const parseWsTarget = (target: string): URL => parseTarget(target, 'websocket', ['ws:', 'wss:'], 'ws://host:port/path (or wss://)');

function clientOptions(options: DriverOptions, handshakeTimeoutMs: number): ClientOptions {
  const url = parseWsTarget(options.target);
  return {
    // ws's ClientOptions types checkServerIdentity its own way; the node:tls options here set no such callback.
    ...((url.protocol === 'wss:' ? tlsConnectOptions(url.hostname.replace(/^\[|\]$/g, ''), options.tls) : {}) as ClientOptions),
    perMessageDeflate: false,
    headers: { ...options.headers },
    handshakeTimeout: handshakeTimeoutMs,
    followRedirects: false,
    skipUTF8Validation: true,
  };
}

interface WebsocketShared {
  url: string;
  options: ClientOptions;
  payload: Buffer;
  /** Check that a reply has the message's size (the echo's semantics). */
  echoCheck: boolean;
}

class WebsocketConnection implements DriverConnection {
  private ws: WebSocket | null = null;
  /** The current socket has opened (a close then means 'reset', before it 'connect'). */
  private opened = false;
  private outstanding = false;
  /** send() came while the socket was still connecting: send on 'open'. */
  private pendingSend = false;
  private closed = false;
  private lastError: Error | null = null;

  constructor(
    private readonly index: number,
    private readonly sink: CompletionSink,
    private readonly shared: WebsocketShared,
  ) {}

  /** Opens the first socket; resolves on 'open', rejects with the handshake error. */
  open(): Promise<void> {
    const ws = this.openSocket();
    return new Promise((resolve, reject) => {
      const onOpen = (): void => {
        ws.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        ws.off('open', onOpen);
        reject(this.lastError ?? new Error(`websocket to ${this.shared.url} closed during the handshake`));
      };
      ws.once('open', onOpen);
      ws.once('close', onClose);
    });
  }

  /**
   * One socket with its listeners. The closures are per socket (per connect), not per message; they check
   * that the socket is still the current one, so a dropped socket's late events are ignored.
   */
  private openSocket(): WebSocket {
    const ws = new WebSocket(this.shared.url, this.shared.options);
    this.ws = ws;
    this.opened = false;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.opened = true;
      if (!this.pendingSend) return;
      this.pendingSend = false;
      ws.send(this.shared.payload, SEND_OPTIONS);
    });
    ws.on('message', (data: RawData) => {
      if (this.ws !== ws) return;
      if (!this.outstanding || (this.shared.echoCheck && Buffer.isBuffer(data) && data.length !== this.shared.payload.length)) {
        this.dropSocket(); // out of step: an unsolicited or wrong-sized message
        this.report('protocol');
        return;
      }
      this.outstanding = false;
      this.sink.onResponse(this.index);
    });
    ws.on('error', (err: Error) => {
      this.lastError = err; // 'close' follows and reports
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.pendingSend = false;
      this.report(this.opened ? 'reset' : 'connect');
    });
    return ws;
  }

  send(): void {
    if (this.closed) return;
    this.outstanding = true;
    let ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) {
      this.dropSocket();
      ws = this.openSocket();
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(this.shared.payload, SEND_OPTIONS);
    else this.pendingSend = true;
  }

  abort(): void {
    this.outstanding = false;
    this.dropSocket(); // a late echo would otherwise complete the next message
  }

  close(): Promise<void> {
    this.closed = true;
    this.outstanding = false;
    const ws = this.ws;
    this.ws = null;
    this.pendingSend = false;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      else ws.terminate();
    });
  }

  private dropSocket(): void {
    const ws = this.ws;
    this.ws = null;
    this.pendingSend = false;
    ws?.terminate();
  }

  private report(kind: 'reset' | 'connect' | 'protocol'): void {
    if (!this.outstanding) return;
    this.outstanding = false;
    this.sink.onError(this.index, kind);
  }
}

/** The message every send carries: `body`, else payloadBytes of 'x'. */
function messageOf(options: DriverOptions): Buffer {
  return options.body === undefined ? Buffer.alloc(options.payloadBytes, 0x78) : Buffer.from(options.body);
}

class WebsocketDriver implements Driver {
  readonly protocol = 'websocket' as const;
  private readonly shared: WebsocketShared;

  constructor(options: DriverOptions) {
    this.shared = {
      url: parseWsTarget(options.target).href,
      options: clientOptions(options, HANDSHAKE_TIMEOUT_MS),
      payload: messageOf(options),
      echoCheck: options.echoCheck !== false,
    };
  }

  async connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    const connection = new WebsocketConnection(index, sink, this.shared);
    await connection.open();
    return connection;
  }

  async close(): Promise<void> {
    // Nothing shared: each connection owns its socket.
  }
}

/**
 * Opens a websocket with the headers, keeps the upgrade response's headers, sends one message, awaits its
 * echo and closes: status 101 and the upgrade headers (lower-cased, first value each).
 */
function probe(options: DriverOptions, timeoutMs: number): Promise<ProbeResult> {
  const url = parseWsTarget(options.target).href;
  const payload = messageOf(options);
  return new Promise<ProbeResult>((resolve, reject) => {
    const ws = new WebSocket(url, clientOptions(options, timeoutMs));
    const headers: Record<string, string> = {};
    let settled = false;
    const settle = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === null) {
        ws.close(1000);
        resolve({ status: 101, headers });
      } else {
        ws.terminate();
        reject(err);
      }
    };
    const timer = setTimeout(() => settle(new Error(`no websocket echo from ${url} within ${timeoutMs} ms`)), timeoutMs);
    ws.on('upgrade', (res: IncomingMessage) => {
      for (const [name, value] of Object.entries(res.headers)) {
        const first = Array.isArray(value) ? value[0] : value;
        if (first !== undefined) headers[name.toLowerCase()] = first;
      }
    });
    ws.on('open', () => ws.send(payload, SEND_OPTIONS));
    ws.on('message', () => settle(null));
    ws.on('error', (err: Error) => settle(err));
    ws.on('close', () => settle(new Error(`websocket to ${url} closed before the echo`)));
  });
}

export const websocket: DriverModule = {
  create: (options) => new WebsocketDriver(options),
  probe,
};
