import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { BLOCK_NAMES, markersIn, renderAll, renderText } from '../../../bench/render-docs.js';
import { COMMANDS } from '../../../cli/commands/index.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const docsPages = () =>
  readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();

test('every rendered block in README.md and docs/ equals what its result file or source renders (npm run docs)', () => {
  const stale = renderAll()
    .filter(({ current, rendered }) => current !== rendered)
    .map(({ file, current, rendered }) => {
      const before = current.split('\n');
      const after = rendered.split('\n');
      const line = before.findIndex((l, i) => l !== after[i]);
      return `${file}:${line + 1}: "${before[line] ?? ''}" renders as "${after[line] ?? ''}"`;
    });
  assert.deepEqual(stale, [], 'run `npm run docs` and commit the result');
});

test('a changed figure between markers is noticed and rendered back from the result file', () => {
  const readme = read('README.md');
  assert.ok(markersIn(readme).includes('headline'), 'the README renders its headline figures');
  const tampered = readme.replace(/(<!-- figures:headline -->\n[\s\S]*?)\d(\d*) %/, '$1 7$2 %');
  assert.notEqual(tampered, readme, 'the headline block holds a percentage to tamper with');
  assert.equal(renderText(tampered, 'README.md'), readme);
  assert.throws(() => renderText('<!-- figures:nope -->\nx\n<!-- /figures:nope -->', 'x.md'), /no renderer/);
});

test('every renderer is used by some page, and the generated pages carry theirs', () => {
  const used = new Set(renderAll().flatMap(({ current }) => markersIn(current)));
  assert.deepEqual(
    BLOCK_NAMES.filter((n) => !used.has(n)),
    [],
  );
  assert.ok(markersIn(read('docs/cli.md')).includes('cli'));
  assert.ok(markersIn(read('docs/configuration.md')).includes('configuration'));
});

test('the README stays under 8,000 characters, names every command and links every docs page', () => {
  const readme = read('README.md');
  assert.ok(readme.length <= 8000, `README.md has ${readme.length} characters`);
  for (const command of COMMANDS) assert.match(readme, new RegExp(`\`${command.name}\``), command.name);
  for (const page of docsPages()) assert.ok(readme.includes(`](docs/${page})`), `README links docs/${page}`);
  for (const file of ['CONTRIBUTING.md', 'LICENSE', 'CHANGELOG.md']) assert.ok(readme.includes(`](${file})`), file);
});

test('relative links in README.md, the guides and docs/ lead to files that exist', () => {
  const broken: string[] = [];
  for (const file of ['README.md', 'CONTRIBUTING.md', ...docsPages().map((p) => `docs/${p}`)]) {
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue;
      const local = target!.split('#')[0]!;
      if (!existsSync(path.join(REPO_ROOT, path.dirname(file), local))) broken.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
