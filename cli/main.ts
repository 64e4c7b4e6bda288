import { CnnCodesError, errorMessage, InterruptedError } from '../core/errors.js';
import { parseCommandLine, renderCommandHelp, renderHelp } from './args.js';
import { COMMANDS } from './commands/index.js';
import { readEnvironment } from './config.js';
import { progressReporter } from './progress.js';

/** Exit codes: 0 ok, 1 unexpected, 2 usage/config, 3 data, 4 model, 130/143 stopped by SIGINT/SIGTERM (resumable). */
const EXIT: Record<string, number> = {
  CONFIG: 2,
  NOT_FITTED: 2,
  DATA: 3,
  NOT_FOUND: 3,
  INVALID_IMAGE: 3,
  DAMAGED_SHARD: 3,
  MODEL: 4,
};

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    if ('help' in parsed) {
      process.stdout.write(parsed.command ? renderCommandHelp(parsed.command) : renderHelp(COMMANDS));
      return 0;
    }
    json = parsed.values.json === true;
    const progress = progressReporter(json ? 'silent' : process.stderr.isTTY ? 'tty' : 'plain');
    try {
      const result = await parsed.command.run(parsed.values, parsed.positionals, {
        env: readEnvironment(),
        json,
        progress,
      });
      if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } finally {
      progress.end();
    }
    return 0;
  } catch (err) {
    const code =
      err instanceof InterruptedError
        ? err.signal === 'SIGTERM'
          ? 143
          : 130
        : err instanceof CnnCodesError
          ? (EXIT[err.code] ?? 1)
          : 1;
    if (json)
      process.stdout.write(
        `${JSON.stringify({ error: { code: err instanceof CnnCodesError ? err.code : 'INTERNAL', message: errorMessage(err) } })}\n`,
      );
    process.stderr.write(`cnn-codes: ${err instanceof InterruptedError ? '' : 'error: '}${errorMessage(err)}\n`);
    if (code === 1 && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}
