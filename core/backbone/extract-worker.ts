import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidImageError, errorMessage } from '../errors.js';
import { configureSharpForWorker, decodeToRgb } from '../image/preprocess.js';
import type { EmbedResult } from '../ports/embedder.js';
import { OnnxBackbone } from './onnx-backbone.js';
import type { DecodedItem, InferRequest, WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

/**
 * One worker thread of an extraction pool. In the CPU pool (`embed`) each worker is one decoder + one single-threaded
 * ORT session, so decoding (the bottleneck for small int8 models) and inference of different batches overlap across
 * workers. A GPU pool splits the roles: `decode` workers on every vCPU, one `infer` worker that owns the GPU session.
 */
const init = workerData as WorkerInit;
configureSharpForWorker();
const backbone =
  init.role === 'decode'
    ? undefined
    : await OnnxBackbone.create(await readFile(init.modelPath), init.descriptor, init.cuts, {
        threads: init.threadsPerWorker,
        executionProvider: init.executionProvider,
        target: init.target,
      });
const port = parentPort!;
// The infer worker runs one batch at a time: the GPU gets whole batches in order instead of interleaved halves.
let inferring: Promise<unknown> = Promise.resolve();

port.on('message', (request: WorkerRequest | InferRequest) => {
  const work: Promise<{ results: EmbedResult[] } | { decoded: DecodedItem[] }> =
    init.role === 'infer' ? infer((request as InferRequest).crops) : handle(request as WorkerRequest);
  void work.then(
    (reply) => port.postMessage({ batchId: request.batchId, ...reply } as WorkerReply, transferables(reply)),
    (err) => port.postMessage({ batchId: request.batchId, fatal: errorMessage(err) } satisfies WorkerReply),
  );
});
port.postMessage({ ready: true });

async function handle(request: WorkerRequest): Promise<{ results: EmbedResult[] } | { decoded: DecodedItem[] }> {
  const decoded = await decode(request);
  // sharp's buffers live outside the JS heap and cannot be transferred: a copy (150 kB a crop) can.
  if (init.role === 'decode') return { decoded: decoded.map((d) => ('crop' in d ? { id: d.id, crop: new Uint8Array(d.crop) } : d)) };
  const results: EmbedResult[] = decoded.filter((d) => 'error' in d);
  results.push(...(await inferInOrder(decoded.filter((d) => 'crop' in d))).results);
  return { results };
}

function decode(request: WorkerRequest): Promise<DecodedItem[]> {
  return Promise.all(
    request.items.map(async (item): Promise<DecodedItem> => {
      try {
        return { id: item.id, crop: await decodeToRgb(item.bytes, init.descriptor.preprocess, { limitInputPixels: init.limitInputPixels }) };
      } catch (err) {
        const kind = err instanceof InvalidImageError ? err.kind : 'decode-failed';
        return { id: item.id, error: { kind, message: errorMessage(err) } };
      }
    }),
  );
}

/** `infer` role: batches queue up behind each other (the CPU pool's `embed` keeps running them as they come). */
function infer(good: Array<{ id: string; crop: Uint8Array }>): Promise<{ results: EmbedResult[] }> {
  const run = inferring.then(() => inferInOrder(good));
  inferring = run.catch(() => undefined);
  return run;
}

async function inferInOrder(good: Array<{ id: string; crop: Uint8Array }>): Promise<{ results: EmbedResult[] }> {
  const results: EmbedResult[] = [];
  const step = Math.min(good.length, backbone!.maxBatch) || 1;
  for (let start = 0; start < good.length; start += step) {
    const chunk = good.slice(start, start + step);
    const codes = await backbone!.embed(chunk.map((c) => c.crop));
    chunk.forEach((c, i) => {
      const own: Record<string, Float32Array> = {};
      for (const cut of init.cuts) {
        const dim = init.descriptor.cutPoints[cut]!.dim;
        own[cut] = codes[cut]!.slice(i * dim, (i + 1) * dim);
      }
      results.push({ id: c.id, codes: own });
    });
  }
  return { results };
}

function transferables(reply: { results: EmbedResult[] } | { decoded: DecodedItem[] }): ArrayBuffer[] {
  if ('decoded' in reply) return reply.decoded.flatMap((d) => ('crop' in d ? [d.crop.buffer as ArrayBuffer] : []));
  return reply.results.flatMap((r) => ('codes' in r ? Object.values(r.codes).map((c) => c.buffer as ArrayBuffer) : []));
}
