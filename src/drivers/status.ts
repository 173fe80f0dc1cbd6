import { MeshbenchError } from '../errors.js';

/** What counts as success when nothing is said: any final status below 400 (redirects are answers too). */
export const DEFAULT_EXPECT_STATUS = '2xx,3xx';

/**
 * The HTTP statuses a user expects, as a lookup table indexed by status (100–599): one byte read per response
 * on the hot path, nothing allocated. `spec` is a comma-separated list of classes (`2xx`), single statuses
 * (`204`) and ranges (`200-299`); anything else is MB_BAD_ARGUMENT saying what is allowed.
 */
export function parseExpectStatus(spec: string): Uint8Array {
  const ok = new Uint8Array(600);
  const items = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw badStatus(spec, 'it is empty');
  for (const item of items) {
    const cls = /^([1-5])xx$/i.exec(item);
    const range = /^(\d{3})(?:-(\d{3}))?$/.exec(item);
    let low: number;
    let high: number;
    if (cls !== null) {
      low = Number(cls[1]) * 100;
      high = low + 99;
    } else if (range !== null) {
      low = Number(range[1]);
      high = range[2] === undefined ? low : Number(range[2]);
    } else {
      throw badStatus(spec, `"${item}" is not a status, a class or a range`);
    }
    if (low < 100 || high > 599 || low > high) throw badStatus(spec, `"${item}" is outside 100–599 or reversed`);
    ok.fill(1, low, high + 1);
  }
  return ok;
}

function badStatus(spec: string, why: string): MeshbenchError {
  return new MeshbenchError('MB_BAD_ARGUMENT', `--expect-status "${spec}": ${why}; use classes, statuses and ranges, e.g. 2xx, 200,204 or 200-299,404`);
}

/** Whether `status` is one the table expects (statuses outside 100–599 never are). */
export function isExpectedStatus(table: Uint8Array, status: number): boolean {
  return status < table.length && table[status] === 1;
}
