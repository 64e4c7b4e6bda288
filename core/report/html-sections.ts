import { rankCandidates } from '../heads/model-selection.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import type { ReportInputs } from '../workspace/report-inputs.js';
import { confusionHeatmap, layerChart, reliabilityDiagram } from './html-charts.js';
import { reliability } from './html-calibration.js';
import { esc, formatC, formatSeconds, formatUsd, pct, shortKey } from './html-format.js';
import type { CodeMapFile, DataQuality } from '../quality/data-quality.js';
import { describeConvergence } from './numbers.js';
import type { CostEstimates } from './pricing.js';
import { bestPerLayer, describeScenario } from './scenario.js';

/** Everything the HTML report shows; assembled by the report use case, rendered without any I/O. */
export interface HtmlReportInput extends ReportInputs {
  /** Dataset key → data: URI of a small JPEG, for the misclassified images. */
  thumbnails: ReadonlyMap<string, string>;
  /** Why there are no thumbnails, when there are none. */
  thumbnailsNote?: string;
  costs?: CostEstimates;
  /** data-quality.json and code-map.json, when the evaluation wrote them. */
  quality?: DataQuality;
  codeMap?: CodeMapFile;
  generatedAt: Date;
}

export function headline(r: HtmlReportInput): string {
  const { metrics: m, split } = r.evaluation;
  const wrong = r.evaluation.predictions.filter((p) => p.predicted !== p.label).length;
  const { ece } = reliability(r.evaluation.predictions);
  const cpu = r.costs?.rows[0];
  const card = (value: string, label: string) =>
    `<div class="card"><div class="value">${value}</div><div class="label">${label}</div></div>`;
  return `<header>
<h1>cnn-codes report</h1>
<div class="muted small">${esc(r.manifest.dataset)} · generated ${esc(r.generatedAt.toISOString().replace('T', ' ').slice(0, 16))} UTC</div>
<div class="headline">
  <div class="big" id="headline-accuracy">${pct(m.accuracy)}</div>
  <div class="big-caption">accuracy on <b>${m.n} ${esc(split)} images</b> that neither training nor model selection ever saw: ${m.n - wrong} right, ${wrong} wrong.</div>
</div>
<div class="cards">
  ${card(pct(m.balancedAccuracy), 'balanced accuracy')}
  ${card(pct(m.macroF1), 'macro F1')}
  ${card(m.logLoss.toFixed(3), 'log-loss')}
  ${card(pct(ece), r.evaluation.calibration ? `calibration error (ECE), ${pct(r.evaluation.calibration.before.ece)} before calibration` : 'calibration error (ECE)')}
  ${cpu ? card(formatUsd(cpu.usdPer1000), `per 1 000 images, ${esc(cpu.name.split(' ')[0])} (estimate)`) : ''}
</div>
<p class="setup">${setupLine(r.head)}</p>
${r.quality && r.quality.leakage.length > 0 ? `<p class="scenario" id="leakage-warning"><b>Leakage:</b> ${r.quality.leakage.length} held-out image(s) duplicate train images; see <a href="#data-quality">Data quality</a>.</p>` : ''}
</header>`;
}

function setupLine(head: HeadArtefact): string {
  const cv = head.cv
    ? `, chosen by ${head.cv.folds}-fold cross-validation on train (${pct(head.cv.best.meanAccuracy)} ± ${pct(head.cv.best.stdAccuracy)})`
    : ', fixed by the user (no cross-validation)';
  const convergence = esc(describeConvergence(head.head.fit));
  return (
    `Frozen <b>${esc(head.model.name)}</b> backbone, codes from cut point <b>${esc(head.layer)}</b>, ` +
    `<b>${esc(head.options.kind === 'svm' ? 'linear SVM' : 'logistic regression')}</b> head with C = ${formatC(head.options.C)}${cv}; fitted on ${head.trainedOn} train images, ${head.head.fit.converged ? convergence : `<b class="warning">${convergence}</b>`}.`
  );
}

