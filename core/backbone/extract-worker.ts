import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidImageError, errorMessage } from '../errors.js';
import { configureSharpForWorker, decodeToRgb, mirrorRgb } from '../image/preprocess.js';
import type { EmbedResult } from '../ports/embedder.js';
import { OnnxBackbone } from './onnx-backbone.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * One worker = one decoder + one single-threaded ORT session. Several of them keep every core busy: decoding (the
 * bottleneck for small int8 models) and inference of different batches overlap across workers.
 */
const init = workerData as WorkerInit;
configureSharpForWorker();
const backbone = await OnnxBackbone.create(await readFile(init.modelPath), init.descriptor, init.cuts, {
  threads: init.threadsPerWorker,
  executionProvider: init.executionProvider,
});
const port = parentPort!;

port.on('message', (request: WorkerRequest) => {
  void handle(request).then(
    (reply) => port.postMessage(reply, transferables(reply)),
    (err) => port.postMessage({ batchId: request.batchId, fatal: errorMessage(err) } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  const decoded = await Promise.all(
    request.items.map(async (item) => {
      try {
        return { id: item.id, crop: await decodeToRgb(item.bytes, init.descriptor.preprocess, { limitInputPixels: init.limitInputPixels }) };
      } catch (err) {
        const kind = err instanceof InvalidImageError ? err.kind : 'decode-failed';
        return { id: item.id, error: { kind, message: errorMessage(err) } };
      }
    }),
  );
  const results: EmbedResult[] = [];
  const good = decoded.filter((d): d is { id: string; crop: Buffer } => 'crop' in d);
  for (const d of decoded) if ('error' in d && d.error) results.push({ id: d.id, error: d.error });
  // With tta 'flip' every image is two views (the crop, then its mirror) whose codes are averaged.
  const views = init.descriptor.preprocess.tta === 'flip' ? 2 : 1;
  const step = Math.max(1, Math.floor(Math.min(good.length * views, backbone.maxBatch) / views));
  for (let start = 0; start < good.length; start += step) {
    const chunk = good.slice(start, start + step);
    const crops = views === 1 ? chunk.map((c) => c.crop) : chunk.flatMap((c) => [c.crop, mirrorRgb(c.crop, init.descriptor.preprocess.crop[1])]);
    const codes = await embedInBatches(crops);
    chunk.forEach((c, i) => {
      const own: Record<string, Float32Array> = {};
      for (const cut of init.cuts) {
        const dim = init.descriptor.cutPoints[cut]!.dim;
        const code = codes[cut]!.slice(i * views * dim, (i * views + 1) * dim);
        for (let v = 1; v < views; v++) for (let t = 0; t < dim; t++) code[t]! += codes[cut]![(i * views + v) * dim + t]!;
        if (views > 1) for (let t = 0; t < dim; t++) code[t]! /= views;
        own[cut] = code;
      }
      results.push({ id: c.id, codes: own });
    });
  }
  return { batchId: request.batchId, results };
}

/** backbone.embed in pieces of at most maxBatch crops (a static-batch graph takes 1), codes concatenated per cut. */
async function embedInBatches(crops: Buffer[]): Promise<Record<string, Float32Array>> {
  if (crops.length <= backbone.maxBatch) return backbone.embed(crops);
  const parts: Array<Record<string, Float32Array>> = [];
  for (let start = 0; start < crops.length; start += backbone.maxBatch) parts.push(await backbone.embed(crops.slice(start, start + backbone.maxBatch)));
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

function transferables(reply: WorkerReply): ArrayBuffer[] {
  if (!('results' in reply)) return [];
  return reply.results.flatMap((r) => ('codes' in r ? Object.values(r.codes).map((c) => c.buffer as ArrayBuffer) : []));
}
