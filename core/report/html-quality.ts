import type { CodeMapFile } from '../quality/data-quality.js';
import { esc, pct, shortKey } from './html-format.js';
import type { HtmlReportInput } from './html-sections.js';

/** The data behind the score: duplicates and leakage, likely label errors. Absent for workspaces from older versions. */
export function dataQuality(r: HtmlReportInput, limits = { labelIssues: 30, leakage: 12, groups: 15 }): string {
  const q = r.quality;
  if (!q) return '';
  const trained = r.head.quality;
  const inGroups = q.duplicates.reduce((s, g) => s + g.length, 0);
  const card = (id: string, value: string, label: string) =>
    `<div class="card" id="${id}"><div class="value">${value}</div><div class="label">${label}</div></div>`;
  const cvLine = !trained
    ? ''
    : trained.duplicates.length === 0
      ? 'No duplicates within train, so cross-validation folds are plain stratified folds.'
      : trained.grouped
        ? `Cross-validation kept each of the ${trained.duplicates.length} duplicate groups within train in one fold, so no image was scored by a model that trained on its copy.`
        : `Train has ${trained.duplicates.length} duplicate groups, but a class had fewer than two groups, so folds could not keep them together: CV accuracy may be optimistic.`;
  const tile = (key: string, verdict: string) => {
    const uri = r.thumbnails.get(key);
    return `<div class="thumb" data-key="${esc(key)}">${uri ? `<img src="${uri}" alt="${esc(shortKey(key))}" loading="eager">` : ''}<div class="verdict">${verdict}</div><div class="file">${esc(shortKey(key))}</div></div>`;
  };
  const issues = q.labelIssues.slice(0, limits.labelIssues);
  const issuesBlock =
    q.labelIssues.length === 0
      ? '<p>No train image looks mislabelled: every out-of-fold prediction that cleared its class threshold agreed with the label.</p>'
      : `<p>Confident learning on the out-of-fold probabilities cross-validation computed (the head that judges an image never trained on it): per-class confidence thresholds estimate how many images of each class carry another class's label, and that many with the largest margin p(suggested) − p(given) (the score) are suspects. An image that resembles no other image (its 10 nearest codes far less similar than usual) fits no class: "none (outlier)". Given → <b>suggested</b>, likeliest first.${q.labelIssues.length > issues.length ? ` Showing ${issues.length} of ${q.labelIssues.length}; data-quality.json lists all.` : ''}${trained && trained.excluded.length > 0 ? ` The head was fitted without the ${trained.excluded.length} suspects (--exclude-suspects).` : ' Retrain with <code>--exclude-suspects</code> to fit the head without them.'}</p>
<div class="thumbs" id="label-issues">${issues.map((l) => tile(l.key, `${esc(l.given)} → <b>${l.suggested === null ? 'none (outlier)' : esc(l.suggested)}</b> ${l.score.toFixed(2)}`)).join('')}</div>`;
  const leaks = q.leakage.slice(0, limits.leakage);
  const leakageBlock =
    q.leakage.length === 0
      ? '<p id="leakage-none">No held-out image duplicates a train image.</p>'
      : `<p class="scenario"><b>${q.leakage.length} held-out image${q.leakage.length === 1 ? '' : 's'} duplicate${q.leakage.length === 1 ? 's' : ''} train images</b>: the head has seen ${q.leakage.length === 1 ? 'it' : 'them'} in training, so the accuracy above is optimistic by up to ${pct(q.leakage.length / Math.max(1, r.evaluation.metrics.n))}. Remove them from one side.</p>
<table id="leakage-table"><thead><tr><th>held-out image</th><th>split</th><th>train duplicate(s)</th><th>cosine</th></tr></thead><tbody>${leaks
          .map(
            (l) =>
              `<tr><td><code>${esc(l.key)}</code></td><td>${esc(l.split)}</td><td>${l.trainKeys
                .slice(0, 3)
                .map((k) => `<code>${esc(k)}</code>`)
                .join(
                  ' ',
                )}${l.trainKeys.length > 3 ? ` +${l.trainKeys.length - 3}` : ''}</td><td>${l.cosine.toFixed(3)}</td></tr>`,
          )
          .join('')}</tbody></table>
<div class="thumbs" id="leakage-thumbs">${leaks.flatMap((l) => [tile(l.key, `${esc(l.split)}`), tile(l.trainKeys[0]!, 'train copy')]).join('')}</div>`;
  const groups = q.duplicates.slice(0, limits.groups);
  const groupsBlock =
    q.duplicates.length === 0
      ? ''
      : `<details><summary>${q.duplicates.length} duplicate group${q.duplicates.length === 1 ? '' : 's'}${q.duplicates.length > groups.length ? ` (first ${groups.length})` : ''}</summary><ul id="duplicate-groups">${groups
          .map((g) => `<li>${g.map((k) => `<code>${esc(k)}</code>`).join(' ')}</li>`)
          .join('')}</ul></details>`;
  return `<section id="data-quality">
<h2>Data quality</h2>
<div class="cards">
  ${card('duplicate-count', String(q.duplicates.length), `duplicate groups (${inGroups} images)`)}
  ${card('leakage-count', String(q.leakage.length), 'held-out images duplicating train')}
  ${card('label-issue-count', String(q.labelIssues.length), 'likely label errors in train')}
</div>
<p class="muted small">Duplicates: identical bytes, or codes with cosine ≥ ${(trained?.threshold ?? 0).toFixed(2)} (${esc(trained?.layer ?? 'final')} layer; threshold measured on re-encoded copies, see docs/data-quality.md). ${cvLine}</p>
<h3>Train/held-out leakage</h3>
${leakageBlock}
${groupsBlock}
<h3>Likely label errors (${q.labelIssues.length})</h3>
${issuesBlock}
</section>`;
}