export function results(r: HtmlReportInput): string {
  const { metrics: m, split, classes } = r.evaluation;
  const { bins, ece } = reliability(r.evaluation.predictions);
  const rows = m.perClass
    .map(
      (c) =>
        `<tr><td>${esc(c.label)}</td><td>${pct(c.precision)}</td><td>${pct(c.recall)}</td><td>${pct(c.f1)}</td><td>${c.support}</td></tr>`,
    )
    .join('');
  const topK = m.topK.map((t) => ` Top-${t.k} accuracy ${pct(t.accuracy)}.`).join('');
  return `<section id="results">
<h2>Results on ${esc(split)}</h2>
<p>Accuracy ${pct(m.accuracy)}, balanced accuracy ${pct(m.balancedAccuracy)} (mean recall over classes), log-loss ${m.logLoss.toFixed(4)}.${topK}</p>
<table id="per-class"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>${rows}</tbody></table>
<div class="figures">
<figure>${confusionHeatmap(classes, m.confusion)}<figcaption>Confusion matrix: rows are the true class, columns the prediction; the diagonal holds the right answers. Shade: share of the row.</figcaption></figure>
<figure>${reliabilityDiagram(bins, ece)}<figcaption>Reliability: images binned by the head's confidence; bars show how often each bin was right. On the dashed diagonal, "80 % sure" means right 80 % of the time. ${calibrationVerdict(r)}</figcaption></figure>
${uncalibratedFigure(r)}
</div>
</section>`;
}

/** The same diagram without the head's temperature: what calibration changed (accuracy cannot change). */
function uncalibratedFigure(r: HtmlReportInput): string {
  const c = r.evaluation.calibration;
  if (!c) return '';
  const loss = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));
  return `<figure>${reliabilityDiagram(c.before.bins, c.before.ece, 'reliability-diagram-uncalibrated')}<figcaption id="calibration-before-after">Before calibration. The head's scores are divided by a temperature T = ${c.temperature.toPrecision(3)}, fitted on the out-of-fold probabilities of the train images whose label is not suspect (no image scored by a model that saw its label): ECE ${pct(c.before.ece)} → ${pct(c.after.ece)}, log-loss ${loss(c.before.logLoss)} → ${loss(c.after.logLoss)}. Dividing every score by one positive number keeps each image's most likely class, so accuracy is unchanged.</figcaption></figure>`;
}

/** One sentence on what the reliability diagram says, because "ECE 39 %" alone tells a newcomer nothing. */
function calibrationVerdict(r: HtmlReportInput): string {
  const { predictions, metrics } = r.evaluation;
  const meanConfidence = predictions.reduce((s, p) => s + p.confidence, 0) / Math.max(1, predictions.length);
  const gap = metrics.accuracy - meanConfidence;
  const svm =
    r.head.options.kind === 'svm' ? ' An SVM head has no probability model: these are softmax-scaled scores.' : '';
  if (gap > 0.05) {
    const cause =
      r.head.options.kind === 'logistic' && r.head.options.C <= 0.01
        ? ` C = ${formatC(r.head.options.C)} regularizes strongly, which squeezes probabilities towards 1/${r.evaluation.classes.length}.`
        : '';
    return `<b>Underconfident</b>: right ${pct(metrics.accuracy)} of the time while ${pct(meanConfidence)} sure on average.${cause} Accuracy is unaffected, but the probabilities understate the head's reliability.${svm}`;
  }
  if (gap < -0.05)
    return `<b>Overconfident</b>: ${pct(meanConfidence)} sure on average but right only ${pct(metrics.accuracy)} of the time.${svm}`;
  return `Confidence matches accuracy within 5 points on average (${pct(meanConfidence)} vs ${pct(metrics.accuracy)}).${svm}`;
}

export function misclassified(r: HtmlReportInput, limit = 60): string {
  const { classes } = r.evaluation;
  const wrong = r.evaluation.predictions
    .filter((p) => p.predicted !== p.label)
    .sort((a, b) => b.confidence - a.confidence);
  if (wrong.length === 0)
    return `<section id="misclassified"><h2>Misclassified images</h2><p>None: every ${esc(r.evaluation.split)} image was classified correctly.</p></section>`;
  const shown = wrong.slice(0, limit);
  const tiles = shown
    .map((p) => {
      const uri = r.thumbnails.get(p.key);
      const img = uri ? `<img src="${uri}" alt="${esc(shortKey(p.key))}" loading="eager">` : '';
      return `<div class="thumb" data-key="${esc(p.key)}">${img}<div class="verdict">${esc(classes[p.label])} → <b>${esc(classes[p.predicted])}</b> ${pct(p.confidence, 0)}</div><div class="file">${esc(shortKey(p.key))}</div></div>`;
    })
    .join('');
  const more =
    wrong.length > shown.length
      ? ` Showing the ${shown.length} most confident of ${wrong.length}; metrics.json lists all.`
      : '';
  const note = r.thumbnailsNote ? `<p class="muted small">${esc(r.thumbnailsNote)}</p>` : '';
  return `<section id="misclassified">
<h2>Misclassified images (${wrong.length})</h2>
<p>True class → <b>predicted class</b> and the head's confidence, most confident mistakes first: those are label noise or blind spots worth a look.${more}</p>${note}
<div class="thumbs">${tiles}</div>
</section>`;
}

