/**
 * The measuring half of bench/gpu-check.sh (run that script, not this file):
 *
 *   node dist/bench/gpu-check.js generate --out DIR --count 20000
 *   node dist/bench/gpu-check.js measure --data DIR --model NAME|descriptor.json --provider cuda|cpu [--batch-size N]
 *
 * `measure` prints one JSON line: GPU-graph node placement from onnxruntime's profile (cuda), inference-only images/s
 * on pre-decoded crops, and end-to-end extraction images/s (read, hash, decode on every vCPU, infer, write codes)
 * with the share of all vCPUs that was busy meanwhile.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FsBlobStore } from '../core/adapters/fs-blob-store.js';
import { mulberry32 } from '../core/heads/index.js';
import { OnnxBackbone } from '../core/backbone/onnx-backbone.js';
import { startExtractionPool } from '../core/backbone/start-pool.js';
import { FeatureStore } from '../core/features/feature-store.js';
import { decodeToRgb } from '../core/image/preprocess.js';
import { ModelRegistry, resolveModelFile, type RegisteredModel } from '../core/models/registry.js';
import { prepareForTarget } from '../core/models/prepare-target.js';
import { extract } from '../core/use-cases/extract.js';
import { cosine } from '../test/helpers/float16-emulation.js';
import { MODELS_DIR } from '../test/helpers/paths.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    count: { type: 'string', default: '20000' },
    data: { type: 'string' },
    model: { type: 'string', default: 'mobilenetv2-12-int8' },
    provider: { type: 'string', default: 'cuda' },
    'batch-size': { type: 'string' },
  },
});

if (positionals[0] === 'generate') await generate(values.out!, Number(values.count));
else if (positionals[0] === 'measure') process.stdout.write(`${JSON.stringify(await measure())}\n`);
else throw new Error('usage: gpu-check.js generate|measure …');

/**
 * 200 distinct photo-sized JPEGs (smooth random colour fields, 500×375 like the hymenoptera images), each written
 * count/200 times with k zero bytes appended: every file has its own content hash, so nothing is served from the
 * code cache, yet decoding costs what a distinct photo costs.
 */
