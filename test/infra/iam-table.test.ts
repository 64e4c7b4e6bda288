import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { iamTables } from '../../infra/iam-table.js';
import { REPO_ROOT } from '../helpers/paths.js';

test("docs/iam.md's role table is the one the synthesized templates give (node dist/infra/iam-table.js)", () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'iam.md'), 'utf8');
  const start = '<!-- iam-table:start -->\n';
  const table = doc.slice(doc.indexOf(start) + start.length, doc.indexOf('<!-- iam-table:end -->'));
  assert.equal(table, iamTables());
});
