import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../helpers/browser.js';
import { cli, sharedHymenopteraRun } from '../helpers/hymenoptera-run.js';
import { HYMENOPTERA, REPO_ROOT } from '../helpers/paths.js';
import type { Page } from 'playwright-core';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const DIST = path.join(REPO_ROOT, 'dist');

test('report.html from a hymenoptera run, opened in headless Chromium: heatmap counts, thumbnails, no console errors', async (t) => {
  const workspace = await sharedHymenopteraRun();
  // `report` rewrites the file that `run` wrote; both go through the same use case.
  const report = cli(['report', '--out', workspace, '--json']);
  assert.equal(report.status, 0, report.stderr);
  const metrics = JSON.parse(await readFile(path.join(workspace, 'metrics.json'), 'utf8'));
  const classes: string[] = metrics.classes;
  const wrong = metrics.predictions.filter((p: { label: number; predicted: number }) => p.label !== p.predicted).length;
  assert.ok(wrong > 0, 'hymenoptera val has misclassified images to show');

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on(
      'request',
      (r) =>
        !r.url().startsWith('file:') && !r.url().startsWith('data:') && problems.push(`network request: ${r.url()}`),
    );
    await page.goto(pathToFileURL(path.join(workspace, 'report.html')).href, { waitUntil: 'load' });

    const cells = await page.$$eval('#confusion-matrix rect.cm-cell', (rects) =>
      rects.map((r) => ({
        trueClass: r.getAttribute('data-true'),
        predicted: r.getAttribute('data-predicted'),
        count: Number(r.getAttribute('data-count')),
      })),
    );
    assert.equal(cells.length, classes.length ** 2, 'classes² heatmap cells');
    classes.forEach((trueClass, i) =>
      classes.forEach((predicted, j) => {
        const cell = cells.find((c) => c.trueClass === trueClass && c.predicted === predicted);
        assert.equal(cell?.count, metrics.metrics.confusion[i][j], `cell ${trueClass} → ${predicted}`);
      }),
    );

    const thumbnails = await thumbnailsIn(page);
    assert.equal(thumbnails.length, wrong, 'one thumbnail per misclassified val image');
    for (const thumb of thumbnails)
      assert.ok(thumb.complete && thumb.width > 0 && thumb.width <= 160, `${thumb.key}: a decoded thumbnail`);

    assert.match((await page.textContent('#headline-accuracy')) ?? '', /^\d+\.\d\s%$/);
    assert.ok(await page.$('#reliability-diagram'), 'reliability diagram');
    assert.equal(
      await page.$$eval('#layer-chart circle.layer-point', (c) => c.length),
      6,
      'one point per mobilenetv2 cut point',
    );
    assert.match((await page.textContent('#scenario')) ?? '', /CS231n's scenario [1-4]/);
    assert.match((await page.textContent('#cost-assumption')) ?? '', /estimate/);
    await checkDataQualitySections(page, workspace, metrics.predictions.length, wrong);
    assert.deepEqual(problems, [], 'no console errors and no network requests');

    await mkdir(ARTIFACTS, { recursive: true });
    const sections = path.join(ARTIFACTS, 'data-quality-screenshot.png');
    // Page coordinates of the two new sections, from the data-quality heading to the end of the code map.
    const box = (await page.evaluate(
      `({ top: document.querySelector('#data-quality').getBoundingClientRect().top + scrollY, bottom: document.querySelector('#code-map').getBoundingClientRect().bottom + scrollY })`,
    )) as { top: number; bottom: number };
    await page.screenshot({
      path: sections,
      fullPage: true,
      clip: { x: 0, y: box.top - 8, width: 1280, height: box.bottom - box.top + 16 },
    });
    t.diagnostic(`data-quality sections: ${sections}`);
    const screenshot = path.join(ARTIFACTS, 'report-screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});

test('without an image library (the evaluate Lambda), report.html inlines the original files and Chromium shows them', async () => {
  const run = await sharedHymenopteraRun();
  const workspace = await mkdtemp(path.join(tmpdir(), 'cnn-codes-report-nosharp-'));
  try {
    await cp(run, workspace, { recursive: true });
    await rm(path.join(workspace, 'report.html'));
    const script = [
      `const { FsBlobStore } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'core/adapters/fs-blob-store.js')).href)});`,
      `const { writeHtmlReport } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'core/use-cases/report.js')).href)});`,
      `const { SqliteManifestIndex } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'core/adapters/sqlite-manifest-index.js')).href)});`,
      // A local workspace keeps its manifest entries in index.sqlite (the Lambda's S3 workspaces keep them inline).
      `const manifestIndex = new SqliteManifestIndex(process.argv[1] + '/index.sqlite');`,
      `const written = await writeHtmlReport({ workspace: new FsBlobStore(process.argv[1]), data: new FsBlobStore(process.argv[2]), manifestIndex });`,
      'console.log(JSON.stringify(written));',
    ].join('\n');
    const made = spawnSync(
      process.execPath,
      [
        '--import',
        path.join(DIST, 'test/helpers/without-sharp.js'),
        '--input-type=module',
        '-e',
        script,
        workspace,
        HYMENOPTERA,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    const metrics = JSON.parse(await readFile(path.join(workspace, 'metrics.json'), 'utf8'));
    const wrong: string[] = metrics.predictions
      .filter((p: { label: number; predicted: number }) => p.label !== p.predicted)
      .map((p: { key: string }) => p.key);
    const quality = JSON.parse(await readFile(path.join(workspace, 'data-quality.json'), 'utf8'));
    const suspects: string[] = quality.labelIssues.map((l: { key: string }) => l.key);
    assert.equal(
      JSON.parse(made.stdout).thumbnails,
      new Set([...wrong, ...suspects]).size,
      'the misclassified images and the suspects',
    );

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(pathToFileURL(path.join(workspace, 'report.html')).href, { waitUntil: 'load' });
      const thumbnails = await thumbnailsIn(page);
      assert.deepEqual(thumbnails.map((t) => t.key).sort(), [...wrong].sort());
      for (const thumb of thumbnails) {
        assert.ok(thumb.complete && thumb.width > 0, `${thumb.key} decoded`);
        const original = await readFile(path.join(HYMENOPTERA, thumb.key));
        assert.equal(
          thumb.src,
          `data:image/jpeg;base64,${original.toString('base64')}`,
          `${thumb.key} is the original file`,
        );
      }
    } finally {
      await browser.close();
    }
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
});

/** The data-quality section and the code map show what data-quality.json and code-map.json say. */
async function checkDataQualitySections(
  page: Page,
  workspace: string,
  valImages: number,
  wrong: number,
): Promise<void> {
  const quality = JSON.parse(await readFile(path.join(workspace, 'data-quality.json'), 'utf8'));
  assert.equal(await page.textContent('#label-issue-count .value'), String(quality.labelIssues.length));
  assert.equal(await page.textContent('#duplicate-count .value'), String(quality.duplicates.length));
  assert.equal(await page.textContent('#leakage-count .value'), String(quality.leakage.length));
  const placeholder = await page.$eval('#label-issues .thumb[data-key="train/ants/imageNotFound.gif"]', (tile) => {
    const image = tile.querySelector('img') as unknown as { complete: boolean; naturalWidth: number } | null;
    return {
      decoded: (image?.complete ?? false) && (image?.naturalWidth ?? 0) > 0,
      verdict: tile.querySelector('.verdict')?.textContent ?? '',
    };
  });
  assert.ok(placeholder.decoded, 'the placeholder GIF is shown as a thumbnail');
  assert.match(placeholder.verdict, /ants → none \(outlier\)/);
  const points = await page.$$eval('#code-map-svg .map-point', (nodes) =>
    nodes.map((n) => ({
      split: n.getAttribute('data-split'),
      cls: n.getAttribute('data-class'),
      kind: n.getAttribute('class'),
    })),
  );
  assert.equal(points.length, 245 + valImages, 'one point per image, train and val');
  assert.equal(points.filter((p) => p.kind?.includes('map-mistake')).length, wrong, 'every val mistake marked');
  assert.equal(
    points.filter((p) => p.kind?.includes('map-suspect')).length,
    quality.labelIssues.length,
    'every suspect marked',
  );
  assert.deepEqual([...new Set(points.map((p) => p.cls))].sort(), ['ants', 'bees']);
}

async function thumbnailsIn(
  page: Page,
): Promise<Array<{ key: string; src: string; complete: boolean; width: number }>> {
  return page.$$eval('#misclassified .thumb', (tiles) =>
    tiles.map((tile) => {
      const image = tile.querySelector('img') as unknown as {
        complete: boolean;
        naturalWidth: number;
        src: string;
      } | null;
      return {
        key: tile.getAttribute('data-key') ?? '',
        src: image?.src ?? '',
        complete: image?.complete ?? false,
        width: image?.naturalWidth ?? 0,
      };
    }),
  );
}
