import type { ReliabilityBin } from './html-calibration.js';
import { esc, pct } from './html-format.js';
import type { LayerScore } from './scenario.js';

/**
 * Charts as inline SVG: no script, no library, nothing to fetch, and they print sharp. Sizes are in viewBox units
 * so every chart scales with the page.
 */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"';
const fmt = (x: number) => Number(x.toFixed(1));

/** Light to dark blue by share of the row (recall view), so a rare class's errors are as visible as a common one's. */
function heat(share: number): string {
  const mix = (a: number, b: number) => Math.round(a + (b - a) * share);
  return `rgb(${mix(241, 23)},${mix(245, 71)},${mix(251, 145)})`;
}

export function confusionHeatmap(classes: readonly string[], confusion: readonly (readonly number[])[]): string {
  const k = classes.length;
  const cell = Math.max(14, Math.min(72, Math.floor(420 / k)));
  const label = (name: string) => (name.length > 18 ? `${name.slice(0, 17)}…` : name);
  const left = 22 + Math.min(150, 14 + 7 * Math.max(...classes.map((c) => label(c).length)));
  const top = k > 4 ? left * 0.75 + 10 : 34;
  const width = left + cell * k + 10;
  const height = top + cell * k + 32;
  const parts: string[] = [];
  classes.forEach((name, j) => {
    const x = left + cell * j + cell / 2;
    parts.push(
      k > 4
        ? `<text x="${fmt(x)}" y="${fmt(top - 6)}" transform="rotate(-45 ${fmt(x)} ${fmt(top - 6)})" font-size="12">${esc(label(name))}<title>${esc(name)}</title></text>`
        : `<text x="${fmt(x)}" y="${fmt(top - 8)}" text-anchor="middle" font-size="13">${esc(label(name))}<title>${esc(name)}</title></text>`,
    );
  });
  confusion.forEach((row, i) => {
    const y = top + cell * i;
    const total = row.reduce((s, v) => s + v, 0);
    parts.push(
      `<text x="${left - 6}" y="${fmt(y + cell / 2 + 4)}" text-anchor="end" font-size="13">${esc(label(classes[i]!))}<title>${esc(classes[i]!)}</title></text>`,
    );
    row.forEach((count, j) => {
      const share = total > 0 ? count / total : 0;
      const x = left + cell * j;
      parts.push(
        `<rect class="cm-cell" data-true="${esc(classes[i]!)}" data-predicted="${esc(classes[j]!)}" data-count="${count}" x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${heat(share)}">` +
          `<title>true ${esc(classes[i]!)}, predicted ${esc(classes[j]!)}: ${count} (${pct(share)} of the row)</title></rect>`,
      );
      if (cell >= 20) {
        parts.push(
          `<text x="${fmt(x + cell / 2)}" y="${fmt(y + cell / 2 + 5)}" text-anchor="middle" font-size="${cell >= 40 ? 15 : 10}" fill="${share > 0.55 ? '#fff' : '#1b2430'}" pointer-events="none">${count}</text>`,
        );
      }
    });
  });
  const middle = fmt(top + (cell * k) / 2);
  parts.push(
    `<text x="${fmt(left + (cell * k) / 2)}" y="${fmt(top + cell * k + 24)}" text-anchor="middle" font-size="12" fill="#555">predicted →</text>`,
    `<text x="12" y="${middle}" transform="rotate(-90 12 ${middle})" text-anchor="middle" font-size="12" fill="#555">true class</text>`,
  );
  return `<svg class="chart" id="confusion-matrix" role="img" aria-label="confusion matrix" viewBox="0 0 ${fmt(width)} ${fmt(height)}" width="${fmt(width)}" ${FONT}>${parts.join('')}</svg>`;
}

