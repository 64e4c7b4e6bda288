import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { instrumentModulesUnder } from './instrument.js';

/**
 * `node dist/fuzz/main.js [--target NAME]... [--runs N] [--seconds S] [--replay]`: a coverage-guided campaign per
 * target (fuzz/targets.ts) over the committed corpus (fuzz/corpus/<target>/), new interesting inputs written to
 * fuzz/corpus/<target>.new/ (merge by hand), findings to fuzz/findings/<target>/. Exit 1 when anything was found.
 * `--json FILE` writes the figures in bench/results-file.ts's envelope (commit, date, CPU, load before and after).
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
const { TARGETS, FUZZ_PIXEL_LIMIT } = await import('./targets.js');
// After the hook, as the targets are: a core module loaded before it would stay uninstrumented for the campaign.
const { startResult } = await import('../bench/results-file.js');
const { runCampaign } = await import('./engine.js');
const chosen = values.target?.length ? TARGETS.filter((t) => values.target!.includes(t.name)) : TARGETS;
if (chosen.length === 0) {
  console.error(`unknown target; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}
/** How the campaign searches, for the result file (Jazzer.js's libFuzzer addon needs glibc 2.38; Debian 12 has 2.36). */
const ENGINE = 'fuzz/engine.ts over @jazzer.js/instrumentor edge coverage and compare hooks';

function instrumentorVersion(): string {
  const pkg = path.join(repo, 'node_modules', '@jazzer.js', 'instrumentor', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

const result = startResult('fuzz', {
  command: `node --expose-gc dist/fuzz/main.js ${process.argv.slice(2).join(' ')}`,
  versions: { '@jazzer.js/instrumentor': instrumentorVersion() },
});
const results = [];
// --total-seconds shares one budget: each target gets an equal share of what the ones before it left unused.
const total = values['total-seconds'] === undefined ? undefined : Number(values['total-seconds']);
const started = Date.now();
for (const [i, target] of chosen.entries()) {
  const share = total === undefined ? Infinity : (total - (Date.now() - started) / 1000) / (chosen.length - i);
  const outcome = runCampaign(target, {
    runs: Number(values.runs),
    seconds: Math.max(1, Math.min(Number(values.seconds), share)),
    timeBudgetMs: Number(values['time-budget-ms']),
    rssBudgetBytes: Number(values['rss-budget-mib']) * 2 ** 20,
    corpusDir: path.join(repo, 'fuzz', 'corpus'),
    findingsDir: path.join(repo, 'fuzz', 'findings'),
    seed: Number(values.seed),
    replayOnly: values.replay,
  });
  results.push(outcome);
  console.log(
    `${outcome.target.padEnd(12)} ${String(outcome.executions).padStart(9)} runs ${String(outcome.seconds).padStart(7)} s ` +
      `${String(Math.round(outcome.executions / Math.max(outcome.seconds, 0.1))).padStart(6)}/s  corpus ${outcome.corpus}  ` +
      `edges ${outcome.edges}  peak RSS ${outcome.peakRssMiB} MiB  slowest ${outcome.slowestMs} ms  findings ${outcome.findings.length}`,
  );
  for (const f of outcome.findings.slice(0, 5))
    console.log(`  ${f.kind}: ${f.file}\n    ${f.detail.split('\n').slice(0, 4).join('\n    ')}`);
}
if (values.json) {
  const budgets = {
    timePerInputMs: Number(values['time-budget-ms']),
    hangKillMs: 2 * Number(values['time-budget-ms']),
    imagePixelLimit: FUZZ_PIXEL_LIMIT,
    rssGrowthMiB: Number(values['rss-budget-mib']),
  };
  console.log(`wrote ${result.save({ engine: ENGINE, seed: Number(values.seed), budgets, results }, values.json)}`);
}
process.exit(results.some((r) => r.findings.length > 0) ? 1 : 0);
