import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Manifest } from '../../../core/features/manifest.js';
import { renderHtmlReport, type HtmlReportInput } from '../../../core/report/html.js';
import { reliability } from '../../../core/report/html-calibration.js';
import { renderMarkdownReport } from '../../../core/report/markdown.js';
import { formatC } from '../../../core/report/numbers.js';
import { classificationMetrics } from '../../../core/metrics/classification.js';
import type { Evaluation } from '../../../core/workspace/evaluation.js';
import type { HeadArtefact } from '../../../core/workspace/head-artefact.js';

const CLASSES = ['cat', 'dog', '<script>alert(1)</script>'];

/** Three classes, nine val images (three wrong), CV over two layers: a report with every section filled. */
function input(overrides: Partial<HtmlReportInput> = {}): HtmlReportInput {
  const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
  const predicted = [0, 0, 1, 1, 1, 2, 2, 2, 0];
  const predictions = labels.map((label, i) => {
    const probabilities = [0.1, 0.1, 0.1];
    probabilities[predicted[i]!] = 0.8;
    return {
      key: `val/${CLASSES[label]}/img${i}.jpg`,
      label,
      predicted: predicted[i]!,
      confidence: 0.8,
      probabilities,
    };
  });
  const proba = { rows: 9, cols: 3, data: Float64Array.from(predictions.flatMap((p) => p.probabilities)) };
  const metrics = classificationMetrics(Int32Array.from(labels), proba, CLASSES);
  const manifest: Manifest = {
    version: 1,
    dataset: 'file:///data/pets',
    model: { name: 'mobilenetv2-12-int8', sha256: 'a'.repeat(64) },
    classes: CLASSES,
    splitSynthesized: false,
    namespaces: { block6: { id: 'x/block6', dim: 32 }, final: { id: 'x/final', dim: 1280 } },
    entries: [
      ...labels.map((label, i) => ({
        key: `train/${i}.jpg`,
        split: 'train',
        label,
        contentHash: String(i),
        codes: {},
      })),
      ...predictions.map((p) => ({ key: p.key, split: 'val', label: p.label, contentHash: p.key, codes: {} })),
    ],
    rejects: [
      {
        key: 'train/cat/broken.jpg',
        split: 'train',
        label: 0,
        contentHash: 'z',
        kind: 'truncated',
        message: 'premature end of JPEG',
      },
    ],
    ignored: [],
  };
  const cvRow = (layer: string, C: number, meanAccuracy: number) => ({
    id: `${layer}/logistic/C=${C}`,
    layer,
    kind: 'logistic' as const,
    C,
    meanAccuracy,
    stdAccuracy: 0.02,
    foldAccuracies: [],
    fitSeconds: 0.01,
  });
  const best = cvRow('final', 1, 0.9);
  const head: HeadArtefact = {
    version: 1,
    model: manifest.model,
    layer: 'final',
    namespace: 'x/final',
    classes: CLASSES,
    options: { kind: 'logistic', C: 1, classWeight: null, seed: 0 },
    cv: {
      folds: 5,
      seed: 0,
      table: [cvRow('block6', 1, 0.6), cvRow('block6', 10, 0.65), best, cvRow('final', 10, 0.88)],
      best,
    },
    head: { fit: { iterations: 38, converged: true } } as HeadArtefact['head'],
    trainedOn: 9,
    fitSeconds: 0.05,
    cacheKey: 'k',
  };
  const evaluation: Evaluation = {
    version: 1,
    split: 'val',
    model: manifest.model,
    layer: 'final',
    head: { kind: 'logistic', C: 1 },
    classes: CLASSES,
    metrics,
    predictions,
    rejected: 0,
    timings: { headFitSeconds: 0.05, extractSeconds: 10, imagesEmbedded: 18, imagesPerSecond: 1.8 },
  };
  return {
    manifest,
    head,
    evaluation,
    thumbnails: new Map([[predictions[2]!.key, 'data:image/jpeg;base64,AAAA']]),
    generatedAt: new Date('2025-01-02T03:04:05Z'),
    ...overrides,
  };
}

test('the heatmap has one cell per (true, predicted) pair carrying its count', () => {
  const html = renderHtmlReport(input());
  const cells = [
    ...html.matchAll(/<rect class="cm-cell" data-true="([^"]*)" data-predicted="([^"]*)" data-count="(\d+)"/g),
  ];
  assert.equal(cells.length, 9);
  const confusion = input().evaluation.metrics.confusion;
  assert.deepEqual(
    cells.map((c) => Number(c[3])),
    confusion.flat(),
  );
});

test('class names and file names are escaped, and nothing points off the page', () => {
  const html = renderHtmlReport(input());
  assert.ok(!html.includes('<script>alert(1)'), 'class name escaped');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no external resources');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
});

