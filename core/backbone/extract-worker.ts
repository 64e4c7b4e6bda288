import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidImageError, errorMessage } from '../errors.js';
import { configureSharpForWorker, decodeToRgb, mirrorRgb, preloadSharp } from '../image/preprocess.js';
import type { EmbedResult } from '../ports/embedder.js';
import { OnnxBackbone } from './onnx-backbone.js';
import type {
  DecodedItem,
  InferRequest,
  StageTimes,
  WorkerInit,
  WorkerReply,
  WorkerRequest,
} from './worker-protocol.js';

/**
 * One worker thread of an extraction pool. In the CPU pool (`embed`) each worker is one decoder + one single-threaded
 * ORT session, so decoding (the bottleneck for small int8 models) and inference of different batches overlap across
 * workers. A GPU pool splits the roles: `decode` workers on every vCPU, one `infer` worker that owns the GPU session.
 */
const init = workerData as WorkerInit;
configureSharpForWorker();
if (init.role !== 'infer') preloadSharp();
const sessionOptions = {
  threads: init.threadsPerWorker,
  executionProvider: init.executionProvider,
  target: init.target,
};
const backbone = init.role === 'decode' ? undefined : await openSession();

/** The pool's prepared graph when it passed one (cached on disk, or prepared once for all workers), else our own. */
async function openSession(): Promise<OnnxBackbone> {
  const graph = init.graph;
  if (!graph) return OnnxBackbone.create(await readFile(init.modelPath), init.descriptor, init.cuts, sessionOptions);
  const bytes = graph.bytes ?? (await readFile(graph.path!));
  return OnnxBackbone.fromPrepared({ ...graph, bytes, target: init.target }, init.cuts, sessionOptions);
}
const port = parentPort!;
// The infer worker runs one batch at a time: the GPU gets whole batches in order instead of interleaved halves. An
// embed worker too: decode and inference both run on its thread, so interleaving two batches gains nothing and would
// blur the stage times; the pool keeps the next batch queued here, so the thread never waits for work.
let inferring: Promise<unknown> = Promise.resolve();
let embedding: Promise<Awaited<ReturnType<typeof handle>>> = Promise.resolve({ decoded: [] });

port.on('message', (request: WorkerRequest | InferRequest) => {
  const work: Promise<{ results: EmbedResult[]; times?: StageTimes } | { decoded: DecodedItem[] }> =
    init.role === 'infer'
      ? infer((request as InferRequest).crops)
      : init.role === 'embed'
        ? (embedding = embedding.catch(() => ({ decoded: [] })).then(() => handle(request as WorkerRequest)))
        : handle(request as WorkerRequest);
  void work.then(
    (reply) => port.postMessage({ batchId: request.batchId, ...reply } as WorkerReply, transferables(reply)),
    (err) => port.postMessage({ batchId: request.batchId, fatal: errorMessage(err) } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });

async function handle(
  request: WorkerRequest,
): Promise<{ results: EmbedResult[]; times: StageTimes } | { decoded: DecodedItem[] }> {
  const decodeStart = performance.now();
  const decoded = await decode(request);
  // sharp's buffers live outside the JS heap and cannot be transferred: a copy (150 kB a crop) can.
  if (init.role === 'decode')
    return { decoded: decoded.map((d) => ('crop' in d ? { id: d.id, crop: new Uint8Array(d.crop) } : d)) };
  const inferStart = performance.now();
  const results: EmbedResult[] = decoded.filter((d) => 'error' in d);
  results.push(...(await inferInOrder(decoded.filter((d) => 'crop' in d))).results);
  return { results, times: { decodeMs: inferStart - decodeStart, inferMs: performance.now() - inferStart } };
}

/**
 * One image at a time: the JPEG fast path decodes on libuv's thread pool (sharp), and a batch decoded all at once
 * would put up to four decodes per worker on the cores beside the other workers' inference.
 */
async function decode(request: WorkerRequest): Promise<DecodedItem[]> {
  const out: DecodedItem[] = [];
  for (const item of request.items) {
    try {
      out.push({
        id: item.id,
        crop: await decodeToRgb(item.bytes, init.descriptor.preprocess, { limitInputPixels: init.limitInputPixels }),
      });
    } catch (err) {
      const kind = err instanceof InvalidImageError ? err.kind : 'decode-failed';
      out.push({ id: item.id, error: { kind, message: errorMessage(err) } });
    }
  }
  return out;
}

/** `infer` role: batches queue up behind each other (the CPU pool's `embed` keeps running them as they come). */
function infer(good: Array<{ id: string; crop: Uint8Array }>): Promise<{ results: EmbedResult[] }> {
  const run = inferring.then(() => inferInOrder(good));
  inferring = run.catch(() => undefined);
  return run;
}

async function inferInOrder(good: Array<{ id: string; crop: Uint8Array }>): Promise<{ results: EmbedResult[] }> {
  const results: EmbedResult[] = [];
  // With tta 'flip' every image is two views (the crop, then its mirror) whose codes are averaged.
  const views = init.descriptor.preprocess.tta === 'flip' ? 2 : 1;
  const width = init.descriptor.preprocess.crop[1];
  const step = Math.max(1, Math.floor(Math.min(good.length * views, backbone!.maxBatch) / views));
  for (let start = 0; start < good.length; start += step) {
    const chunk = good.slice(start, start + step);
    const crops = views === 1 ? chunk.map((c) => c.crop) : chunk.flatMap((c) => [c.crop, mirrorRgb(c.crop, width)]);
    const codes = await embedInBatches(crops);
    chunk.forEach((c, i) => {
      const own: Record<string, Float32Array> = {};
      for (const cut of init.cuts) {
        const dim = init.descriptor.cutPoints[cut]!.dim;
        const code = codes[cut]!.slice(i * views * dim, (i * views + 1) * dim);
        for (let v = 1; v < views; v++)
          for (let t = 0; t < dim; t++) code[t]! += codes[cut]![(i * views + v) * dim + t]!;
        if (views > 1) for (let t = 0; t < dim; t++) code[t]! /= views;
        own[cut] = code;
      }
      results.push({ id: c.id, codes: own });
    });
  }
  return { results };
}

/** backbone.embed in pieces of at most maxBatch crops (a static-batch graph takes 1), codes concatenated per cut. */
async function embedInBatches(crops: Uint8Array[]): Promise<Record<string, Float32Array>> {
  if (crops.length <= backbone!.maxBatch) return backbone!.embed(crops);
  const parts: Array<Record<string, Float32Array>> = [];
  for (let start = 0; start < crops.length; start += backbone!.maxBatch)
    parts.push(await backbone!.embed(crops.slice(start, start + backbone!.maxBatch)));
  const out: Record<string, Float32Array> = {};
  for (const cut of init.cuts) {
    out[cut] = new Float32Array(parts.reduce((s, p) => s + p[cut]!.length, 0));
    let at = 0;
    for (const p of parts) {
      out[cut]!.set(p[cut]!, at);
      at += p[cut]!.length;
    }
  }
  return out;
}

function transferables(reply: { results: EmbedResult[] } | { decoded: DecodedItem[] }): ArrayBuffer[] {
  if ('decoded' in reply) return reply.decoded.flatMap((d) => ('crop' in d ? [d.crop.buffer as ArrayBuffer] : []));
  return reply.results.flatMap((r) => ('codes' in r ? Object.values(r.codes).map((c) => c.buffer as ArrayBuffer) : []));
}
