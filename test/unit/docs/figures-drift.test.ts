import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  BLOCK_NAMES,
  markersIn,
  renderAll,
  renderServerlessEmulator,
  renderServerlessScale,
  renderText,
} from '../../../bench/render-docs.js';
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

/**
 * The tables outside markers that hold digits and are not measurements, by page and header: definitions (commands,
 * keys, rules, files, roles; docs/iam.md's role tables are generated and checked by infra/iam-table.ts and its test).
 * Any other typed table with a digit is a figure table to render.
 */
const NOT_FIGURES: Record<string, string[]> = {
  'README.md': ['| command | what it does |'],
  'docs/deploy.md': ['| key | default | what it does |'],
  'docs/hostile-input.md': ['| Where | Rule | Reject kind / exit |'],
  'docs/iam.md': [
    '| Test | Template | Processes, each a session of its role |',
    '| Role | Refused (AccessDenied) |',
    '| Role | Trusted by | Actions | Resources |',
    '| Role | Trusted by | Actions | Resources |',
  ],
  'docs/report-and-export.md': ['| section | what it holds |', '| | `--input rgb` (default) | `--input float` |'],
  'docs/serverless.md': [
    '| | moto (what CI uses) | LocalStack |',
    '| What happens | What the state machine does |',
    '| variable | used by | meaning |',
  ],
  'docs/workspace-format.md': ['| file | what | grows with the images? |'],
};

test('no page types a figure table: every one is rendered between markers from a result file', () => {
  for (const page of ['README.md', 'CONTRIBUTING.md', ...docsPages().map((p) => `docs/${p}`)])
    assert.deepEqual(
      typedTables(read(page)).map((header) => header.replace(/\s+/g, ' ')),
      NOT_FIGURES[page] ?? [],
      page,
    );
  assert.deepEqual(typedTables('| a | b |\n| --- | --- |\n| x | 1.5 |\n'), ['| a | b |'], 'a typed table is found');
});

/** A result envelope around a bench's figures, as bench/results-file.ts writes it. */
const envelope = (bench: string, figures: unknown) => ({
  bench,
  command: `node dist/bench/${bench}.js`,
  commit: '0000000',
  dirty: false,
  date: '2026-01-01T00:00:00.000Z',
  cpu: 'test CPU',
  cores: 2,
  loadBefore: [1, 1, 1],
  loadAfter: [2, 2, 2],
  versions: {},
  figures,
});

/** One run of bench/serverless-scale's report with only the fields its first printed output had. */
const olderScaleRun = {
  shards: 4,
  shardSize: 250,
  seconds: 10,
  s3PerImage: 1.25,
  s3: { GET: 1000, LIST: 3, PUT: 20 },
  lists: 3,
  sqsRequests: 40,
  joinLatencyMs: 120,
  trainReadSeconds: 0.5,
  trainGets: 9,
};

