import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHlog } from '../../src/histograms/index.js';
import { isPilotDir, PilotStore, readPilot, RECORDS_FILE } from '../../src/pilot/store.js';
import { pilotMeta, segmentRecord } from '../fixtures/pilot-folder.js';
import { syntheticInterval } from '../fixtures/pilot-records.js';

const work = mkdtempSync(join(tmpdir(), 'meshbench-pilot-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('PilotStore', () => {
  it('creates the folder, appends records and .hlog lines, and reads them back', async () => {
    const dir = join(work, 'a');
    const meta = pilotMeta(2);
    const store = await PilotStore.create(dir, meta);
    expect(existsSync(join(dir, 'pilot.lock'))).toBe(true);
    await store.append(segmentRecord(0, meta.startMs));
    const intervals = [syntheticInterval(meta.startMs + 1000, 10, 100, 0, 1), syntheticInterval(meta.startMs + 2000, 20, 100, 0, 2)];
    await store.append({ type: 'window', index: 0, segment: 0, startMs: meta.startMs + 1000, endMs: meta.startMs + 3000, partial: false, protocols: [], proxies: {} }, new Map([['http1-meshed.hlog', intervals]]));
    await store.close();
    expect(existsSync(join(dir, 'pilot.lock'))).toBe(false);
    expect(await isPilotDir(dir)).toBe(true);
    const { meta: read, records } = await readPilot(dir);
    expect(read).toEqual(meta);
    expect(records.map((r) => r.type)).toEqual(['segment', 'window']);
    const log = readHlog(readFileSync(join(dir, 'http1-meshed.hlog'), 'utf8'));
    expect(log.map((h) => [h.startMs, h.endMs, h.histogram.totalCount])).toEqual([[meta.startMs + 1000, meta.startMs + 2000, 10], [meta.startMs + 2000, meta.startMs + 3000, 20]]);
    expect(readHlog(readFileSync(join(dir, 'http1-unmeshed.hlog'), 'utf8'))).toEqual([]);
  });

  it('a record torn by a crash is ignored by readers and cut off by a resume', async () => {
    const dir = join(work, 'b');
    const meta = pilotMeta(2);
    const store = await PilotStore.create(dir, meta);
    await store.append(segmentRecord(0, meta.startMs));
    await store.close();
    const good = statSync(join(dir, RECORDS_FILE)).size;
    appendFileSync(join(dir, RECORDS_FILE), '{"type":"window","ind');
    expect((await readPilot(dir)).records).toHaveLength(1);
    const { store: resumed, records } = await PilotStore.resume(dir);
    expect(records).toHaveLength(1);
    expect(statSync(join(dir, RECORDS_FILE)).size).toBe(good);
    await resumed.append(segmentRecord(1, meta.startMs + 5000));
    await resumed.close();
    expect((await readPilot(dir)).records.map((r) => r.type === 'segment' && r.segment)).toEqual([0, 1]);
  });

  it('refuses a folder that holds a pilot, or one a live process holds; takes over a dead holder\'s lock', async () => {
    const dir = join(work, 'c');
    const meta = pilotMeta(2);
    const store = await PilotStore.create(dir, meta);
    await expect(PilotStore.create(dir, meta)).rejects.toThrow(/already holds a pilot: continue it with `meshbench pilot --resume/);
    await store.close();
    const sleeper = spawn('sleep', ['30']);
    try {
      appendFileSync(join(dir, 'pilot.lock'), `${sleeper.pid}\n`);
      await expect(PilotStore.resume(dir)).rejects.toThrow(new RegExp(`in use by a running pilot \\(pid ${sleeper.pid}\\)`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
    const { store: again } = await PilotStore.resume(dir); // the holder is dead now
    await again.close();
  });

  it.each([
    ['no folder', 'missing', /no readable pilot.json/],
    ['another kind', 'other', /not a meshbench pilot/],
  ])('%s is bad input', async (_what, name, message) => {
    const dir = join(work, name);
    if (name === 'other') {
      rmSync(dir, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(dir).then(() => fs.writeFile(join(dir, 'pilot.json'), '{"kind":"x"}')));
    }
    await expect(readPilot(dir)).rejects.toThrow(message);
    expect(await isPilotDir(dir)).toBe(false);
  });
});
