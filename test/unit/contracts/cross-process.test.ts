import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { crossProcessJson, ENV, STAGES } from '../../../contracts/cross-process.js';
import { REPO_ROOT } from '../../helpers/paths.js';

test('cross-process.json is the JSON export of cross-process.ts (npm run contracts regenerates it)', async () => {
  const stored = await readFile(path.join(REPO_ROOT, 'contracts', 'cross-process.json'), 'utf8');
  assert.equal(stored, crossProcessJson(), 'contracts/cross-process.json is stale: run npm run contracts');
});

test('every environment variable name is distinct and every stage has a queue variable', () => {
  const names = Object.values(ENV).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)));
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.match(name, /^CNN_CODES_[A-Z_]+$/);
  assert.deepEqual(Object.keys(ENV.queueUrl), [...STAGES]);
});
