import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK_CHARS, ChunkReader, chunkLines, readChunkedLog } from '../../src/envs/kubernetes/chunks.js';

/** Splits `text` at the given cut points (any positions, as a log stream delivers it). */
function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const p of points) {
    out.push(text.slice(at, p));
    at = p;
  }
  out.push(text.slice(at));
  return out;
}

const LOG_LINE_LIMIT_BYTES = 16 * 1024;

describe('chunked records over a pod log', () => {
  it('a record far larger than a log line limit crosses in lines that each fit it', () => {
    const big = { kind: 'load', histogram: 'HISTFAAAA'.repeat(20_000), note: 'é€😀'.repeat(3000) }; // ~200 KB
    const lines = chunkLines(7, big);
    expect(lines.length).toBeGreaterThan(40);
    for (const line of lines) expect(Buffer.byteLength(`${line}\n`)).toBeLessThan(LOG_LINE_LIMIT_BYTES);
    const { records } = readChunkedLog(`starting\n${lines.join('\n')}\n`);
    expect(records).toEqual([{ seq: 7, value: big }]);
  });

  it('law: any records, any chunk size, any split of the stream: each record once, equal to what was written', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 2, max: 64 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (values, chunkChars, cuts) => {
          const text = values.flatMap((v, seq) => chunkLines(seq, v, chunkChars)).map((l) => `${l}\n`).join('');
          const reader = new ChunkReader();
          const got = [...splitAt(text, cuts).flatMap((piece) => reader.push(piece)), ...reader.end()];
          expect(got.map((r) => r.seq)).toEqual(values.map((_, i) => i));
          // JSON round trip is the reference (-0 becomes 0, as any JSON transport does)
          expect(got.map((r) => r.value)).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as unknown));
          expect(reader.damaged).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('law: a log read twice (a stream re-read after a reconnect) delivers each record once', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 4 }), (values) => {
        const text = values.flatMap((v, seq) => chunkLines(seq, v, 8)).join('\n') + '\n';
        const reader = new ChunkReader();
        const first = reader.push(text);
        const again = reader.push(text);
        expect(first).toHaveLength(values.length);
        expect(again).toEqual([]);
      }),
    );
  });

  it.each([
    ['a lost chunk', (lines: string[]) => lines.filter((_, i) => i !== 1)],
    ['a torn last chunk', (lines: string[]) => [...lines.slice(0, -1), (lines.at(-1) ?? '').slice(0, 30)]],
  ])('%s: the record is not delivered (never half a record)', (_name, damage) => {
    const lines = chunkLines(0, { payload: 'x'.repeat(200) }, 50);
    const { records } = readChunkedLog(damage(lines).join('\n'));
    expect(records).toEqual([]);
  });

  it('a changed chunk fails the digest; a chunk of another record under the same number starts that record over', () => {
    const lines = chunkLines(0, { payload: 'a'.repeat(100) }, 40);
    const tampered = lines.map((l, i) => (i === 1 ? l.replace(/a(?=a*$)/, 'b') : l));
    const r1 = readChunkedLog(tampered.join('\n'));
    expect(r1.records).toEqual([]);
    expect(r1.reader.damaged).toBe(1);
    // a writer that died mid-record and a new one writing seq 0 again: the new record wins
    const other = chunkLines(0, { payload: 'new' }, 40);
    const r2 = readChunkedLog([lines[0] ?? '', ...other].join('\n'));
    expect(r2.records).toEqual([{ seq: 0, value: { payload: 'new' } }]);
  });

  it('never splits a surrogate pair across lines', () => {
    const value = '😀'.repeat(CHUNK_CHARS);
    for (const line of chunkLines(0, value)) {
      const slice = line.split(' ').slice(4).join(' ');
      expect(Buffer.from(slice, 'utf8').toString('utf8')).toBe(slice);
    }
    expect(readChunkedLog(chunkLines(0, value).join('\n')).records[0]?.value).toBe(value);
  });
});
