/**
 * Extraction speed, side by side with the PyTorch tutorial's own pipeline (PIL + torchvision transforms +
 * DataLoader(batch 4, 2 workers) + torchvision MobileNetV2 on CPU), both over the same hymenoptera images on the same
 * machine in one script. Decode through cached codes: the figure includes reading, hashing, decoding, inference and
 * writing shards. Also a naive in-process batch-1 loop, and peak RSS at 1× and N× the dataset to show memory is flat.
 *
 *   node dist/bench/extract.js [--data DIR] [--scale N] [--workers N] [--batch-size N] [--skip-baseline]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { ExtractionPool } from '../core/backbone/extraction-pool.js';
import { OnnxBackbone } from '../core/backbone/onnx-backbone.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { decodeToRgb } from '../core/image/preprocess.js';
import { ModelRegistry, resolveModelFile } from '../core/models/registry.js';
import type { BlobInfo, BlobStore } from '../core/ports/blob-store.js';
import { extract } from '../core/use-cases/extract.js';
import { HYMENOPTERA, MODELS_DIR, PYTHON, REPO_ROOT } from '../test/helpers/paths.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: HYMENOPTERA },
    model: { type: 'string', default: 'mobilenetv2-12-int8' },
    scale: { type: 'string', default: '4' },
    workers: { type: 'string' },
    'batch-size': { type: 'string', default: '8' },
    'skip-baseline': { type: 'boolean', default: false },
  },
});

/**
 * Serves the dataset `copies` times, listed as <split>/<class>/rep<k>~<file>, with k zero bytes after each file's
 * end: every copy has a new content hash (so it is really embedded) yet decodes to the same pixels.
 */
class RepeatedDataset implements BlobStore {
  readonly location: string;
  constructor(private readonly inner: FsBlobStore, private readonly copies: number) {
    this.location = `${inner.location}×${copies}`;
  }
  async get(key: string): Promise<Uint8Array> {
    const [split, cls, name] = key.split('/') as [string, string, string];
    const [rep, file] = name.split('~') as [string, string];
    const k = Number(rep.slice(3));
    const bytes = await this.inner.get(`${split}/${cls}/${file}`);
    return k === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(k, 0)]);
  }
  async *list(prefix: string): AsyncIterable<BlobInfo> {
    for (let k = 0; k < this.copies; k++) {
      for await (const b of this.inner.list(prefix)) {
        const parts = b.key.split('/');
        if (parts.length === 3) yield { key: `${parts[0]}/${parts[1]}/rep${k}~${parts[2]}`, size: b.size };
      }
    }
  }
  getJson<T>(): Promise<T | undefined> {
    return Promise.reject(new Error('read-only'));
  }
  put(): Promise<void> {
    return Promise.reject(new Error('read-only'));
  }
  putIfAbsent(): Promise<boolean> {
    return Promise.reject(new Error('read-only'));
  }
  exists(): Promise<boolean> {
    return Promise.reject(new Error('read-only'));
  }
  delete(): Promise<void> {
    return Promise.reject(new Error('read-only'));
  }
}

async function ourPipeline(data: BlobStore, label: string) {
  const work = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-'));
  try {
    const registry = new ModelRegistry();
    const model = await registry.lookup(values.model!, [MODELS_DIR]);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const workspace = new FsBlobStore(work);
    const result = await extract({
      data,
      workspace,
      features: new FeatureStore(workspace),
      model,
      openEmbedder: async (m, cuts) => {
        const resolved = await resolveModelFile(m, { modelsDirs: [MODELS_DIR], allowDownload: false });
        return ExtractionPool.start({
          modelPath: resolved.path,
          descriptor: m.descriptor,
          cuts,
          batchSize: Number(values['batch-size']),
          ...(values.workers ? { workers: Number(values.workers) } : {}),
        });
      },
    });
    clearInterval(sampler);
    return { label, images: result.summary.embedded, seconds: result.summary.seconds, rate: result.summary.embedded / result.summary.seconds, peakRssMiB: peakRss / 2 ** 20 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The obvious single-threaded loop: read, decode, infer one image at a time. */
async function naiveLoop(files: string[]) {
  const registry = new ModelRegistry();
  const model = await registry.lookup(values.model!, [MODELS_DIR]);
  const resolved = await resolveModelFile(model, { modelsDirs: [MODELS_DIR], allowDownload: false });
  const backbone = await OnnxBackbone.create(await readFile(resolved.path), model.descriptor, ['final']);
  const started = performance.now();
  for (const f of files) await backbone.embed([await decodeToRgb(await readFile(f), model.descriptor.preprocess)]);
  const seconds = (performance.now() - started) / 1000;
  await backbone.dispose();
  return { label: 'naive loop (batch 1, one thread, no overlap)', images: files.length, seconds, rate: files.length / seconds };
}

function tutorialBaseline() {
  const out = execFileSync(PYTHON, [path.join(REPO_ROOT, 'bench', 'tutorial_baseline.py'), '--data', values.data!, '--arch', 'mobilenet_v2'], { encoding: 'utf8' });
  const line = JSON.parse(out.trim().split('\n').pop()!) as { images: number; seconds: number; images_per_s: number };
  return { label: 'PyTorch tutorial pipeline (PIL, DataLoader b4 w2, torch CPU)', images: line.images, seconds: line.seconds, rate: line.images_per_s };
}

const data = new FsBlobStore(values.data!);
const files: string[] = [];
for await (const b of data.list('')) if (b.key.split('/').length === 3) files.push(path.join(values.data!, b.key));

const rows: Array<{ label: string; images: number; seconds: number; rate: number; peakRssMiB?: number }> = [];
rows.push(await ourPipeline(data, 'cnn-codes extract (worker threads, graph-side normalize)'));
const scale = Number(values.scale);
if (scale > 1) rows.push(await ourPipeline(new RepeatedDataset(data, scale), `cnn-codes extract, dataset ×${scale} (memory check)`));
rows.push(await naiveLoop(files));
if (!values['skip-baseline']) rows.push(tutorialBaseline());

const baseline = rows.find((r) => r.label.startsWith('PyTorch'));
console.log(`\nExtraction, ${values.model}, ${files.length} hymenoptera images, ${(await import('node:os')).availableParallelism()} cores\n`);
console.log('| pipeline | images | seconds | images/s | × tutorial | peak RSS MiB |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = baseline ? (r.rate / baseline.rate).toFixed(2) : '–';
  console.log(`| ${r.label} | ${r.images} | ${r.seconds.toFixed(2)} | ${r.rate.toFixed(1)} | ${ratio} | ${r.peakRssMiB ? r.peakRssMiB.toFixed(0) : '–'} |`);
}
