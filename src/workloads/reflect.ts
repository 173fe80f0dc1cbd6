import { REFLECT_PREFIX, REFLECTED_HEADERS } from '../protocols.js';

/**
 * Header reflection: the echo sends back, as `x-echo-<name>`, every REFLECTED_HEADERS header the request
 * carried, so a client can see what the path between it and the echo added (trace context, the sidecar's
 * x-forwarded-client-cert, ...).
 */

/** `x-echo-<name>` for each REFLECTED_HEADERS entry, same order; computed once. */
export const REFLECTED_RESPONSE_NAMES: readonly string[] = REFLECTED_HEADERS.map((name) => REFLECT_PREFIX + name);

/**
 * Incoming headers keyed by lower-case name. Accepts Node's IncomingHttpHeaders (string, or string[] for
 * repeated headers) and grpc-js `Metadata#toJSON()` (an array per key; Buffer values only for `-bin` keys).
 */
export type IncomingHeaders = Readonly<Record<string, string | readonly (string | Uint8Array)[] | undefined>>;

/**
 * Appends `[responseName, value, responseName, value, ...]` to `out` for every reflected header present in
 * `headers` and returns `out` — the flat shape `res.writeHead(status, array)` takes. A header present with
 * an empty value is reflected as empty (it was carried); repeated values are joined with ", " as HTTP folds
 * them; non-string (binary) values are skipped. Pure apart from appending to `out`.
 */
export function reflectHeaders(headers: IncomingHeaders, out: string[] = []): string[] {
  for (let i = 0; i < REFLECTED_HEADERS.length; i++) {
    const value = headers[REFLECTED_HEADERS[i] as string];
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : joinStrings(value);
    if (text === undefined) continue;
    out.push(REFLECTED_RESPONSE_NAMES[i] as string, text);
  }
  return out;
}

function joinStrings(values: readonly (string | Uint8Array)[]): string | undefined {
  let text: string | undefined;
  for (const value of values) {
    if (typeof value !== 'string') continue;
    text = text === undefined ? value : text + ', ' + value;
  }
  return text;
}
