import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../helpers/browser.js';
import { cli, sharedHymenopteraRun } from '../helpers/hymenoptera-run.js';
import { REPO_ROOT } from '../helpers/paths.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

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
    page.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && problems.push(`network request: ${r.url()}`));
    await page.goto(pathToFileURL(path.join(workspace, 'report.html')).href, { waitUntil: 'load' });

    const cells = await page.$$eval('#confusion-matrix rect.cm-cell', (rects) =>
      rects.map((r) => ({ trueClass: r.getAttribute('data-true'), predicted: r.getAttribute('data-predicted'), count: Number(r.getAttribute('data-count')) })),
    );
    assert.equal(cells.length, classes.length ** 2, 'classes² heatmap cells');
    classes.forEach((trueClass, i) =>
      classes.forEach((predicted, j) => {
        const cell = cells.find((c) => c.trueClass === trueClass && c.predicted === predicted);
        assert.equal(cell?.count, metrics.metrics.confusion[i][j], `cell ${trueClass} → ${predicted}`);
      }),
    );

    const thumbnails = await page.$$eval('#misclassified .thumb img', (imgs) =>
      imgs.map((img) => {
        const image = img as unknown as { complete: boolean; naturalWidth: number };
        return { complete: image.complete, width: image.naturalWidth };
      }),
    );
    assert.equal(thumbnails.length, wrong, 'one thumbnail per misclassified val image');
    for (const thumb of thumbnails) assert.ok(thumb.complete && thumb.width > 0, 'thumbnail decoded');

    assert.match(await page.textContent('#headline-accuracy') ?? '', /^\d+\.\d\s%$/);
    assert.ok(await page.$('#reliability-diagram'), 'reliability diagram');
    assert.equal(await page.$$eval('#layer-chart circle.layer-point', (c) => c.length), 6, 'one point per mobilenetv2 cut point');
    assert.match((await page.textContent('#scenario')) ?? '', /CS231n's scenario [1-4]/);
    assert.match((await page.textContent('#cost-assumption')) ?? '', /estimate/);
    assert.deepEqual(problems, [], 'no console errors and no network requests');

    await mkdir(ARTIFACTS, { recursive: true });
    const screenshot = path.join(ARTIFACTS, 'report-screenshot.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});