test('every section a reader needs is there: headline, rejects with reasons, misclassified tiles, layer chart, scenario, costs', () => {
  const html = renderHtmlReport(
    input({
      costs: {
        perVcpuImagesPerSecond: 1,
        rows: [{ name: 'c7i.large (CPU, on-demand)', imagesPerSecond: 2, usdPer1000: 0.0123 }],
        assumption: 'An estimate.',
      },
    }),
  );
  assert.match(html, /id="headline-accuracy">66\.7\u202f%</);
  assert.match(html, /premature end of JPEG/);
  assert.equal((html.match(/class="thumb"/g) ?? []).length, 3);
  assert.equal((html.match(/<img /g) ?? []).length, 1, 'only the images with a thumbnail get an <img>');
  assert.equal((html.match(/class="layer-point"/g) ?? []).length, 2);
  assert.match(html, /CS231n&#39;s scenario 1 \(small and similar\)/);
  assert.match(html, /\$0\.012/);
  assert.match(html, /1\.8 images\/s/);
});

test('without images, without CV over layers, without throughput: the report says so instead of showing blanks', () => {
  const base = input();
  const head = {
    ...base.head,
    cv: { ...base.head.cv!, table: base.head.cv!.table.filter((r) => r.layer === 'final') },
  };
  const html = renderHtmlReport({
    ...base,
    head,
    thumbnails: new Map(),
    thumbnailsNote: 'No thumbnails: no images.',
    evaluation: { ...base.evaluation, timings: { headFitSeconds: 0.05 } },
  });
  assert.match(html, /No thumbnails: no images\./);
  assert.match(html, /Only the final layer was tried/);
  assert.ok(!html.includes('id="layer-chart"'));
  assert.match(html, /throughput was not measured in this run/);
});

test('reliability bins by confidence; a model that is right exactly as often as it is sure has ECE 0', () => {
  const predictions = [
    ...Array.from({ length: 8 }, () => ({ label: 0, predicted: 0, confidence: 0.8 })),
    ...Array.from({ length: 2 }, () => ({ label: 1, predicted: 0, confidence: 0.8 })),
  ];
  const { bins, ece } = reliability(predictions);
  assert.equal(bins[8]!.count, 10);
  assert.ok(Math.abs(bins[8]!.accuracy - 0.8) < 1e-12);
  assert.ok(ece < 1e-12);
  assert.ok(Math.abs(reliability(predictions.map((p) => ({ ...p, confidence: 0.99 }))).ece - 0.19) < 1e-12);
});

test('both reports say whether the final fit converged, and print C the same way', () => {
  const converged = input();
  assert.match(renderHtmlReport(converged), /converged in 38 iterations/);
  assert.match(renderMarkdownReport(converged), /converged in 38 iterations/);
  const stopped = input();
  stopped.head = {
    ...stopped.head,
    options: { ...stopped.head.options, C: 2.5e-5 },
    head: { fit: { iterations: 1000, converged: false } } as HeadArtefact['head'],
  };
  assert.match(renderHtmlReport(stopped), /<b class="warning">did not converge in 1000 iterations/);
  assert.match(renderMarkdownReport(stopped), /did not converge in 1000 iterations/);
  assert.match(renderMarkdownReport(stopped), /C = 2\.5e-5/);
  assert.match(renderHtmlReport(stopped), /C = 2\.5e-5/);
  assert.deepEqual([1e-5, 1e-4, 0.01, 0.1, 1, 2.5, 316.2, 1e3, 31623].map(formatC), [
    '1e-5',
    '1e-4',
    '0.01',
    '0.1',
    '1',
    '2.5',
    '316',
    '1e+3',
    '3.2e+4',
  ]);
});

test('data quality: leakage is warned in the header and tabled with its train copies; names are escaped; the map marks mistakes and suspects', () => {
  const base = input();
  const quality = {
    duplicates: [
      ['train/0.jpg', 'val/cat/img0.jpg'],
      ['train/1.jpg', 'train/2.jpg'],
    ],
    leakage: [{ key: 'val/cat/img0.jpg', split: 'val', trainKeys: ['train/0.jpg'], cosine: 0.93 }],
    labelIssues: [
      { key: 'train/3.jpg', given: 'dog', suggested: CLASSES[2]!, score: 0.7 },
      { key: 'train/4.jpg', given: 'dog', suggested: null, score: 0.6 },
    ],
  };
  const head = {
    ...base.head,
    quality: {
      layer: 'final',
      threshold: 0.88,
      duplicates: [['train/1.jpg', 'train/2.jpg']],
      grouped: true,
      labelIssues: quality.labelIssues,
      excluded: [],
    },
  };
  const points = base.manifest.entries.map((e, i) => ({ key: e.key, split: e.split, label: e.label, x: i, y: i % 3 }));
  const html = renderHtmlReport({ ...base, head, quality, codeMap: { layer: 'final', explained: [0.3, 0.1], points } });
  assert.match(html, /id="leakage-warning"><b>Leakage:<\/b> 1 held-out image\(s\) duplicate train images/);
  assert.match(
    html,
    /<table id="leakage-table">.*<code>val\/cat\/img0\.jpg<\/code><\/td><td>val<\/td><td><code>train\/0\.jpg<\/code><\/td><td>0\.930<\/td>/s,
  );
  assert.match(html, /kept each of the 1 duplicate groups within train in one fold/);
  assert.match(html, /dog → <b>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/b> 0\.70/);
  assert.match(html, /dog → <b>none \(outlier\)<\/b> 0\.60/);
  assert.doesNotMatch(html, /<script>/);
  assert.equal([...html.matchAll(/class="map-point[ "]/g)].length, points.length, 'every image on the map');
  assert.equal([...html.matchAll(/class="map-point map-mistake"/g)].length, 3, 'the three val mistakes');
  assert.equal([...html.matchAll(/class="map-point map-suspect"/g)].length, 2, 'the two suspects');
});

test("a serverless run's reports name its Step Functions execution; a local run's name none", () => {
  const execution = 'arn:aws:states:us-east-1:123456789012:execution:cnn-codes-run:r1';
  const serverless = input();
  serverless.evaluation = { ...serverless.evaluation, run: { execution } };
  assert.match(
    renderMarkdownReport(serverless),
    /- Run: Step Functions execution `arn:aws:states:us-east-1:123456789012:execution:cnn-codes-run:r1`/,
  );
  assert.match(
    renderHtmlReport(serverless),
    /<code id="execution">arn:aws:states:us-east-1:123456789012:execution:cnn-codes-run:r1<\/code>/,
  );
  assert.doesNotMatch(renderMarkdownReport(input()), /execution/);
  assert.doesNotMatch(renderHtmlReport(input()), /id="execution"/);
});
