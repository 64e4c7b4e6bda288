import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import type { CliCommand, FlagValues, OptionSpec } from './command.js';
import { FLAG_DOCS, type FlagDoc } from './flag-docs.js';

export const COMMON_OPTIONS: OptionSpec = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export interface ParsedArgs {
  command: CliCommand;
  values: FlagValues;
  positionals: string[];
}

export function parseCommandLine(
  argv: string[],
  commands: readonly CliCommand[],
): ParsedArgs | { help: true; command?: CliCommand } {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { help: true };
  // `cnn-codes help train` and `cnn-codes train … --help` both show train's page, whatever else is on the line.
  if (first === 'help') {
    const named = commands.find((c) => c.name === rest[0]);
    return named ? { help: true, command: named } : { help: true };
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    throw new ConfigError(
      `unknown command "${first}". Commands: ${commands.map((c) => c.name).join(', ')}. Try: cnn-codes --help`,
    );
  }
  if (rest.includes('--help') || rest.includes('-h')) return { help: true, command };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...COMMON_OPTIONS, ...command.options },
      strict: true,
      allowPositionals: command.allowPositionals ?? false,
    });
  } catch (err) {
    throw new ConfigError(`${command.name}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  return { command, values: parsed.values, positionals: parsed.positionals };
}

export function numberFlag(
  values: FlagValues,
  name: string,
  check: (n: number) => boolean,
  what: string,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new ConfigError(`--${name} must be ${what}, got "${String(raw)}"`);
  }
  return n;
}

export const positiveInt = (values: FlagValues, name: string): number | undefined =>
  numberFlag(values, name, (n) => Number.isInteger(n) && n > 0, 'a positive integer');

export function choiceFlag<T extends string>(values: FlagValues, name: string, choices: readonly T[]): T | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`--${name} must be one of ${choices.join(', ')}, got "${String(raw)}"`);
  }
  return raw as T;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/** `cnn-codes --help`: every command in one line each; the flags are on each command's own page. */
export function renderHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return `cnn-codes: transfer learning on images with cached CNN codes

Usage: cnn-codes <command> [options]
       cnn-codes <command> --help     that command's usage, flags and an example

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Data layout (ImageFolder): DATA/<split>/<class>/<image> or DATA/<class>/<image> (then a seeded stratified split).
Exit codes: 0 ok, 2 bad flags or configuration, 3 data problems, 4 model problems, 1 anything unexpected.

Environment: CNN_CODES_SHARED (default ../shared beside the package: models/ and data/), CNN_CODES_MODELS_DIR,
CNN_CODES_MODEL_CACHE (downloaded models, default ~/.cache/cnn-codes/models).
`;
}

/** `cnn-codes <command> --help`: its usage, each of its flags (and only its flags), and an example. */
export function renderCommandHelp(command: CliCommand): string {
  const rows = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const doc = flagDoc(command, name);
    const short = spec.short ? `-${spec.short}, ` : '';
    const repeat = spec.multiple ? ' (repeatable)' : '';
    return [`${short}--${name}${doc.arg ? ` ${doc.arg}` : ''}`, `${doc.text}${repeat}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return `Usage: cnn-codes ${command.usage}

${command.summary}

Options:
${rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`).join('\n')}

Example:
  ${command.example}
`;
}

/** The documentation of one of a command's flags; a missing one is a programming error caught by the help test. */
export function flagDoc(command: CliCommand, name: string): FlagDoc {
  const doc = command.flagDocs?.[name] ?? FLAG_DOCS[name];
  if (!doc)
    throw new Error(`${command.name}: flag --${name} has no help text (add it to FLAG_DOCS or the command's flagDocs)`);
  return doc;
}
