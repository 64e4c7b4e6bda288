import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import type { CliCommand, FlagValues, OptionSpec } from './command.js';

export const COMMON_OPTIONS: OptionSpec = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

export interface ParsedArgs {
  command: CliCommand;
  values: FlagValues;
  positionals: string[];
}

export function parseCommandLine(argv: string[], commands: readonly CliCommand[]): ParsedArgs | { help: true; command?: CliCommand } {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { help: true };
  const command = commands.find((c) => c.name === first);
  if (!command) {
    throw new ConfigError(`unknown command "${first}". Commands: ${commands.map((c) => c.name).join(', ')}. Try: cnn-codes --help`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...command.options }, strict: true, allowPositionals: command.allowPositionals ?? false });
  } catch (err) {
    throw new ConfigError(`${command.name}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  if (parsed.values.help) return { help: true, command };
  return { command, values: parsed.values, positionals: parsed.positionals };
}

export function numberFlag(values: FlagValues, name: string, check: (n: number) => boolean, what: string): number | undefined {
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

export function renderHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const extra = commands.filter((c) => c.help).map((c) => c.help!.trimEnd());
  return `cnn-codes: transfer learning on images with cached CNN codes

Usage: cnn-codes <command> [options]     (cnn-codes <command> --help for the same page)

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Data layout (ImageFolder): DATA/<split>/<class>/<image> or DATA/<class>/<image> (then a seeded stratified split).

${extra.join('\n\n')}

  --json                 machine-readable result on stdout, no progress
  -h, --help             this help

Environment: CNN_CODES_SHARED (default ../shared beside the package: models/ and data/), CNN_CODES_MODELS_DIR,
CNN_CODES_MODEL_CACHE (downloaded models, default ~/.cache/cnn-codes/models).
`;
}
