import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidImageError, errorMessage } from '../errors.js';
import { configureSharpForWorker, decodeToRgb } from '../image/preprocess.js';
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
  const step = Math.min(good.length, backbone.maxBatch) || 1;
  for (let start = 0; start < good.length; start += step) {
    const chunk = good.slice(start, start + step);
    const codes = await backbone.embed(chunk.map((c) => c.crop));
    chunk.forEach((c, i) => {
      const own: Record<string, Float32Array> = {};
      for (const cut of init.cuts) {
        const dim = init.descriptor.cutPoints[cut]!.dim;
        own[cut] = codes[cut]!.slice(i * dim, (i + 1) * dim);
      }
      results.push({ id: c.id, codes: own });
    });
  }
  return { batchId: request.batchId, results };
}

function transferables(reply: WorkerReply): ArrayBuffer[] {
  if (!('results' in reply)) return [];
  return reply.results.flatMap((r) => ('codes' in r ? Object.values(r.codes).map((c) => c.buffer as ArrayBuffer) : []));
}