export function selection(r: HtmlReportInput): string {
  const { head, manifest } = r;
  if (!head.cv) {
    return `<section id="selection"><h2>Model selection</h2><p>C = ${formatC(head.options.C)} was given, so no cross-validation ran. Leave out --C to choose it on train.</p></section>`;
  }
  const best = head.cv.best;
  const order = Object.keys(manifest.namespaces);
  const perLayerKind = bestPerLayer(head.cv.table, head.layer, true);
  const layers = order.filter((l) => perLayerKind.some((s) => s.layer === l));
  const trainImages = manifest.entries.filter((e) => e.split === 'train').length;
  const scenario =
    layers.length > 1
      ? describeScenario({
          trainImages,
          classes: manifest.classes.length,
          layers: bestPerLayer(head.cv.table, head.layer),
        })
      : undefined;
  const chart =
    layers.length > 1
      ? `<figure>${layerChart(layers, perLayerKind, { layer: best.layer ?? head.layer, kind: best.kind })}<figcaption>Cross-validated accuracy of the best C for each layer and head, shallow to deep.</figcaption></figure>
<p class="scenario" id="scenario">${esc(scenario?.sentence ?? '')}</p>`
      : `<p class="muted small">Only the ${esc(head.layer)} layer was tried; run with <code>--layer auto</code> to compare earlier layers.</p>`;
  const sorted = rankCandidates(head.cv.table);
  const row = (c: (typeof sorted)[number]) =>
    `<tr${c === best || c.id === best.id ? ' class="chosen"' : ''}><td>${esc(c.layer ?? head.layer)}</td><td>${esc(c.kind)}</td><td>${formatC(c.C)}</td><td>${pct(c.meanAccuracy)}</td><td>${pct(c.stdAccuracy)}</td><td>${c.meanLogLoss === undefined ? '–' : c.meanLogLoss.toFixed(3)}</td><td>${formatSeconds(c.fitSeconds)}</td></tr>`;
  const header =
    '<thead><tr><th>layer</th><th>head</th><th>C</th><th>CV accuracy</th><th>± std</th><th>CV log-loss</th><th>fit time</th></tr></thead>';
  return `<section id="selection">
<h2>How the model was chosen</h2>
<p>${head.cv.table.length} candidates (layer × head × C), each scored by ${head.cv.folds}-fold stratified cross-validation on the train split only (seed ${head.cv.seed}); the best mean accuracy won (ties: logistic over SVM, then the lowest CV log-loss, i.e. the better-calibrated probabilities, then the smaller C). Chosen: <b>${esc(best.layer ?? head.layer)} / ${esc(best.kind)} / C = ${formatC(best.C)}</b>.</p>
${chart}
<table id="cv-table">${header}<tbody>${sorted.slice(0, 10).map(row).join('')}</tbody></table>
${sorted.length > 10 ? `<details><summary>All ${sorted.length} candidates</summary><table>${header}<tbody>${sorted.map(row).join('')}</tbody></table></details>` : ''}
</section>`;
}

