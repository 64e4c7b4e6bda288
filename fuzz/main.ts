import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { instrumentModulesUnder } from './instrument.js';

/**
 * `node dist/fuzz/main.js [--target NAME]... [--runs N] [--seconds S] [--replay]`: a coverage-guided campaign per
 * target (fuzz/targets.ts) over the committed corpus (fuzz/corpus/<target>/), new interesting inputs written to
 * fuzz/corpus/<target>.new/ (merge by hand), findings to fuzz/findings/<target>/. Exit 1 when anything was found.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const { values } = parseArgs({
  options: {
    target: { type: 'string', multiple: true },
    runs: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '600' },
    'total-seconds': { type: 'string' },
    'time-budget-ms': { type: 'string', default: '1000' },
    'rss-budget-mib': { type: 'string', default: '256' },
    replay: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});

instrumentModulesUnder(path.join(repo, 'dist', 'core') + path.sep);
const { TARGETS } = await import('./targets.js');
const { runCampaign } = await import('./engine.js');
const chosen = values.target?.length ? TARGETS.filter((t) => values.target!.includes(t.name)) : TARGETS;
if (chosen.length === 0) {
  console.error(`unknown target; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
const results = [];
// --total-seconds shares one budget: each target gets an equal share of what the ones before it left unused.
const total = values['total-seconds'] === undefined ? undefined : Number(values['total-seconds']);
const started = Date.now();
for (const [i, target] of chosen.entries()) {
  const share = total === undefined ? Infinity : (total - (Date.now() - started) / 1000) / (chosen.length - i);
  const result = runCampaign(target, {
    runs: Number(values.runs),
    seconds: Math.max(1, Math.min(Number(values.seconds), share)),
    timeBudgetMs: Number(values['time-budget-ms']),
    rssBudgetBytes: Number(values['rss-budget-mib']) * 2 ** 20,
    corpusDir: path.join(repo, 'fuzz', 'corpus'),
    findingsDir: path.join(repo, 'fuzz', 'findings'),
    seed: Number(values.seed),
    replayOnly: values.replay,
  });
  results.push(result);
  console.log(
    `${result.target.padEnd(12)} ${String(result.executions).padStart(9)} runs ${String(result.seconds).padStart(7)} s ` +
      `${String(Math.round(result.executions / Math.max(result.seconds, 0.1))).padStart(6)}/s  corpus ${result.corpus}  ` +
      `edges ${result.edges}  peak RSS ${result.peakRssMiB} MiB  slowest ${result.slowestMs} ms  findings ${result.findings.length}`,
  );
  for (const f of result.findings.slice(0, 5))
    console.log(`  ${f.kind}: ${f.file}\n    ${f.detail.split('\n').slice(0, 4).join('\n    ')}`);
}
if (values.json) {
  mkdirSync(path.dirname(values.json), { recursive: true });
  writeFileSync(values.json, JSON.stringify({ node: process.version, results }, null, 2) + '\n');
}
process.exit(results.some((r) => r.findings.length > 0) ? 1 : 0);
