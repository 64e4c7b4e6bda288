// Cell search vs usearch, same codes, one process: `npm install --no-save usearch@2.26.2`, build, then
// `node bench/results/cell-search-vs-usearch.mjs 100000`. Prints one JSON line (docs/data-quality.md, "At any size").
/* global console, performance, process */
// Cell search (cnn-codes, onnxruntime GEMM IVF) vs usearch HNSW on the same synthetic codes, same process.
import usearch from 'usearch';
import { searchByCells } from '../../dist/core/quality/cell-search.js';
import { OnnxGemm } from '../../dist/core/heads/onnx-gemm.js';
import { mulberry32, shuffleInPlace } from '../../dist/core/heads/prng.js';
import { normalizeRows, TopPairs } from '../../dist/core/quality/near-duplicates.js';
import { plantedCodeRows } from '../../dist/bench/planted-codes.js';
const { Index, MetricKind, ScalarKind } = usearch;
const N = Number(process.argv[2] ?? 100000),
  D = 1280,
  SAMPLE = 2000,
  TH = 0.88;
const writeRow = plantedCodeRows(D);
const X = new Float32Array(N * D);
for (let i = 0; i < N; i++) writeRow(i, X, i * D);
normalizeRows(X, N, D, X);
const reader = {
  rows: N,
  dim: D,
  async *blocks(b) {
    for (let o = 0; o < N; o += b) yield { offset: o, codes: X.slice(o * D, Math.min(N, o + b) * D) };
  },
  read(rows) {
    const out = new Float32Array(rows.length * D);
    rows.forEach((r, i) => out.set(X.subarray(r * D, (r + 1) * D), i * D));
    return Promise.resolve(out);
  },
};
const cpu0 = process.cpuUsage();
let t = performance.now();
const cells = await searchByCells(reader, { threshold: TH });
const cellWall = (performance.now() - t) / 1000,
  c1 = process.cpuUsage(cpu0),
  cellCpu = (c1.user + c1.system) / 1e6;
t = performance.now();
const cpu1 = process.cpuUsage();
const index = new Index({ dimensions: D, metric: MetricKind.Cos, quantization: ScalarKind.F32, connectivity: 16 });
index.add(
  BigUint64Array.from({ length: N }, (_, i) => BigInt(i)),
  X,
);
const built = (performance.now() - t) / 1000;
const res = index.search(X, 11);
const hnswWall = (performance.now() - t) / 1000,
  c2 = process.cpuUsage(cpu1),
  hnswCpu = (c2.user + c2.system) / 1e6;
const hnsw = new Set();
for (let i = 0; i < N; i++)
  for (let k = 0; k < 11; k++) {
    const j = Number(res.keys[i * 11 + k]);
    const cos = 1 - res.distances[i * 11 + k];
    if (j !== i && j < N && cos >= TH) hnsw.add(i < j ? `${i},${j}` : `${j},${i}`);
  }
const cellSet = new Set(cells.pairs.map((p) => `${p.i},${p.j}`));
const sample = shuffleInPlace(
  Int32Array.from({ length: N }, (_, i) => i),
  mulberry32(11),
)
  .slice(0, SAMPLE)
  .sort();
const S = new Float32Array(SAMPLE * D);
sample.forEach((r, i) => S.set(X.subarray(r * D, (r + 1) * D), i * D));
const exact = new TopPairs(SAMPLE, false, { threshold: TH, topK: 10 });
const g = await OnnxGemm.create(new Float32Array(D));
for (let o = 0; o < N; o += 4096) {
  const rows = Math.min(4096, N - o);
  const s = await g.scores(S, SAMPLE, X.subarray(o * D, (o + rows) * D), rows);
  for (let r = 0; r < SAMPLE; r++)
    for (let c = 0; c < rows; c++)
      if (o + c !== sample[r] && s[r * rows + c] >= TH) exact.offer(r, o + c, s[r * rows + c]);
}
const truth = exact.pairs().map((p) => {
  const [a, b] = [sample[p.i], p.j].sort((x, y) => x - y);
  return `${a},${b}`;
});
const rec = (set) => truth.filter((id) => set.has(id)).length / truth.length;
console.log(
  JSON.stringify({
    n: N,
    d: D,
    loadavg: (await import('node:os')).loadavg(),
    truthPairs: truth.length,
    cells: { wall: cellWall, cpu: cellCpu, pairs: cells.pairs.length, recall: rec(cellSet) },
    usearch: {
      version: '2.26.2',
      connectivity: 16,
      buildWall: built,
      wall: hnswWall,
      cpu: hnswCpu,
      pairs: hnsw.size,
      recall: rec(hnsw),
    },
  }),
);
