import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { COMMON_OPTIONS, flagDoc, renderCommandHelp, renderHelp } from '../../../cli/args.js';
import { COMMANDS } from '../../../cli/commands/index.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

test('every flag of every command has a help line', () => {
  for (const command of COMMANDS) {
    for (const name of Object.keys({ ...command.options, ...COMMON_OPTIONS })) {
      assert.ok(flagDoc(command, name).text.length > 0, `${command.name} --${name}`);
    }
  }
});

test('cnn-codes <command> --help shows that command: its usage, its own flags only, and an example', () => {
  const train = cli(['train', '--help']);
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /^Usage: cnn-codes train --out DIR/);
  assert.match(train.stdout, /\n {2}--folds N {2,}cross-validation folds \(default 5\)\n/);
  assert.match(train.stdout, /\nExample:\n {2}cnn-codes train --out /);
  for (const other of ['--data', '--top', '--endpoint', '--workers'])
    assert.doesNotMatch(train.stdout, new RegExp(`\\n {2}${other} `), other);

  // The other pages in-process: the binary's path to them is the one just exercised.
  for (const command of COMMANDS) {
    const page = renderCommandHelp(command);
    assert.ok(page.startsWith(`Usage: cnn-codes ${command.name}`), command.name);
    for (const name of Object.keys(command.options))
      assert.match(page, new RegExp(`--${name}\\b`), `${command.name} --${name}`);
  }
});

test('help wins over everything else on the line, and `help <command>` is the same page', () => {
  const viaFlag = cli(['predict', '--bogus', '-h']);
  assert.equal(viaFlag.status, 0, viaFlag.stderr);
  assert.equal(cli(['help', 'predict']).stdout, viaFlag.stdout);
  const general = renderHelp(COMMANDS);
  assert.match(general, /Commands:\n {2}run /);
  assert.match(general, /cnn-codes <command> --help/);
});