export function dataset(r: HtmlReportInput): string {
  const { manifest } = r;
  const splits = [...new Set([...manifest.entries.map((e) => e.split), ...manifest.rejects.map((x) => x.split)])].sort(
    (a, b) => splitRank(a) - splitRank(b),
  );
  const count = (split: string, label: number) =>
    manifest.entries.filter((e) => e.split === split && e.label === label).length;
  const rows = splits
    .map((s) => {
      const used = manifest.entries.filter((e) => e.split === s).length;
      const rejected = manifest.rejects.filter((x) => x.split === s).length;
      return `<tr><td>${esc(s)}</td>${manifest.classes.map((_, i) => `<td>${count(s, i)}</td>`).join('')}<td>${used}</td><td>${rejected}</td></tr>`;
    })
    .join('');
  const rejects = manifest.rejects.length
    ? `<h3>Rejected files (${manifest.rejects.length})</h3><table id="rejects"><thead><tr><th>file</th><th>split</th><th>reason</th></tr></thead><tbody>${manifest.rejects
        .map(
          (x) =>
            `<tr><td><code>${esc(x.key)}</code></td><td>${esc(x.split)}</td><td>${esc(x.kind)}: ${esc(x.message)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No file was rejected: every image decoded.</p>';
  const ignored = manifest.ignored.length
    ? `<p class="muted small">${manifest.ignored.length} other files were skipped (not images, or outside the folder layout).</p>`
    : '';
  return `<section id="dataset">
<h2>Data</h2>
<p>${manifest.classes.length} classes${manifest.splitSynthesized ? '; no val folder, so val was carved out of the images with a seeded stratified split' : ''}.</p>
<table id="dataset-table"><thead><tr><th>split</th>${manifest.classes.map((c) => `<th>${esc(c)}</th>`).join('')}<th>total</th><th>rejected</th></tr></thead><tbody>${rows}</tbody></table>
${rejects}${ignored}
</section>`;
}

function splitRank(split: string): number {
  const at = ['train', 'val', 'test'].indexOf(split);
  return at < 0 ? 3 : at;
}

export function timingsAndCost(r: HtmlReportInput): string {
  const t = r.evaluation.timings;
  const items: string[] = [];
  if (t.imagesPerSecond && t.imagesPerSecond > 0) {
    items.push(
      `Extraction: ${t.imagesEmbedded ?? '?'} images in ${formatSeconds(t.extractSeconds ?? 0)}, <b>${t.imagesPerSecond.toFixed(1)} images/s</b> (decode, resize, backbone; model load included).`,
    );
  } else {
    items.push(
      'Extraction throughput was not measured in this run (evaluate alone, or every code came from the cache), so there is no cost estimate; a run that embeds images measures it.',
    );
  }
  const cv = r.head.cv;
  if (cv) {
    const clock =
      cv.wallSeconds === undefined
        ? ''
        : ` (${formatSeconds(cv.wallSeconds)} wall, ${formatSeconds(cv.cpuSeconds ?? 0)} CPU on all threads${cv.engine ? `; ${esc(cv.engine)}` : ''})`;
    items.push(
      `Model selection: ${formatSeconds(cv.table.reduce((s, c) => s + c.fitSeconds, 0))} of fitting for ${cv.table.length} candidates × ${cv.folds} folds${clock}.`,
    );
  }
  items.push(`Final head fit: <b>${formatSeconds(r.head.fitSeconds)}</b> on ${r.head.trainedOn} images.`);
  if (r.head.compute)
    items.push(
      `Fitted on ${r.head.compute.where === 'batch' ? 'the Batch CPU job' : 'the train-head Lambda'}: ${esc(r.head.compute.why)}.`,
    );
  if (r.evaluation.run)
    items.push(`Run: Step Functions execution <code id="execution">${esc(r.evaluation.run.execution)}</code>.`);
  const costs = r.costs
    ? `<table id="cost-table"><thead><tr><th>compute</th><th>images/s (est.)</th><th>USD per 1 000 images</th></tr></thead><tbody>${r.costs.rows
        .map(
          (c) =>
            `<tr><td>${esc(c.name)}${c.note ? `<div class="muted small">${esc(c.note)}</div>` : ''}</td><td>${c.imagesPerSecond.toFixed(1)}</td><td>${formatUsd(c.usdPer1000)}</td></tr>`,
        )
        .join('')}</tbody></table><p class="muted small" id="cost-assumption">${esc(r.costs.assumption)}</p>`
    : '';
  return `<section id="timings">
<h2>Time and cost</h2>
<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>
${costs}
</section>`;
}

export function footer(r: HtmlReportInput): string {
  return `<footer>Backbone sha256 ${esc(r.head.model.sha256)} · head cache key ${esc(r.head.cacheKey)} · per-image predictions and every number above: <code>metrics.json</code>, <code>head.json</code>, <code>manifest.json</code> in the same folder.</footer>`;
}
