/**
 * The near-duplicate search at a million codes: the cell search (core/quality/cell-search.ts, IVF on onnxruntime
 * GEMMs) over N synthetic codes, its recall against exact search for a seeded sample of rows, and what exact search
 * of every pair would cost (the sample's exact pass, scaled to n²/2 pairs).
 *
 *   node dist/bench/near-duplicate-search.js [--rows 1000000] [--dim 1280] [--sample 10000] [--cell-rows 1000]
 *                                            [--probes 3] [--threads N]
 *
 * The codes are bench/planted-codes.ts's (every 20th row a near copy of an earlier one). Recall: of the
 * pairs at or above the threshold that involve a sample row (its 10 most similar, as the search keeps), the share the
 * cell search found. Merges its figures into bench/results/data-quality.json under "search-<rows>".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxGemm } from '../core/heads/onnx-gemm.js';
import { mulberry32, shuffleInPlace } from '../core/heads/prng.js';
import { searchByCells, type RowReader } from '../core/quality/cell-search.js';
import { NEAR_DUPLICATE_COSINE } from '../core/quality/duplicates.js';
import { normalizeRows, TopPairs } from '../core/quality/near-duplicates.js';
import { REPO_ROOT } from '../test/helpers/paths.js';
import { describeCpu } from '../core/models/int8-weights-choice.js';
import { plantedCodeRows } from './planted-codes.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    dim: { type: 'string', default: '1280' },
    sample: { type: 'string', default: '10000' },
    'cell-rows': { type: 'string', default: '1000' },
    probes: { type: 'string', default: '3' },
    threads: { type: 'string' },
  },
});
const N = Number(values.rows);
const D = Number(values.dim);
const SAMPLE = Math.min(N, Number(values.sample));
const threads = values.threads ? Number(values.threads) : undefined;
const writeRow = plantedCodeRows(D);

const reader: RowReader = {
  rows: N,
  dim: D,
  async *blocks(blockRows) {
    for (let o = 0; o < N; o += blockRows) {
      const rows = Math.min(blockRows, N - o);
      const codes = new Float32Array(rows * D);
      for (let r = 0; r < rows; r++) writeRow(o + r, codes, r * D);
      yield { offset: o, codes };
    }
  },
  read(rows) {
    const codes = new Float32Array(rows.length * D);
    rows.forEach((r, i) => writeRow(r, codes, i * D));
    return Promise.resolve(codes);
  },
};

const loadBefore = loadavg().map((l) => Number(l.toFixed(2)));
const date = new Date().toISOString();
let started = performance.now();
const cpuStart = process.cpuUsage();
const found = await searchByCells(reader, {
  threshold: NEAR_DUPLICATE_COSINE,
  cellRows: Number(values['cell-rows']),
  probes: Number(values.probes),
  ...(threads ? { threads } : {}),
});
const searchSeconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
const searchCpu = (cpu.user + cpu.system) / 1e6;
const searchRss = process.resourceUsage().maxRSS / 1024;
console.log(
  `cell search: ${N} × ${D}, ${found.cells} cells, ${found.pairs.length} pairs, ${found.compared} compared, ${searchSeconds.toFixed(1)} s wall, ${searchCpu.toFixed(1)} s CPU, peak RSS ${searchRss.toFixed(0)} MiB`,
);

// Exact: the sample's rows against every row, the same threshold and top 10 per sample row.
const sampleRows = shuffleInPlace(
  Int32Array.from({ length: N }, (_, i) => i),
  mulberry32(11),
)
  .slice(0, SAMPLE)
  .sort();
const sampleCodes = await reader.read(sampleRows);
normalizeRows(sampleCodes, SAMPLE, D, sampleCodes);
const exact = new TopPairs(SAMPLE, false, { threshold: NEAR_DUPLICATE_COSINE, topK: 10 });
started = performance.now();
const gemm = await OnnxGemm.create(new Float32Array(D), threads);
for await (const block of reader.blocks(4096)) {
  const rows = block.codes.length / D;
  normalizeRows(block.codes, rows, D, block.codes);
  for (let i0 = 0; i0 < SAMPLE; i0 += 1024) {
    const m = Math.min(1024, SAMPLE - i0);
    const s = await gemm.scores(sampleCodes.subarray(i0 * D, (i0 + m) * D), m, block.codes, rows);
    for (let r = 0; r < m; r++)
      for (let c = 0; c < rows; c++) {
        const j = block.offset + c;
        if (j !== sampleRows[i0 + r] && s[r * rows + c]! >= NEAR_DUPLICATE_COSINE)
          exact.offer(i0 + r, j, s[r * rows + c]!);
      }
  }
}
await gemm.release();
const exactSeconds = (performance.now() - started) / 1000;
const foundPairs = new Set(found.pairs.map((p) => `${p.i},${p.j}`));
const truth = exact.pairs();
const hit = truth.filter((p) => {
  const [a, b] = [sampleRows[p.i]!, p.j].sort((x, y) => x - y);
  return foundPairs.has(`${a},${b}`);
}).length;
const recall = truth.length > 0 ? hit / truth.length : 1;
const exactAllSeconds = (exactSeconds * (N - 1)) / 2 / SAMPLE;
const loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
console.log(
  `exact search for ${SAMPLE} sample rows against all ${N}: ${exactSeconds.toFixed(1)} s; ${truth.length} pairs at ≥ ${NEAR_DUPLICATE_COSINE}, ${hit} found by the cell search: recall ${recall.toFixed(4)}; exact search of all pairs ≈ ${(exactAllSeconds / 60).toFixed(0)} min at this rate`,
);
console.log(
  `load ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after; ${cpus().length} × ${cpus()[0]?.model}`,
);

const resultsFile = path.join(REPO_ROOT, 'bench', 'results', 'data-quality.json');
await mkdir(path.dirname(resultsFile), { recursive: true });
const previous = existsSync(resultsFile)
  ? (JSON.parse(await readFile(resultsFile, 'utf8')) as { runs: Record<string, unknown> })
  : { runs: {} as Record<string, unknown> };
const git = (args: string[]) => spawnSync('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8' }).stdout.trim();
previous.runs[`search-${N}`] = {
  commit: git(['rev-parse', '--short', 'HEAD']),
  date,
  cpu: { model: cpus()[0]?.model, cores: cpus().length, flags: describeCpu() },
  load: { before: loadBefore, after: loadAfter },
  versions: { node: process.version },
  command: `node dist/bench/near-duplicate-search.js --rows ${N} --dim ${D} --sample ${SAMPLE}`,
  rows: N,
  dim: D,
  cells: found.cells,
  probes: Number(values.probes),
  pairsFound: found.pairs.length,
  pairsCompared: found.compared,
  searchWallSeconds: Math.round(searchSeconds * 10) / 10,
  searchCpuSeconds: Math.round(searchCpu * 10) / 10,
  peakRssMiB: Math.round(searchRss),
  recall: { sample: SAMPLE, exactPairs: truth.length, found: hit, recall },
  exactSampleSeconds: Math.round(exactSeconds * 10) / 10,
  exactAllPairsEstimateSeconds: Math.round(exactAllSeconds),
};
await writeFile(resultsFile, JSON.stringify(previous, null, 2) + '\n');
