/**
 * How many images one extract message carries, chosen for the compute that will run it. Small shards waste requests
 * (each costs a fixed number of S3 requests to read and record) and tasks; big shards idle workers and,
 * on Lambda, run into the function's timeout. The plan records the choice and why.
 */
export type ExtractComputeKind = 'cpu' | 'gpu' | 'lambda';

export interface ExtractCompute {
  kind: ExtractComputeKind;
  /** Wall seconds one image costs one task of this kind (decode + inference, its threads in parallel). */
  secondsPerImage?: number;
  /** Lambda: the function's timeout in seconds (900 at most). */
  timeLimitSeconds?: number;
}

/**
 * Per-image costs from hymenoptera's local extraction (398 images, mobilenetv2-12-int8) on the project's 2-vCPU AMD
 * EPYC: 57.7 images/s with two threads (README.md's "Measured" table at commit 4ff7baa, 2026-11-28, not re-measured;
 * later builds extract faster, so these err long, and figures that quote a rate read bench/results/extract.json).
 * So ≈ 0.017 s per image per CPU task; a Lambda container at 4 GB gets ~2 vCPUs, the same cost plus a margin for cold
 * decoding; a g5/g6.xlarge GPU task is bounded by decoding on its 4 vCPUs (≈ 4 × 115 images/s).
 */
export const SECONDS_PER_IMAGE: Record<ExtractComputeKind, number> = { cpu: 0.0175, lambda: 0.025, gpu: 0.0025 };
/**
 * An image whose codes are cached (or being cached by ingest on upload) costs its shard no decoding or inference, only
 * its share of reading cache shards: about 5 KiB of codes, taken here as 0.5 ms (generous next to S3's tens of MB/s).
 */
export const SECONDS_PER_CACHED_IMAGE = 0.0005;
const GPU_SHARD = 4096;
/** A CPU worker's shard: about a minute of work, so a dead worker's shard comes back soon and costs little. */
const CPU_SHARD_SECONDS = 60;
/** Lambda: use half the timeout, leaving room for a cold start and a slow image. */
const LAMBDA_BUDGET = 0.5;
/**
 * Below this a shard's fixed requests cost more than 0.1 request per image: measured on moto while the join was still
 * ours, a shard cost about 28 S3 requests besides its images (index load, part, join counters, compaction's reads of
 * its codes, its event); the engine's join took the counters and the event away and compaction is gone, so the floor
 * is now conservative.
 */
const MIN_SHARD = 256;
/** CPU and Lambda: spread a small dataset over at least this many shards, so parallel workers have work. */
const MIN_SHARDS = 16;
/** An extract message's items must fit SQS's 256 KiB limit with room for the rest of the message. */
const ITEM_BYTES_BUDGET = 200_000;
const MAX_ITEMS = 10_000;

/**
 * `cached`: how many of the images the planner already knows to be in the code cache or on their way into it. They
 * are sized by what they cost (reading codes), not as images to embed: a run after ingest on upload is a few large
 * shards, each reading the cache once, instead of many that each re-read the same cache shards for a few rows.
 */
export function sizeShards(
  images: number,
  itemBytes: number,
  compute: ExtractCompute,
  requested?: number,
  cached = 0,
): { compute: ExtractComputeKind; shardSize: number; shards: number; reason: string } {
  const messageCap = Math.max(
    1,
    Math.min(MAX_ITEMS, Math.floor(ITEM_BYTES_BUDGET / Math.max(1, itemBytes / Math.max(1, images)))),
  );
  const shardsOf = (size: number) => Math.max(1, Math.ceil(images / size));
  if (requested !== undefined)
    return {
      compute: compute.kind,
      shardSize: requested,
      shards: shardsOf(requested),
      reason: 'requested by the run (shardSize) or the deployment (CNN_CODES_SHARD_SIZE)',
    };
  const embedCost = compute.secondsPerImage ?? SECONDS_PER_IMAGE[compute.kind];
  const known = Math.min(Math.max(0, cached), images);
  // The average image's cost, and the run's work in embedded images' worth (what parallel workers share).
  const perImage =
    images > 0 ? ((images - known) * embedCost + known * Math.min(embedCost, SECONDS_PER_CACHED_IMAGE)) / images : 0;
  const embedEquivalent = embedCost > 0 ? (images * perImage) / embedCost : images;
  const ms = (seconds: number) => Number((seconds * 1000).toPrecision(3));
  let wanted: number;
  let why: string;
  if (compute.kind === 'gpu') {
    wanted = GPU_SHARD;
    why = `a GPU task takes ${GPU_SHARD} images per message (≈ ${Math.round(GPU_SHARD * perImage)} s at ${ms(perImage)} ms/image)`;
  } else {
    const limit =
      compute.kind === 'lambda' ? LAMBDA_BUDGET * Math.min(900, compute.timeLimitSeconds ?? 900) : CPU_SHARD_SECONDS;
    const byTime = Math.max(1, Math.floor(limit / Math.max(perImage, 1e-9)));
    // At least MIN_SHARD images' worth of embedding per shard: cached images count for what they cost.
    const minShard = Math.ceil(MIN_SHARD * (images / Math.max(1, embedEquivalent)));
    const spread = Math.max(minShard, Math.ceil(images / MIN_SHARDS));
    wanted = Math.min(byTime, spread);
    why =
      compute.kind === 'lambda'
        ? `Lambda: ${Math.round(limit)} s (half its ${Math.min(900, compute.timeLimitSeconds ?? 900)} s timeout) at ${ms(perImage)} ms/image allows ${byTime}`
        : `CPU worker: ${CPU_SHARD_SECONDS} s of work at ${ms(perImage)} ms/image is ${byTime}`;
    if (wanted < byTime)
      why += `; ${wanted} spreads ${images} images over ≥ ${Math.min(MIN_SHARDS, shardsOf(wanted))} shards (at least ${MIN_SHARD} images' worth of embedding per shard)`;
  }
  if (known > 0)
    why += `; ${known} of ${images} images are cached or being cached (${ms(SECONDS_PER_CACHED_IMAGE)} ms each)`;
  const shardSize = Math.max(1, Math.min(wanted, messageCap, Math.max(1, images)));
  if (shardSize < wanted && shardSize === messageCap)
    why += `; capped at ${messageCap} so the message fits SQS's 256 KiB`;
  return { compute: compute.kind, shardSize, shards: shardsOf(shardSize), reason: why };
}
