import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { BLOCK_NAMES, markersIn, renderAll, renderText } from '../../../bench/render-docs.js';
import { COMMANDS } from '../../../cli/commands/index.js';
import { measuredExtraction } from '../../../bench/results-file.js';
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

/** Markdown tables (runs of lines starting with `|`) outside figure markers and code fences, with their first line. */
function typedTables(text: string): string[] {
  const outside = text
    .replace(/<!-- figures:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/figures:\1 -->/g, '')
    .replace(/```[\s\S]*?```/g, '');
  const tables: string[] = [];
  let current: string[] = [];
  for (const line of [...outside.split('\n'), '']) {
    if (line.startsWith('|')) current.push(line);
    else if (current.length) {
      // A figure table: a digit in a body row (the header and the rule row are skipped).
      if (current.slice(2).some((row) => /\d/.test(row))) tables.push(current[0]!);
      current = [];
    }
  }
  return tables;
}

test('the benchmark pages type no figure table: every one is rendered between markers from a result file', () => {
  for (const page of ['docs/benchmarks.md', 'docs/heads-and-cv.md', 'docs/data-quality.md'])
    assert.deepEqual(typedTables(read(page)), [], page);
  assert.deepEqual(typedTables('| a | b |\n| --- | --- |\n| x | 1.5 |\n'), ['| a | b |'], 'a typed table is found');
});

test('a result file transcribed from committed output says so and claims no run of its own; the others name theirs', () => {
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const pages = renderAll()
    .map(({ rendered }) => rendered)
    .join('\n');
  let recorded = 0;
  for (const file of files) {
    const r = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
    if (typeof r.bench !== 'string') continue; // written before the envelope (e.g. data-quality.json's runs carry theirs)
    const from = r.recordedFrom as Record<string, unknown> | undefined;
    if (from) {
      recorded++;
      for (const field of ['commit', 'date', 'loadBefore', 'loadAfter'])
        assert.equal(r[field], null, `${file}: a transcribed file has no ${field} of its own`);
      assert.match(String(from.file), /\.md$|^commit message$/, `${file}: where the output was committed`);
      assert.match(String(from.commit), /^[0-9a-f]{7,40}$/, `${file}: the commit that holds it`);
      assert.ok(!Number.isNaN(Date.parse(String(from.committed))), `${file}: when that commit was made`);
      assert.match(String(from.note), /Not re-measured/, file);
      assert.equal(typeof r.loadRecorded, 'string', `${file}: the load as the text gave it`);
      const link = `[bench/results/${file}](`;
      if (pages.includes(link))
        assert.match(
          pages.slice(pages.indexOf(link)),
          /^\S+, \*\*recorded, not re-measured\*\*: transcribed from/,
          `${file}: its source line says it was not re-measured`,
        );
    } else {
      for (const field of ['commit', 'date', 'cpu', 'command'])
        assert.equal(typeof r[field], 'string', `${file}: the run's ${field}`);
      for (const field of ['loadBefore', 'loadAfter']) assert.ok(Array.isArray(r[field]), `${file}: ${field}`);
    }
  }
  assert.ok(recorded >= 3, 'the transcribed history is in result files');
});

test('the rate compute costs are scaled from is read from bench/results/extract.json, the one docs/cost.md quotes', () => {
  const rate = measuredExtraction();
  const extract = JSON.parse(readFileSync(path.join(REPO_ROOT, 'bench', 'results', 'extract.json'), 'utf8')) as {
    cores: number;
    wholeProcess: { runs: Record<string, { oursMedian: { rate: number } }> };
  };
  const runs = Object.values(extract.wholeProcess.runs);
  assert.equal(rate.imagesPerSecond, runs.at(-1)!.oursMedian.rate);
  assert.equal(rate.cpus, extract.cores);
  const cost = /<!-- figures:cost -->[\s\S]*?<!-- \/figures:cost -->/.exec(read('docs/cost.md'))![0];
  assert.ok(cost.includes(`(${rate.imagesPerSecond.toFixed(1)} images/s on ${rate.cpus} vCPUs`), 'cost.md quotes it');
});

test('every result file in bench/results is rendered on some page, so no measured figure sits unread', () => {
  const pages = renderAll()
    .map(({ rendered }) => rendered)
    .join('\n');
  const unread = readdirSync(path.join(REPO_ROOT, 'bench', 'results'))
    .filter((f) => f.endsWith('.json'))
    .filter((f) => !pages.includes(`bench/results/${f}`));
  assert.deepEqual(unread, [], 'give each a renderer in bench/render-docs.ts and a marker on its page');
});