export function reliabilityDiagram(bins: readonly ReliabilityBin[], ece: number, id = 'reliability-diagram'): string {
  const size = 240;
  const [ox, oy] = [44, 14];
  const x = (v: number) => fmt(ox + v * size);
  const y = (v: number) => fmt(oy + (1 - v) * size);
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const parts: string[] = [
    `<rect x="${ox}" y="${oy}" width="${size}" height="${size}" fill="#fafbfd" stroke="#c9d1dc"/>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#8a94a3" stroke-dasharray="4 4"/>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${x(t)}" y="${oy + size + 16}" text-anchor="middle" font-size="11">${t}</text>`);
    parts.push(`<text x="${ox - 6}" y="${fmt(Number(y(t)) + 4)}" text-anchor="end" font-size="11">${t}</text>`);
  }
  for (const b of bins) {
    if (b.count === 0) continue;
    const w = (b.to - b.from) * size;
    const barTop = y(b.accuracy);
    parts.push(
      `<rect class="rel-bin" x="${fmt(ox + b.from * size + 1)}" y="${barTop}" width="${fmt(w - 2)}" height="${fmt(oy + size - Number(barTop))}" fill="#3b6fb6" fill-opacity="${fmt(0.35 + 0.65 * (b.count / maxCount))}">` +
        `<title>confidence ${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${b.count} images, accuracy ${pct(b.accuracy)}, mean confidence ${pct(b.meanConfidence)}</title></rect>`,
      `<circle cx="${x(b.meanConfidence)}" cy="${y(b.accuracy)}" r="3" fill="#c2410c"/>`,
    );
  }
  parts.push(
    `<text x="${x(0.5)}" y="${oy + size + 32}" text-anchor="middle" font-size="12" fill="#555">confidence (highest probability)</text>`,
    `<text x="12" y="${y(0.5)}" transform="rotate(-90 12 ${y(0.5)})" text-anchor="middle" font-size="12" fill="#555">accuracy</text>`,
    `<text x="${ox + 8}" y="${oy + 18}" font-size="12">ECE ${pct(ece)}</text>`,
  );
  return `<svg class="chart" id="${id}" role="img" aria-label="reliability diagram" viewBox="0 0 ${ox + size + 10} ${oy + size + 40}" width="${ox + size + 10}" ${FONT}>${parts.join('')}</svg>`;
}

const SERIES_COLOURS = ['#2563a8', '#c2410c', '#15803d', '#7c3aed'];

/** CV accuracy per layer (shallow → deep), one line per head kind, ±1 std over folds; the chosen layer is marked. */
export function layerChart(
  layers: readonly string[],
  scores: readonly LayerScore[],
  chosen: { layer: string; kind: string },
): string {
  const kinds = [...new Set(scores.map((s) => s.kind))];
  const [ox, oy, w, h] = [48, 26, Math.max(300, 70 * layers.length), 200];
  const low = Math.max(
    0,
    Math.floor((Math.min(...scores.map((s) => s.meanAccuracy - s.stdAccuracy)) - 0.02) * 20) / 20,
  );
  const x = (i: number) => fmt(ox + (layers.length === 1 ? w / 2 : (i * w) / (layers.length - 1)));
  const y = (v: number) => fmt(oy + ((1 - Math.min(1, v)) / (1 - low)) * h);
  const parts: string[] = [`<rect x="${ox}" y="${oy}" width="${w}" height="${h}" fill="#fafbfd" stroke="#c9d1dc"/>`];
  for (let t = low; t <= 1.0001; t += 0.05) {
    parts.push(
      `<line x1="${ox}" x2="${ox + w}" y1="${y(t)}" y2="${y(t)}" stroke="#e3e8ef"/><text x="${ox - 6}" y="${fmt(Number(y(t)) + 4)}" text-anchor="end" font-size="11">${Math.round(t * 100)}%</text>`,
    );
  }
  layers.forEach((layer, i) =>
    parts.push(`<text x="${x(i)}" y="${oy + h + 18}" text-anchor="middle" font-size="12">${esc(layer)}</text>`),
  );
  kinds.forEach((kind, k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length]!;
    const points = layers.flatMap((layer, i) => {
      const s = scores.find((r) => r.layer === layer && r.kind === kind);
      return s ? [{ i, s }] : [];
    });
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map((p) => `${x(p.i)},${y(p.s.meanAccuracy)}`).join(' ')}"/>`,
    );
    for (const { i, s } of points) {
      const isChosen = s.layer === chosen.layer && s.kind === chosen.kind;
      parts.push(
        `<line x1="${x(i)}" x2="${x(i)}" y1="${y(s.meanAccuracy - s.stdAccuracy)}" y2="${y(s.meanAccuracy + s.stdAccuracy)}" stroke="${colour}" stroke-opacity="0.5"/>`,
        `<circle class="layer-point" data-layer="${esc(s.layer)}" data-kind="${esc(kind)}" cx="${x(i)}" cy="${y(s.meanAccuracy)}" r="${isChosen ? 6 : 4}" fill="${isChosen ? '#fff' : colour}" stroke="${colour}" stroke-width="${isChosen ? 3 : 1}">` +
          `<title>${esc(s.layer)} / ${esc(kind)}: ${pct(s.meanAccuracy)} ± ${pct(s.stdAccuracy)} (best C)</title></circle>`,
      );
    }
    parts.push(
      `<rect x="${ox + 10 + k * 110}" y="6" width="12" height="12" fill="${colour}"/><text x="${ox + 27 + k * 110}" y="16" font-size="12">${esc(kind)}</text>`,
    );
  });
  parts.push(
    `<text x="${ox + w - 4}" y="16" text-anchor="end" font-size="12" fill="#555">○ chosen · bars ±1 std over folds</text>`,
  );
  return `<svg class="chart" id="layer-chart" role="img" aria-label="cross-validated accuracy per layer" viewBox="0 0 ${ox + w + 12} ${oy + h + 28}" width="${ox + w + 12}" ${FONT}>${parts.join('')}</svg>`;
}
