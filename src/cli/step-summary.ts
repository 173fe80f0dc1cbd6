import { appendFile } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

/**
 * GitHub Actions shows the Markdown a step appends to the file named by $GITHUB_STEP_SUMMARY on the run's
 * summary page. Appends `markdown` there when the variable is set; returns the path, or null. A summary
 * that cannot be written is reported on stderr and does not change the verdict's exit code.
 */
export async function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const path = env.GITHUB_STEP_SUMMARY;
  if (path === undefined || path === '') return null;
  try {
    await appendFile(path, `${markdown}\n`);
    return path;
  } catch (err) {
    process.stderr.write(`meshbench: could not append to $GITHUB_STEP_SUMMARY (${path}): ${errorMessage(err)}\n`);
    return null;
  }
}
