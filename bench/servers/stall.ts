import { createServer, type ServerResponse } from 'node:http';

/**
 * The coordinated-omission target (its own process): an HTTP/1.1 server that answers at once, except that
 * once per second it stops answering for `stallMs` (argv[2], default 100) — requests that arrive during a
 * stall are held and all answered when it ends, as a server behind a GC pause or a full queue would.
 * Prints {"port":N} once listening; SIGTERM/SIGINT stop it.
 */
const stallMs = Number(process.argv[2] ?? 100);
const BODY = Buffer.from('ok\n');
let stalled = false;
let held: ServerResponse[] = [];

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
}

const server = createServer({ keepAliveTimeout: 300_000, noDelay: true }, (req, res) => {
  req.resume();
  if (stalled) held.push(res);
  else answer(res);
});
server.maxRequestsPerSocket = 0;

const stall = setInterval(() => {
  stalled = true;
  setTimeout(() => {
    stalled = false;
    const release = held;
    held = [];
    for (const res of release) answer(res);
  }, stallMs);
}, 1000);

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const stop = (): void => {
  clearInterval(stall);
  server.closeAllConnections();
  server.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
