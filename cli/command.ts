import type { ParseArgsConfig } from 'node:util';
import type { CliEnvironment } from './config.js';
import type { FlagDoc } from './flag-docs.js';
import type { progressReporter } from './progress.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface CommandContext {
  env: CliEnvironment;
  json: boolean;
  progress: ReturnType<typeof progressReporter>;
}

/** One subcommand: parses nothing itself (args.ts does, strictly), validates its flags and calls the core. */
export interface CliCommand {
  name: string;
  /** One line for `cnn-codes --help`. */
  summary: string;
  /** The synopsis after `cnn-codes `, e.g. `train --out DIR [options]`. */
  usage: string;
  /** One command line that works as written (from the package folder, with ../shared beside it). */
  example: string;
  options: OptionSpec;
  /** Where a flag means something narrower here than in FLAG_DOCS. */
  flagDocs?: Record<string, FlagDoc>;
  allowPositionals?: boolean;
  /** Returns the machine-readable result (printed with --json); prints its human output itself otherwise. */
  run(values: FlagValues, positionals: string[], ctx: CommandContext): Promise<unknown>;
}
