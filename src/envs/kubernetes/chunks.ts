import { createHash } from 'node:crypto';

/**
 * How a generator pod's results reach meshbench: records (JSON values) written to stdout as bounded-size chunk
 * lines, read back from the pod's log stream. Why the log and not an HTTP endpoint the pod serves: the log is
 * reachable through the API server for every pod, meshed or not (an endpoint on a meshed pod would sit behind
 * its sidecar, where STRICT mTLS rejects the API server's proxy and port-forward), and client-node 1.4's `Log`
 * streams it with `follow` (a pilot's windows as they close) and reads a dead container's log with `previous`.
 * Why chunks: container runtimes split a line longer than 16 KiB (CRI: partial lines; Docker json-file: 16 KiB
 * pieces) and log rotation cuts anywhere — a result must never depend on one line surviving whole.
 *
 * One line per chunk, each at most CHUNK_CHARS characters of the record's JSON text (≤ 12 KiB of UTF-8):
 *
 *     meshbench-chunk <seq> <part>/<parts> <digest> <slice of the JSON text>
 *
 * `seq` numbers the records of one container (the pilot: the window's index on the pilot's grid), so a record
 * read twice (a log stream re-read after a reconnect) is delivered once, and a missing one is a visible gap;
 * `digest` (SHA-256 of the whole JSON text, 16 hex digits) catches a chunk from another record or a torn one.
 * A record whose chunks are not all there when the stream ends (the container died writing it) is dropped.
 */

const CHUNK_PREFIX = 'meshbench-chunk ';
/** Characters of JSON text per line: at most 3 bytes each in UTF-8 (JSON escapes lone surrogates), so < 16 KiB. */
export const CHUNK_CHARS = 4096;

const LINE = /^meshbench-chunk (\d+) (\d+)\/(\d+) ([0-9a-f]{16}) (.*)$/;

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The lines (without newlines) that carry record `seq`. */
export function chunkLines(seq: number, value: unknown, chunkChars = CHUNK_CHARS): string[] {
  const text = JSON.stringify(value);
  const digest = digestOf(text);
  const slices: string[] = [];
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + chunkChars);
    // Never split a surrogate pair: each line must be valid UTF-16 on its own to survive UTF-8 encoding.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff && end - 1 > at) end--;
    slices.push(text.slice(at, end));
    at = end;
  }
  return slices.map((s, i) => `${CHUNK_PREFIX}${seq} ${i + 1}/${slices.length} ${digest} ${s}`);
}

export interface ChunkRecord {
  seq: number;
  value: unknown;
}

interface Partial {
  parts: number;
  digest: string;
  slices: (string | undefined)[];
  have: number;
}

/**
 * Reassembles records from a log as it arrives (any split of the text into pushes). Lines that are not chunks
 * (other output of the pod) are passed over; a record is delivered once, however often its lines are read.
 * Holds only the records being assembled and the set of delivered sequence numbers.
 */
export class ChunkReader {
  private rest = '';
  private readonly assembling = new Map<number, Partial>();
  private readonly delivered = new Set<number>();
  /** Chunks that contradicted their record (another digest or part count) or a record whose digest failed. */
  damaged = 0;
  /** The log's last lines that were not chunks (to explain a pod that reported nothing). */
  readonly otherLines: string[] = [];

  /** Feeds more of the log; returns the records it completed, in completion order. */
  push(text: string): ChunkRecord[] {
    const lines = (this.rest + text).split('\n');
    this.rest = lines.pop() ?? '';
    const out: ChunkRecord[] = [];
    for (const line of lines) this.line(line.endsWith('\r') ? line.slice(0, -1) : line, out);
    return out;
  }

  /** The end of the stream: a last line without its newline is read; unfinished records are dropped. */
  end(): ChunkRecord[] {
    const out: ChunkRecord[] = [];
    if (this.rest !== '') this.line(this.rest, out);
    this.rest = '';
    this.assembling.clear();
    return out;
  }

  private line(line: string, out: ChunkRecord[]): void {
    const m = LINE.exec(line);
    if (m === null) {
      if (line.trim() !== '') {
        this.otherLines.push(line);
        if (this.otherLines.length > 5) this.otherLines.shift();
      }
      return;
    }
    const [, seqText = '', partText = '', partsText = '', digest = '', slice = ''] = m;
    const seq = Number(seqText), part = Number(partText), parts = Number(partsText);
    if (this.delivered.has(seq)) return;
    if (part < 1 || part > parts) {
      this.damaged++;
      return;
    }
    let p = this.assembling.get(seq);
    if (p !== undefined && (p.parts !== parts || p.digest !== digest)) {
      this.damaged++; // another record under the same number (a restarted writer): start over with this one
      p = undefined;
    }
    if (p === undefined) {
      p = { parts, digest, slices: new Array<string | undefined>(parts).fill(undefined), have: 0 };
      this.assembling.set(seq, p);
    }
    if (p.slices[part - 1] === undefined) p.have++;
    p.slices[part - 1] = slice;
    if (p.have < parts) return;
    this.assembling.delete(seq);
    const text = p.slices.join('');
    if (digestOf(text) !== digest) {
      this.damaged++;
      return;
    }
    try {
      out.push({ seq, value: JSON.parse(text) as unknown });
      this.delivered.add(seq);
    } catch {
      this.damaged++;
    }
  }
}

/** Every whole record of a finished log, in sequence order. */
export function readChunkedLog(log: string): { records: ChunkRecord[]; reader: ChunkReader } {
  const reader = new ChunkReader();
  const records = [...reader.push(log), ...reader.end()].sort((a, b) => a.seq - b.seq);
  return { records, reader };
}
