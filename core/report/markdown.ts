import type { Manifest } from '../features/manifest.js';
import { rankCandidates } from '../heads/model-selection.js';
import type { DataQuality } from '../quality/data-quality.js';
import type { HeadArtefact } from '../workspace/head-artefact.js';
import type { ReportInputs } from '../workspace/report-inputs.js';
import { describeConvergence, formatC, pct } from './numbers.js';

/** A report a person reads first; metrics.json has everything for machines. */
export function renderMarkdownReport({ manifest, head, evaluation, quality }: ReportInputs): string {
  const m = evaluation.metrics;
  const counts = countBySplit(manifest);
  const lines: string[] = [
    `# cnn-codes report`,
    '',
    `**${pct(m.accuracy)} accuracy** on ${evaluation.split} (${m.n} images the head never saw), ` +
      `balanced accuracy ${pct(m.balancedAccuracy)}, log-loss ${m.logLoss.toFixed(4)}.`,
    '',
    `- Dataset: \`${manifest.dataset}\`${manifest.splitSynthesized ? ' (no val folder: seeded stratified split)' : ''}`,
    `- Backbone: \`${head.model.name}\` (sha256 ${head.model.sha256.slice(0, 12)}…), cut point \`${head.layer}\``,
    `- Head: ${head.options.kind}, C = ${formatC(head.options.C)}${head.options.classWeight ? `, class weight ${head.options.classWeight}` : ''}, fitted on ${head.trainedOn} train images, ${describeConvergence(head.head.fit)}`,
    ...(head.compute
      ? [
          `- Fitted on: ${head.compute.where === 'batch' ? 'the Batch CPU job' : 'the train-head Lambda'} (${head.compute.why})`,
        ]
      : []),
    ...(evaluation.calibration
      ? [
          `- Calibration: scores divided by T = ${evaluation.calibration.temperature.toPrecision(3)} (fitted on train's out-of-fold probabilities); ${evaluation.split} ECE ${pct(evaluation.calibration.before.ece)} → ${pct(evaluation.calibration.after.ece)}, accuracy unchanged`,
        ]
      : []),
    ...(evaluation.run ? [`- Run: Step Functions execution \`${evaluation.run.execution}\``] : []),
    '',
    '## Data',
    '',
    `| split | ${manifest.classes.join(' | ')} | rejected |`,
    `|---|${manifest.classes.map(() => '---|').join('')}---|`,
    ...Object.entries(counts).map(
      ([split, row]) =>
        `| ${split} | ${manifest.classes.map((_, i) => row.perClass[i] ?? 0).join(' | ')} | ${row.rejected} |`,
    ),
    '',
  ];
  if (manifest.rejects.length > 0) {
    lines.push('Rejected files:', '', ...manifest.rejects.map((r) => `- \`${r.key}\`: ${r.kind}: ${r.message}`), '');
  }
  if (head.cv) {
    const top = rankCandidates(head.cv.table).slice(0, 12);
    lines.push(
      `## Model selection (${head.cv.folds}-fold stratified CV on train, seed ${head.cv.seed})`,
      '',
      '| layer | head | C | CV accuracy | ± std | CV log-loss |',
      '|---|---|---|---|---|---|',
      ...top.map(
        (r) =>
          `| ${r.layer ?? head.layer} | ${r.kind} | ${formatC(r.C)} | ${pct(r.meanAccuracy)} | ${(r.stdAccuracy * 100).toFixed(1)} | ${r.meanLogLoss === undefined ? '–' : r.meanLogLoss.toFixed(3)} |`,
      ),
      '',
      `Chosen: ${head.cv.best.layer ?? head.layer} / ${head.cv.best.kind} / C = ${formatC(head.cv.best.C)}.`,
      '',
    );
    if (head.cv.wallSeconds !== undefined) {
      lines.push(
        `Model selection took ${head.cv.wallSeconds.toFixed(2)} s wall, ${(head.cv.cpuSeconds ?? 0).toFixed(2)} s CPU (all threads)${head.cv.engine ? `; engine: ${head.cv.engine}` : ''}.`,
        '',
      );
    }
  }
  lines.push(
    `## ${evaluation.split} metrics`,
    '',
    '| class | precision | recall | F1 | support |',
    '|---|---|---|---|---|',
    ...m.perClass.map((c) => `| ${c.label} | ${pct(c.precision)} | ${pct(c.recall)} | ${pct(c.f1)} | ${c.support} |`),
    '',
    'Confusion matrix (rows: true, columns: predicted):',
    '',
    `| | ${manifest.classes.join(' | ')} |`,
    `|---|${manifest.classes.map(() => '---|').join('')}`,
    ...m.confusion.map((row, i) => `| ${manifest.classes[i]} | ${row.join(' | ')} |`),
    '',
  );
  if (m.topK.length > 0) lines.push(...m.topK.map((t) => `- top-${t.k} accuracy: ${pct(t.accuracy)}`), '');
  const wrong = evaluation.predictions.filter((p) => p.predicted !== p.label);
  if (wrong.length > 0) {
    lines.push('## Misclassified', '', '| image | true | predicted | confidence |', '|---|---|---|---|');
    lines.push(
      ...wrong.map(
        (p) =>
          `| \`${p.key}\` | ${manifest.classes[p.label]} | ${manifest.classes[p.predicted]} | ${pct(p.confidence)} |`,
      ),
      '',
    );
  }
  if (quality) lines.push(...dataQualityLines(quality, head));
  const timings = Object.entries(evaluation.timings);
  if (timings.length > 0)
    lines.push('## Timings', '', ...timings.map(([k, v]) => `- ${k}: ${Number.isInteger(v) ? v : v.toFixed(3)}`), '');
  return lines.join('\n');
}

