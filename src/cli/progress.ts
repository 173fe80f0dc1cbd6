import type { RunEvent } from '../run/run-scenario.js';

/**
 * Progress display: one rewritten status line on a TTY (elapsed, current rate, p99 so far), nothing but
 * milestone lines otherwise, so logs in CI stay readable. Writes to stderr; stdout is for results.
 */
export function progressReporter(stream: NodeJS.WriteStream, quiet: boolean): (event: RunEvent) => void {
  const tty = stream.isTTY === true && !quiet;
  let label = '';
  let where = '';
  const line = (text: string) => {
    if (tty) stream.write(`\r\x1b[2K${text}`);
  };
  const say = (text: string) => {
    if (quiet) return;
    if (tty) stream.write('\r\x1b[2K');
    stream.write(`${text}\n`);
  };
  return (event) => {
    switch (event.type) {
      case 'env-ready':
        say(`environment ${event.kind} ready: variants ${event.variants.join(', ')}`);
        break;
      case 'proven':
        say(`paths proven: ${event.proofs.map((p) => `${p.variant}/${p.protocol} ${p.ok ? 'ok' : 'FAILED'}`).join(', ')}`);
        break;
      case 'round-start': {
        const rounds = event.roundsInLoad > 1 ? `rounds ${event.round + 1}–${event.round + event.roundsInLoad}/${event.rounds}` : `round ${event.round + 1}/${event.rounds}`;
        where = `[${event.step}/${event.steps}] ${rounds}`; // protocols driven together share it
        label = `${where} ${event.protocol} ${event.variant}`;
        line(`${label} starting`);
        break;
      }
      case 'progress':
        line(`${where} ${event.protocol} ${event.variant} ${(event.elapsedMs / 1000).toFixed(1)} s  ${event.rateHz.toFixed(0)} req/s  p99 ${(event.p99Us / 1000).toFixed(3)} ms`);
        break;
      case 'fault':
        say(`stopped early: ${event.fault.protocol}/${event.fault.variant} round ${event.fault.round + 1}: ${event.fault.message} [${event.fault.code}]`);
        break;
      case 'judging':
        say(`judging ${event.rounds} round(s)`);
        break;
      case 'round-end':
        if (tty || quiet) break;
        // a round where nothing came back is a target that stopped answering, not a clean "0 ok, 0 errors"
        if (event.count + event.errors === 0) stream.write(`${where} ${event.protocol} ${event.variant}: nothing completed or failed — the target is not answering\n`);
        else stream.write(`${where} ${event.protocol} ${event.variant}: ${event.count} ok, ${event.errors} errors, p99 ${(event.p99Us / 1000).toFixed(3)} ms\n`);
        break;
    }
  };
}
