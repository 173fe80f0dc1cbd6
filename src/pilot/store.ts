import { closeSync, constants, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshbenchError } from '../errors.js';
import { writeHlog, writeHlogLines, type TaggedInterval } from '../histograms/index.js';
import { PILOT_KIND, PILOT_SCHEMA_VERSION, type PilotMeta, type PilotRecord } from '../pilot-record.js';

/**
 * A pilot's folder — the one place that reads and writes it (layout: src/pilot-record.ts). Appends are durable
 * before they return: written, then fsynced (file and, when it was created, the folder). A record torn by a
 * crash mid-write is the last line without its newline: readers ignore it, and a resuming writer cuts it off.
 */

export const META_FILE = 'pilot.json';
export const RECORDS_FILE = 'windows.jsonl';
const LOCK_FILE = 'pilot.lock';

export function hlogName(protocol: string, variant: string): string {
  return `${protocol}-${variant}.hlog`;
}

export function isPilotDir(dir: string): Promise<boolean> {
  return readFile(join(dir, META_FILE), 'utf8').then(
    (text) => (JSON.parse(text) as { kind?: unknown }).kind === PILOT_KIND,
    () => false,
  );
}

export interface PilotContents {
  meta: PilotMeta;
  records: PilotRecord[];
  /** Bytes of windows.jsonl up to the end of its last complete line. */
  goodBytes: number;
}

/** Reads a pilot folder (while its pilot runs, too); bad input (exit 3) when it is not one. */
export async function readPilot(dir: string): Promise<PilotContents> {
  let meta: PilotMeta;
  try {
    meta = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as PilotMeta;
  } catch (err) {
    throw new MeshbenchError('MB_BAD_ARGUMENT', `${dir}: no readable ${META_FILE} (${String((err as { code?: unknown }).code ?? err)}) — give a folder written by \`meshbench pilot\``);
  }
  if (meta.kind !== PILOT_KIND || meta.schemaVersion !== PILOT_SCHEMA_VERSION) {
    throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${join(dir, META_FILE)}: not a meshbench pilot of schema ${PILOT_SCHEMA_VERSION} (kind ${String(meta.kind)}, schema ${String(meta.schemaVersion)})`);
  }
  const text = await readFile(join(dir, RECORDS_FILE), 'utf8').catch(() => '');
  const end = text.lastIndexOf('\n') + 1;
  const records: PilotRecord[] = [];
  for (const [i, line] of text.slice(0, end).split('\n').entries()) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as PilotRecord);
    } catch {
      throw new MeshbenchError('MB_INCOMPATIBLE_RESULTS', `${join(dir, RECORDS_FILE)} line ${i + 1} is not JSON: the file was changed by hand or damaged`);
    }
  }
  return { meta, records, goodBytes: Buffer.byteLength(text.slice(0, end)) };
}

/** The writer of one running pilot: holds the folder's lock until close(). */
export class PilotStore {
  private constructor(
    readonly dir: string,
    readonly meta: PilotMeta,
    private readonly fd: number,
  ) {}

  /** A new pilot in `dir` (which must not hold one). */
  static async create(dir: string, meta: PilotMeta): Promise<PilotStore> {
    await mkdir(dir, { recursive: true });
    if (await isPilotDir(dir)) throw new MeshbenchError('MB_BAD_ARGUMENT', `${dir} already holds a pilot: continue it with \`meshbench pilot --resume ${dir}\`, or give another --out`);
    const fd = lock(dir);
    await writeDurably(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    for (const protocol of meta.scenario.protocols) {
      for (const variant of ['unmeshed', 'meshed']) {
        const comments = [`[meshbench pilot ${meta.pilotId}: ${protocol.name}, ${variant}; 1 s intervals of every closed window]`];
        await writeDurably(join(dir, hlogName(protocol.name, variant)), writeHlog([], { startTimeMs: meta.startMs, comments }));
      }
    }
    await writeDurably(join(dir, RECORDS_FILE), '');
    syncDir(dir);
    return new PilotStore(dir, meta, fd);
  }

  /** The pilot in `dir`, to continue it: cuts off a record torn by a crash. */
  static async resume(dir: string): Promise<{ store: PilotStore; records: PilotRecord[] }> {
    const { meta, records, goodBytes } = await readPilot(dir);
    const fd = lock(dir);
    await truncate(join(dir, RECORDS_FILE), goodBytes);
    return { store: new PilotStore(dir, meta, fd), records };
  }

  /**
   * Appends the window's interval lines to the .hlog files, then its record (or a segment record alone), each
   * fsynced: once this resolves the window survives a kill -9 or a power cut. The record goes last, so a
   * record on disk always has its .hlog lines (a crash in between leaves lines without a record, which the
   * record's absence marks as not closed).
   */
  async append(record: PilotRecord, hlogLines: Map<string, TaggedInterval[]> = new Map()): Promise<void> {
    for (const [name, intervals] of hlogLines) {
      if (intervals.length > 0) await appendDurably(join(this.dir, name), writeHlogLines(intervals, this.meta.startMs));
    }
    await appendDurably(join(this.dir, RECORDS_FILE), `${JSON.stringify(record)}\n`);
  }

  async close(): Promise<void> {
    closeSync(this.fd);
    await rm(join(this.dir, LOCK_FILE), { force: true });
  }
}

/** Takes the folder's lock (a file holding our pid); a live holder is bad input, a dead one's lock is taken over. */
function lock(dir: string): number {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      return fd;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
      const holder = readPid(path);
      if (holder !== null && holder !== process.pid && alive(holder)) {
        throw new MeshbenchError('MB_BAD_ARGUMENT', `${dir} is in use by a running pilot (pid ${holder}); stop it first, or give another folder`);
      }
      rmLock(path);
    }
  }
  throw new MeshbenchError('MB_BAD_ARGUMENT', `${dir}: could not take its lock ${path}`);
}

function readPid(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function rmLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

async function writeDurably(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function appendDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'a');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of the folder, so the files just created are in it after a power cut. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