const CLASS_COLOURS = [
  '#2563a8',
  '#d97706',
  '#15803d',
  '#7c3aed',
  '#db2777',
  '#0891b2',
  '#65a30d',
  '#9f1239',
  '#475569',
  '#b45309',
];
/** At most this many unmarked points are drawn (a seeded-free even stride); marked ones always are. */
const MAX_POINTS = 3000;

/** The codes in 2-D (first two principal components), coloured by class; val mistakes and label suspects marked. */
export function codeMap(r: HtmlReportInput): string {
  const map = r.codeMap;
  if (!map || map.points.length === 0) return '';
  const classes = r.manifest.classes;
  const mistakes = new Set(r.evaluation.predictions.filter((p) => p.predicted !== p.label).map((p) => p.key));
  const suspects = new Set(r.quality?.labelIssues.map((l) => l.key) ?? []);
  const marked = (key: string) => mistakes.has(key) || suspects.has(key);
  const stride = Math.max(1, Math.ceil(map.points.length / MAX_POINTS));
  const shown = map.points.filter((p, i) => marked(p.key) || i % stride === 0);
  const [w, h, pad] = [640, 420, 14];
  const xs = map.points.map((p) => p.x);
  const ys = map.points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => (pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad)).toFixed(1);
  const sy = (y: number) => (h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad)).toFixed(1);
  const colour = (label: number) => CLASS_COLOURS[label % CLASS_COLOURS.length]!;
  const title = (p: CodeMapFile['points'][number]) =>
    `${p.key} (${p.split}, ${classes[p.label] ?? p.label})${mistakes.has(p.key) ? ', misclassified' : ''}${suspects.has(p.key) ? ', suspected label error' : ''}`;
  const dots = shown
    .filter((p) => !marked(p.key))
    .map(
      (p) =>
        `<circle class="map-point" data-key="${esc(p.key)}" data-class="${esc(classes[p.label] ?? '')}" data-split="${esc(p.split)}" cx="${sx(p.x)}" cy="${sy(p.y)}" r="${p.split === 'train' ? 3 : 3.5}" fill="${p.split === 'train' ? colour(p.label) : '#fff'}" stroke="${colour(p.label)}" stroke-width="${p.split === 'train' ? 0 : 1.5}" fill-opacity="0.75"><title>${esc(title(p))}</title></circle>`,
    );
  // Marked points last, so they are drawn on top.
  const marks = shown
    .filter((p) => marked(p.key))
    .map((p) => {
      const [cx, cy] = [sx(p.x), sy(p.y)];
      const kind = mistakes.has(p.key) ? 'map-mistake' : 'map-suspect';
      const shape = mistakes.has(p.key)
        ? `<circle cx="${cx}" cy="${cy}" r="6" fill="none" stroke="#b42318" stroke-width="2"/><circle cx="${cx}" cy="${cy}" r="3" fill="${colour(p.label)}"/>`
        : `<rect x="${(Number(cx) - 4.5).toFixed(1)}" y="${(Number(cy) - 4.5).toFixed(1)}" width="9" height="9" transform="rotate(45 ${cx} ${cy})" fill="${colour(p.label)}" stroke="#111" stroke-width="1.5"/>`;
      return `<g class="map-point ${kind}" data-key="${esc(p.key)}" data-class="${esc(classes[p.label] ?? '')}" data-split="${esc(p.split)}">${shape}<title>${esc(title(p))}</title></g>`;
    });
  const legend = classes
    .slice(0, CLASS_COLOURS.length)
    .map(
      (c, i) =>
        `<span class="legend-item"><span class="swatch" style="background:${colour(i)}"></span>${esc(c)}</span>`,
    )
    .join('');
  const sampled =
    shown.length < map.points.length
      ? ` ${shown.length} of ${map.points.length} images drawn (every ${stride}th, plus every marked one).`
      : '';
  return `<section id="code-map">
<h2>Map of the codes</h2>
<p>Every image's ${esc(map.layer)}-layer code, projected on its first two principal components (${pct(map.explained[0])} and ${pct(map.explained[1])} of the variance). Classes that sit apart here are easy for a linear head; a point inside another class's cloud is a hard or mislabelled image.${sampled}</p>
<figure><svg class="chart" id="code-map-svg" role="img" aria-label="map of the codes" viewBox="0 0 ${w} ${h}" width="${w}" font-family="system-ui, sans-serif"><rect x="0" y="0" width="${w}" height="${h}" fill="#fafbfd" stroke="#c9d1dc"/>${dots.join('')}${marks.join('')}</svg>
<figcaption><span class="legend">${legend}</span> Filled: train; hollow: ${esc(r.evaluation.split)}. <span style="color:#b42318">◯</span> ${esc(r.evaluation.split)} image the head got wrong; ◆ train image flagged as a likely label error.</figcaption></figure>
</section>`;
}
