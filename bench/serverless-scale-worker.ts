/**
 * The extract worker of bench/serverless-scale: the real runtime (S3 and SQS adapters, router, worker loops, parts)
 * with a stand-in embedder that skips decoding and inference, so only the runtime is measured. Codes are
 * derived from each image's content hash, so any scheduling gives the same cache. Configured like the deployed
 * worker, from the environment.
 */
import { createHash } from 'node:crypto';
import type { RegisteredModel } from '../core/models/registry.js';
import type { Embedder, EmbedResult } from '../core/ports/embedder.js';
import { childUri } from '../core/messages/store-uri.js';
import { BUCKET_PREFIX } from '../contracts/cross-process.js';
import { buildRuntime, jsonLog } from '../functions/shared/runtime.js';
import { settingsFromEnv } from '../functions/shared/settings.js';
import { shutdownOnSignals } from '../functions/shared/shutdown.js';
import { runWorkers } from '../functions/shared/workers.js';

function hashEmbedder(model: RegisteredModel, cuts: string[]): Embedder {
  return {
    parallelism: 1,
    batchSize: 64,
    async embedBatch(items) {
      return items.map((item): EmbedResult => {
        const codes: Record<string, Float32Array> = {};
        for (const cut of cuts) {
          const seed = createHash('sha256').update(cut).update(item.id).digest();
          codes[cut] = Float32Array.from(
            { length: model.descriptor.cutPoints[cut]!.dim },
            (_, i) => (seed[i % 32]! - 128) / 64,
          );
        }
        return { id: item.id, codes };
      });
    },
    async close() {},
  };
}

const log = jsonLog({ role: 'bench-worker' });
const settings = settingsFromEnv();
const runtime = buildRuntime(settings, { withBackbone: false, log });
runtime.deps.openEmbedder = async (model, cuts) => hashEmbedder(model, cuts);
// Its objects are not images: no signature is attempted (extractItems' imageSignatures).
runtime.deps.imageSignatures = false;
runtime.deps.ingest = {
  cache: childUri(`s3://${settings.bucket}`, BUCKET_PREFIX.cache),
  model: settings.model,
  cuts: settings.cuts,
};
const stages = ['run', 'extract'] as const;
log({ event: 'worker:started', stages });
const stats = await runWorkers(runtime, { stages, signal: shutdownOnSignals(log) });
await runtime.close();
log({ event: 'worker:exited', stats });
