import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { DelayQueue } from './delay.js';
import { MAX_PAYLOAD_BYTES } from './limits.js';
import { reflectHeaders } from './reflect.js';

/**
 * The websocket echo, on the HTTP echo's server (any path upgrades). Every message is sent back as it
 * arrived: binary stays binary, text stays text. No permessage-deflate: compression would measure zlib,
 * not the path. The 101 response carries the reflected headers.
 */
export interface WebsocketEcho {
  /** Drops every open websocket at once (no close handshake) and stops accepting upgrades. */
  terminate(): void;
}

const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** `planted`: every echoed message waits for it first (a calibration knob; the path without it is unchanged). */
export function attachWebsocketEcho(server: Server, planted?: DelayQueue): WebsocketEcho {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD_BYTES,
    clientTracking: true,
  });
  wss.on('headers', onHeaders);
  wss.on('connection', planted === undefined ? onConnection : plantedConnection(planted));
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);
  return {
    terminate(): void {
      server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function onHeaders(headers: string[], req: IncomingMessage): void {
  const reflected = reflectHeaders(req.headers);
  for (let i = 0; i + 1 < reflected.length; i += 2) headers.push(`${reflected[i]}: ${reflected[i + 1]}`);
}

function onConnection(ws: WebSocket): void {
  ws.on('message', onMessage);
  ws.on('error', ignore); // a peer that breaks the protocol is closed by ws; nothing to report
}

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  this.send(data, isBinary ? BINARY : TEXT);
}

/** With a planted delay: the same echo, each message sent after the delay (one closure per server). */
function plantedConnection(planted: DelayQueue): (ws: WebSocket) => void {
  function onPlantedMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    planted.schedule(sendEcho, this, data, isBinary ? BINARY : TEXT);
  }
  return (ws) => {
    ws.on('message', onPlantedMessage);
    ws.on('error', ignore);
  };
}

function sendEcho(ws: WebSocket, data: RawData, options: typeof BINARY | typeof TEXT): void {
  if (ws.readyState === ws.OPEN) ws.send(data, options);
}

function ignore(): void {}