function countBySplit(manifest: Manifest): Record<string, { perClass: number[]; rejected: number }> {
  const out: Record<string, { perClass: number[]; rejected: number }> = {};
  const row = (split: string) => (out[split] ??= { perClass: manifest.classes.map(() => 0), rejected: 0 });
  for (const e of manifest.entries) row(e.split).perClass[e.label]! += 1;
  for (const r of manifest.rejects) row(r.split).rejected += 1;
  return out;
}

function dataQualityLines(q: DataQuality, head: HeadArtefact): string[] {
  const lines = [
    '## Data quality',
    '',
    `- ${q.duplicates.length} duplicate groups (identical bytes or codes with cosine ≥ ${head.quality?.threshold ?? '?'}, ${q.duplicates.reduce((s, g) => s + g.length, 0)} images)` +
      (head.quality && head.quality.duplicates.length > 0
        ? `; CV folds ${head.quality.grouped ? 'kept each train group together' : 'could NOT keep train groups together'}`
        : ''),
    `- ${q.leakage.length} held-out images duplicate train images${q.leakage.length > 0 ? ' (leakage: the accuracy above is optimistic)' : ''}`,
    `- ${q.labelIssues.length} likely label errors in train (confident learning on out-of-fold probabilities)${head.quality && head.quality.excluded.length > 0 ? `; the head was fitted without ${head.quality.excluded.length} of them` : ''}`,
    '',
  ];
  if (q.leakage.length > 0) {
    lines.push('| held-out image | split | train duplicate | cosine |', '|---|---|---|---|');
    lines.push(
      ...q.leakage
        .slice(0, 20)
        .map(
          (l) =>
            `| \`${l.key}\` | ${l.split} | \`${l.trainKeys[0]}\`${l.trainKeys.length > 1 ? ` +${l.trainKeys.length - 1}` : ''} | ${l.cosine.toFixed(3)} |`,
        ),
      '',
    );
  }
  if (q.labelIssues.length > 0) {
    lines.push('| train image | given | suggested | score |', '|---|---|---|---|');
    lines.push(
      ...q.labelIssues
        .slice(0, 20)
        .map((l) => `| \`${l.key}\` | ${l.given} | ${l.suggested ?? 'none (outlier)'} | ${l.score.toFixed(3)} |`),
      '',
    );
  }
  lines.push('All of it: `data-quality.json`.', '');
  return lines;
}
