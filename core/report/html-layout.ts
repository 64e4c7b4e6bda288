import { esc } from './html-format.js';

/**
 * The page shell. The Content-Security-Policy forbids every fetch (images come as data: URIs, no scripts), so the
 * file provably works offline and shows the same thing wherever it is opened or mailed.
 */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const STYLE = `
:root { --ink: #1b2430; --muted: #5b6675; --line: #dde3ea; --accent: #2563a8; --bad: #b42318; --panel: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0 10px; }
.muted { color: var(--muted); }
.warning { color: var(--bad); }
.small { font-size: 13px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--panel); padding: 1px 4px; border-radius: 3px; }
.headline { display: flex; gap: 28px; align-items: flex-end; flex-wrap: wrap; margin: 18px 0 8px; }
.big { font-size: 56px; font-weight: 700; line-height: 1; color: var(--accent); }
.big-caption { font-size: 15px; color: var(--muted); max-width: 28em; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .value { font-size: 20px; font-weight: 650; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.setup { background: var(--panel); border-left: 4px solid var(--accent); padding: 8px 12px; border-radius: 4px; }
.figures { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; break-inside: avoid; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; max-width: 460px; }
svg.chart { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; break-inside: avoid; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: var(--panel); font-weight: 600; }
tr.chosen td { font-weight: 650; background: #eaf1fb; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.thumb { border: 1px solid var(--line); border-radius: 6px; padding: 6px; break-inside: avoid; }
.thumb img { display: block; width: 100%; height: 120px; object-fit: cover; border-radius: 3px; background: var(--panel); }
.thumb .verdict { font-size: 13px; margin-top: 4px; }
.thumb .verdict b { color: var(--bad); }
.thumb .file { font-size: 11px; color: var(--muted); word-break: break-all; }
.legend-item { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: middle; }
#code-map figcaption { max-width: 640px; }
.scenario { background: #fff8e6; border-left: 4px solid #d9a400; padding: 8px 12px; border-radius: 4px; }
details summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  .big { font-size: 40px; }
  details { display: block; }
  details > *:not(summary) { display: block; }
}
@page { margin: 14mm; }
`;