test('bench/serverless-scale renders from its report, from an older shape lacking fields, and says when it is missing', () => {
  const file = 'bench/results/serverless-scale.json';
  assert.match(
    renderServerlessScale(undefined, file),
    /Not measured on this tree yet: `node dist\/bench\/serverless-scale\.js/,
  );
  const older = renderServerlessScale(
    envelope('serverless-scale', {
      images: 1000,
      workers: 2,
      uploadSeconds: 5,
      first: olderScaleRun,
      second: olderScaleRun,
    }),
    file,
  );
  assert.match(older, /\| run sent → train message \| 10\.0 s \(100 images\/s through moto\) \|/);
  assert.match(older, /\| shard extractions started \(shards started twice\) \| – \| – \|/);
  assert.match(older, /\| dataset GETs \| – \| – \|/);
  assert.doesNotMatch(older, /Cost per 1 M images/, 'no cost table without a cost');
  const current = renderServerlessScale(
    envelope('serverless-scale', {
      images: 1000,
      workers: 2,
      notify: false,
      uploadSeconds: 5,
      first: {
        ...olderScaleRun,
        sizing: 'CPU worker: 250 a shard',
        knownContent: 0,
        datasetGets: 1000,
        shardStarts: { 0: 1, 1: 2, 2: 1, 3: 1 },
        oddEvents: {},
        engineEvents: { TaskScheduled: 2, TaskTimedOut: 1 },
      },
      second: { ...olderScaleRun, knownContent: 1000, datasetGets: 0 },
      cost: { requestsUsd: 0.5, options: [{ name: 'c7i.large', computeUsd: 0.4, totalUsd: 0.9, hours: 4.8 }] },
    }),
    file,
  );
  assert.match(current, /\| shard extractions started \(shards started twice\) \| 5 \(1\) \| – \|/);
  assert.match(current, /\| other worker events \| none \| – \|/);
  assert.match(current, /\| engine: tasks scheduled, timed out, failed \| 2, 1, 0 \| – \|/);
  assert.match(current, /\| dataset GETs \| 1,000 \| 0 \|/);
  assert.match(current, /Sizing, first run: CPU worker: 250 a shard\./);
  assert.match(current, /\| c7i\.large \| \$0\.40 \| \$0\.50 \| \$0\.90 \| 4\.8 \|/);
  assert.match(
    current,
    /Source: \[bench\/results\/serverless-scale\.json\]\(\.\.\/bench\/results\/serverless-scale\.json\), commit 0000000/,
  );
});

test('bench/serverless-emulator renders each figure against its target, tolerates missing fields, and says when it is missing', () => {
  const file = 'bench/results/serverless-emulator.json';
  assert.match(renderServerlessEmulator(undefined, file), /Not measured on this tree yet/);
  const minimal = {
    images: 300,
    embedded: { onUpload: 300, byRunShards: 10, twice: 10 },
    s3PerImage: 1.5,
    lists: { count: 4, budget: 28 },
    ingest: { batches: 3, imagesPerSecondWhileBusy: 30, vsLocalExtraction: null },
    local: { runSeconds: 20, extractImagesPerSecond: null },
    uploadSeconds: 10,
    totalSeconds: 40,
    targetSeconds: 50,
  };
  const older = renderServerlessEmulator(envelope('serverless-emulator', minimal), file);
  assert.match(
    older,
    /\| images embedded \| 300 on upload, 10 by the run, \*\*10 twice\*\* \| each once: \*\*not met\*\* \|/,
  );
  assert.match(older, /\| worker-side S3 requests per image \| \*\*1\.50\*\* \| ≤ 1\.2: \*\*not met\*\* \|/);
  assert.match(older, /\| ingest, images\/s while busy vs local extraction \| 30\.0 vs – \| ≥ 50 %: – \|/);
  assert.match(older, /\| upload start → metrics\.json \| 40\.0 s \| ≤ 2 × local \+ upload = 50\.0 s: \*\*met\*\* \|/);
  assert.match(older, /\| CPU seconds: workers \/ moto \| – \/ – \|/);
  const current = renderServerlessEmulator(
    envelope('serverless-emulator', {
      ...minimal,
      embedded: { onUpload: 300, byRunShards: 0, twice: 0 },
      s3PerImage: 1.1,
      s3PerImageByVerb: { GET: 1.05, PUT: 0.05 },
      s3ByArea: { datasets: { GET: 301 } },
      lists: { count: 4, budget: 28, shards: 9 },
      ingest: { batches: 3, imagesPerSecondWhileBusy: 30, vsLocalExtraction: 0.6 },
      local: { runSeconds: 20, extractImagesPerSecond: 50 },
      workerCpuSeconds: 12,
      motoCpuSeconds: 80,
      accuracy: 0.9,
    }),
    file,
  );
  assert.match(current, /\*\*1\.10\*\* \(GET 1\.050, PUT 0\.050\); dataset GETs 301 \| ≤ 1\.2: \*\*met\*\* \|/);
  assert.match(current, /\| 30\.0 vs 50\.0 \(60 %\) \| ≥ 50 %: \*\*met\*\* \|/);
  assert.match(current, /\| run shards \(planner\) \| 9 \|/);
  assert.match(current, /\| val accuracy \| 90\.0 % \|/);
});

test('docs/serverless.md renders the serverless benches: the latest result files and the recorded 50,000-object run', () => {
  const page = read('docs/serverless.md');
  for (const name of ['serverless-scale', 'serverless-scale-8482c37', 'serverless-emulator'])
    assert.ok(markersIn(page).includes(name), name);
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
