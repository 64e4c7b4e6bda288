import type { CliCommand } from '../command.js';
import { LOCAL_COMMANDS } from './local.js';
import { PREPARE_COMMANDS } from './prepare.js';
import { REPORT_COMMANDS } from './report.js';
import { SERVERLESS_COMMANDS } from './serverless.js';

/** Every subcommand, in the order `--help` lists them. Add a command by adding its module here. */
export const COMMANDS: readonly CliCommand[] = [
  ...LOCAL_COMMANDS,
  ...PREPARE_COMMANDS,
  ...REPORT_COMMANDS,
  ...SERVERLESS_COMMANDS,
];
