/** `walship validate CONFIG`: checks a config without running anything (exit 0 or 2). */
import { configProblems, loadConfig } from '../config/index.ts';
import { CliError, ExitCodes } from './cli-error.ts';

export async function validateCommand(file: string, o: { readonly json?: boolean }, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  try {
    const c = await loadConfig(file);
    if (o.json) {
      out.write(`${JSON.stringify({ valid: true, config: file, problems: [] })}\n`);
    } else {
      out.write(
        `${file}: valid (${c.inputs.length} input${c.inputs.length === 1 ? '' : 's'}: ${c.inputs.map((i) => i.type).join(', ')}; ` +
          `${c.flushers.length} flusher${c.flushers.length === 1 ? '' : 's'}: ${c.flushers.map((f) => `${f.name} → ${f.dir}`).join(', ')})\n`,
      );
    }
    return ExitCodes.OK;
  } catch (err) {
    const problems = configProblems(err);
    if (problems.length === 0) throw err;
    if (o.json) {
      out.write(`${JSON.stringify({ valid: false, config: file, problems })}\n`);
      return ExitCodes.USAGE;
    }
    throw new CliError(ExitCodes.USAGE, (err as Error).message);
  }
}
