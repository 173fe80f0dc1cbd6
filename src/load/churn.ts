import { createLatencyHistogram, encodeHistogram, recordLatency } from '../histograms/index.js';

/**
 * Connection churn (http1): a new connection every `everyRequests` requests on a connection, or `rateHz` new
 * connections per second over the whole load — so each new connection pays what a new connection costs on the
 * path (a mesh: the TCP and mTLS handshakes at the sidecars). Plain data: it crosses to the worker threads.
 */
export type ChurnSpec = { everyRequests: number } | { rateHz: number };

/** What the new connections of a load cost (histograms: compressed base64, µs; merged exactly over workers). */
export interface ChurnResult {
  /** Connections the load opened in the measured window to churn (the first ones, opened before, not counted). */
  opened: number;
  /** From opening the connection to the client's connect (TCP; + TLS for an https target): what the client sees. */
  connectHistogram: string;
  /**
   * From opening the connection to the first response on it: everything a new connection costs along the path
   * (the sidecars' handshakes with each other included) plus one request. Its service time, on a fresh connection.
   */
  firstResponseHistogram: string;
}

const FRESH = 1;
const CONNECTED = 2;

/**
 * Which sends go out on a new connection, and what those connections cost. The loop asks `renewBefore` before
 * every send and reports connects and completions; per-connection state lives in typed arrays (nothing is
 * allocated per request). Only measured requests are recorded.
 */
export class ConnectionChurn {
  private readonly sends: Uint32Array;
  private readonly state: Uint8Array;
  private readonly measured: Uint8Array;
  private readonly every: number;
  private readonly gapUs: number;
  private startUs = 0;
  private renewals = 0;
  private opened = 0;
  private readonly connect = createLatencyHistogram();
  private readonly firstResponse = createLatencyHistogram();

  constructor(spec: ChurnSpec, connections: number) {
    this.sends = new Uint32Array(connections);
    this.state = new Uint8Array(connections);
    this.measured = new Uint8Array(connections);
    this.every = 'everyRequests' in spec ? spec.everyRequests : 0;
    this.gapUs = 'rateHz' in spec ? 1e6 / spec.rateHz : 0;
  }

  /** The load starts at `startUs` (rate churn counts its renewals from there). */
  begin(startUs: number): void {
    this.startUs = startUs;
  }

  /**
   * Called just before connection `c` sends at `nowUs`: true when that send must go out on a new connection (the
   * loop then renews it). Every N: the (N+1)-th send of a connection. Rate: the first send at or after each due time.
   */
  renewBefore(c: number, nowUs: number, isMeasured: boolean): boolean {
    let renew: boolean;
    if (this.every > 0) {
      renew = ++(this.sends[c] as number) > this.every;
      if (renew) this.sends[c] = 1;
    } else {
      renew = nowUs >= this.startUs + this.renewals * this.gapUs + this.gapUs;
      if (renew) this.renewals++;
    }
    if (renew) {
      this.state[c] = FRESH;
      this.measured[c] = isMeasured ? 1 : 0;
      if (isMeasured) this.opened++;
    }
    return renew;
  }

  /** Connection `c`'s new transport connected at `nowUs`; its first request was sent at `sentUs`. */
  connected(c: number, nowUs: number, sentUs: number): void {
    if (this.state[c] !== FRESH) return;
    this.state[c] = CONNECTED;
    if (this.measured[c] === 1) recordLatency(this.connect, nowUs - sentUs);
  }

  /** A response on `c` at `nowUs` to the request sent at `sentUs`. */
  responded(c: number, nowUs: number, sentUs: number): void {
    if (this.state[c] === 0) return;
    if (this.measured[c] === 1) recordLatency(this.firstResponse, nowUs - sentUs);
    this.state[c] = 0;
  }

  /** The first request on a new connection failed: it has no first response. */
  failed(c: number): void {
    this.state[c] = 0;
  }

  result(): ChurnResult {
    return { opened: this.opened, connectHistogram: encodeHistogram(this.connect), firstResponseHistogram: encodeHistogram(this.firstResponse) };
  }
}