async function generate(out: string, count: number): Promise<void> {
  const bases = await Promise.all(
    Array.from({ length: 200 }, (_, i) => {
      const next = mulberry32(i + 1);
      const raw = Buffer.from(Array.from({ length: 40 * 30 * 3 }, () => Math.floor(next() * 256)));
      return sharp(raw, { raw: { width: 40, height: 30, channels: 3 } })
        .resize(500, 375, { kernel: 'cubic' })
        .jpeg({ quality: 90 })
        .toBuffer();
    }),
  );
  for (const cls of ['a', 'b']) await mkdir(path.join(out, 'train', cls), { recursive: true });
  const writes: Promise<void>[] = [];
  for (let k = 0; k < count; k++) {
    const base = bases[k % bases.length]!;
    const bytes = Buffer.concat([base, Buffer.alloc(Math.floor(k / bases.length), 0)]);
    writes.push(writeFile(path.join(out, 'train', k % 2 ? 'b' : 'a', `img-${String(k).padStart(6, '0')}.jpg`), bytes));
    if (writes.length >= 256) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  process.stdout.write(`generated ${count} JPEGs in ${out}\n`);
}

async function measure() {
  const provider = values.provider === 'cpu' ? 'cpu' : 'cuda';
  const model = await lookup(values.model!);
  const file = (await resolveModelFile(model, { modelsDirs: modelsDirs(), allowDownload: false })).path;
  const bytes = await readFile(file);
  const batchSize = Number(values['batch-size'] ?? (provider === 'cuda' ? 128 : 8));
  const d = model.descriptor;
  const placement = provider === 'cuda' ? await nodePlacement(bytes, model) : undefined;

  // Inference only: crops decoded beforehand, one session, whole batches.
  const sample = (await listImages(values.data!)).slice(0, 256);
  const crops = await Promise.all(sample.map(async (f) => decodeToRgb(await readFile(f), d.preprocess)));
  const backbone = await OnnxBackbone.create(bytes, d, ['final'], {
    executionProvider: provider,
    ...(provider === 'cpu' ? { threads: availableParallelism() } : {}),
  });
  const batch = Array.from({ length: Math.min(batchSize, backbone.maxBatch) }, (_, i) => crops[i % crops.length]!);
  for (let i = 0; i < 3; i++) await backbone.embed(batch);
  const rounds = provider === 'cuda' ? 40 : 4;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await backbone.embed(batch);
  const inferenceOnly = (rounds * batch.length) / ((performance.now() - t0) / 1000);
  // The GPU graph's codes against the CPU graph's on the same 64 crops: cuDNN's choice of algorithm decides whether
  // the exact int8 graph stays exact on this GPU (on CPU it is bit for bit; docs/deploy.md, "GPU graph fidelity").
  const probe = crops.slice(0, Math.min(64, backbone.maxBatch));
  const fidelityToCpu =
    provider === 'cuda' ? await cosinesToCpu(bytes, d, probe, (await backbone.embed(probe)).final!) : undefined;
  await backbone.dispose();

  // End to end: the extract use case over the folder, as a worker runs it.
  const work = await mkdtemp(path.join(tmpdir(), 'cnn-codes-gpu-check-'));
  try {
    const busyBefore = cpuTimes();
    const started = performance.now();
    const result = await extract(
      {
        data: new FsBlobStore(values.data!),
        workspace: new FsBlobStore(work),
        features: new FeatureStore(new FsBlobStore(work), 'codes'),
        model,
        openEmbedder: (m, cuts) =>
          startExtractionPool({
            modelPath: file,
            descriptor: m.descriptor,
            cuts,
            executionProvider: provider,
            batchSize,
          }),
      },
      { cuts: ['final'] },
    );
    const seconds = (performance.now() - started) / 1000;
    const busy = cpuTimes();
    return {
      model: d.name,
      provider,
      precision: provider === 'cuda' ? prepareForTarget(bytes, d, ['final'], 'cuda').precision : 'as-shipped',
      batchSize,
      vcpus: availableParallelism(),
      inferenceOnlyImagesPerSecond: round(inferenceOnly),
      fidelityToCpu,
      extraction: {
        images: result.summary.images,
        embedded: result.summary.embedded,
        seconds: round(seconds),
        imagesPerSecond: round(result.summary.images / seconds),
      },
      vcpuBusyShare: round((busy.busy - busyBefore.busy) / (busy.total - busyBefore.total)),
      placement,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Cosine per image between these codes and the CPU graph's (the int8 one for int8 models): median and min. */
async function cosinesToCpu(
  bytes: Uint8Array,
  d: RegisteredModel['descriptor'],
  crops: readonly Uint8Array[],
  gpu: Float32Array,
) {
  const cpu = await OnnxBackbone.create(bytes, d, ['final'], { executionProvider: 'cpu' });
  // The CPU graph may take smaller batches (a fixed batch of 1, for one): embed it in chunks.
  const reference = new Float32Array(gpu.length);
  for (let start = 0; start < crops.length; start += cpu.maxBatch) {
    const chunk = crops.slice(start, start + cpu.maxBatch);
    reference.set((await cpu.embed(chunk)).final!, (start * gpu.length) / crops.length);
  }
  await cpu.dispose();
  const dim = gpu.length / crops.length;
  const cosines = crops
    .map((_, i) => cosine(gpu.subarray(i * dim, (i + 1) * dim), reference.subarray(i * dim, (i + 1) * dim)))
    .sort((a, b) => a - b);
  return { images: crops.length, median: round4(cosines[cosines.length >> 1]!), min: round4(cosines[0]!) };
}

/** Per-node provider placement, from onnxruntime's own profile of one run of the GPU graph. */
async function nodePlacement(bytes: Uint8Array, model: RegisteredModel) {
  const prepared = prepareForTarget(bytes, model.descriptor, ['final'], 'cuda');
  const prefix = path.join(tmpdir(), `cnn-codes-profile-${process.pid}`);
  const session = await ort.InferenceSession.create(prepared.bytes, {
    executionProviders: ['cuda', 'cpu'],
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const [h, w] = model.descriptor.input.size;
  await session.run({ [prepared.inputName]: new ort.Tensor('uint8', new Uint8Array(8 * h * w * 3), [8, h, w, 3]) });
  session.endProfiling();
  await session.release();
  const dir = path.dirname(prefix);
  const profile = (await readdir(dir)).find((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'));
  if (!profile) return { error: 'onnxruntime wrote no profile' };
  const events = JSON.parse(await readFile(path.join(dir, profile), 'utf8')) as Array<{
    cat?: string;
    name?: string;
    args?: { provider?: string; op_name?: string };
  }>;
  await rm(path.join(dir, profile), { force: true });
  const nodes = new Map<string, { provider: string; op: string }>();
  for (const e of events)
    if (e.cat === 'Node' && e.args?.provider)
      nodes.set(e.name!.replace(/_kernel_time$/, ''), { provider: e.args.provider, op: e.args.op_name ?? '' });
  const byProvider: Record<string, number> = {};
  for (const n of nodes.values()) byProvider[n.provider] = (byProvider[n.provider] ?? 0) + 1;
  const offGpu = [...nodes.entries()]
    .filter(([, n]) => n.provider !== 'CUDAExecutionProvider')
    .map(([name, n]) => `${n.op} ${name}`);
  return { byProvider, offGpu };
}

async function lookup(name: string): Promise<RegisteredModel> {
  return new ModelRegistry().lookup(name, modelsDirs());
}

function modelsDirs(): string[] {
  return [...(process.env.CNN_CODES_MODELS_DIR ?? '').split(path.delimiter).filter(Boolean), MODELS_DIR];
}

async function listImages(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.jpg'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
