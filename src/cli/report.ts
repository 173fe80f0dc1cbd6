import { basename, dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { MeshbenchError, errorMessage } from '../errors.js';
import { readResult, readStored, type Stored } from './stored.js';
import { EXIT } from './exit-codes.js';
import { checkOutDir, writeFailed } from './out-dir.js';

export const REPORT_FORMATS = ['html', 'md', 'all'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportCommandOptions {
  format: ReportFormat;
  /** Default: the folder holding the stored document. */
  out?: string;
}

/** Which rendered files a format writes; the stored document itself is never rewritten. */
const WRITES: Record<ReportFormat, (name: string) => boolean> = {
  html: (name) => name.endsWith('.html'),
  md: (name) => name.endsWith('.md'),
  all: () => true,
};

/**
 * `meshbench report <result.json|comparison.json|dir>`: writes the reports of a stored document again, with
 * this meshbench's renderers. What the path holds decides what is rendered (see readStored).
 */
export async function reportCommand(arg: string, opts: ReportCommandOptions): Promise<number> {
  const { isPilotDir } = await import('../pilot/store.js');
  if (await isPilotDir(arg)) {
    // A pilot's folder: its reports from disk alone (also while it runs); pilot.md and its summary are Markdown/JSON.
    const { writePilotReports } = await import('./pilot-command.js');
    const { files } = await writePilotReports(arg);
    process.stdout.write(`wrote ${files.join(', ')}\n`);
    return EXIT.pass;
  }
  const stored = await readStored(arg);
  const { writeFiles } = await import('../report/index.js');
  const files = await renderStored(stored, opts.format);
  const source = basename(stored.path);
  for (const name of [...files.keys()]) if (name === source || !WRITES[opts.format](name)) files.delete(name);
  const outDir = (await checkOutDir(opts.out ?? dirname(stored.path))).path;
  const written = await writeFiles(files, outDir).catch((err: unknown) => {
    throw writeFailed(outDir, err);
  });
  process.stdout.write(`wrote ${written.join(', ')}\n`);
  return EXIT.pass;
}

async function renderStored(stored: Stored, format: ReportFormat): Promise<Map<string, string>> {
  // Loaded when the command runs (see main.ts): the renderers cost every other command nothing.
  const { renderComparisonFiles, renderReportFiles } = await import('../report/index.js');
  switch (stored.kind) {
    case 'run':
      return renderReportFiles(stored.doc);
    case 'comparison': {
      if (format === 'md') return renderComparisonFiles(stored.doc, null);
      // The comparison's report.html shows the spectra of the two results it compared, read from where compare read them.
      const read = async (path: string) => (await readResult(path).catch((err: unknown) => {
        throw new MeshbenchError('MB_BAD_ARGUMENT', `${stored.path}: its report.html shows the two results it compared, but ${path} cannot be read (${errorMessage(err)}) — run this where \`meshbench compare\` ran, or use --format md`);
      })).doc;
      return renderComparisonFiles(stored.doc, { baseline: await read(stored.doc.baseline.path), candidate: await read(stored.doc.candidate.path) });
    }
  }
}

export function registerReportCommand(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('report')
    .description("write the reports of a stored result again (report.html, report.md, …) from its result.json or comparison.json, or a pilot's from its folder (also while it runs)")
    .argument('<path>', "result.json or comparison.json, the folder holding it, or a pilot's folder")
    .addOption(new Option('--format <format>', 'which reports: html, md (report.md and summary.md) or all').choices(REPORT_FORMATS).default('all'))
    .option('--out <dir>', 'output directory (default: the folder holding the document)')
    .action(async (path: string, opts: ReportCommandOptions) => {
      setExitCode(await reportCommand(path, opts));
    });
}
