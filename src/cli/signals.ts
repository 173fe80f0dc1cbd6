import { MeshbenchError } from '../errors.js';
import { EXIT } from './exit-codes.js';

/** Runs the work of one command under a signal that SIGINT/SIGTERM abort; a second signal exits at once. */
export function withSignals(): AbortController {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nmeshbench: ${signal} again, exiting now\n`);
      process.exit(EXIT.runtime); // 'exit' handlers still kill children and remove temp dirs
    }
    process.stderr.write(`\nmeshbench: ${signal} received, stopping and cleaning up (again to force)\n`);
    controller.abort(new MeshbenchError('MB_INTERRUPTED', `interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller;
}
