import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { CfnTemplate } from '../../aws/iam-roles.js';
import { ENV, FINE_TUNE } from '../../contracts/cross-process.js';
import { namespaceOf, FeatureStore } from '../../core/features/feature-store.js';
import { MESSAGE_VERSION, type ExtractMessage, type ShardItem } from '../../core/messages/schema.js';
import { BUILTIN_MODELS } from '../../core/models/builtin.js';
import { itemBytes } from '../../core/use-cases/distributed/plan-run.js';
import { RUN_KEYS } from '../../core/use-cases/distributed/layout.js';
import { sizeShards, type ExtractCompute } from '../../core/use-cases/distributed/shard-sizing.js';
import { sourcesKey } from '../../core/use-cases/distributed/source-identities.js';
import { VISIBILITY_PER_TIMEOUT } from '../../infra/constructs/queue-consumer.js';
import { iamTables } from '../../infra/iam-table.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { referencedId, resourcesOfType, synthPipeline } from './pipeline-fixture.js';

/**
 * AWS's service limits against the synthesized template (GPU and CPU deployments) and the planner's sizing. Figures
 * are AWS's published quotas: SQS message 256 KiB, Lambda synchronous payload 6 MB, S3 key 1,024 bytes, Lambda
 * memory 128–10,240 MB and timeout 900 s, Fargate's vCPU/memory pairs, EC2 instance sizes.
 */
const SQS_MESSAGE_BYTES = 256 * 1024;
const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;
const S3_KEY_BYTES = 1024;
/** What an SQS event adds per record around the body (ids, receipt handle, attributes, ARN): generously. */
const SQS_RECORD_ENVELOPE_BYTES = 4096;
/** vCPUs and memory (MiB) of the GPU instance types a deployment may choose (config.ts), and ECS's reserve. */
const INSTANCE_TYPES: Record<string, { vcpus: number; memoryMiB: number; gpus: number }> = {
  'g5.xlarge': { vcpus: 4, memoryMiB: 16384, gpus: 1 },
  'g6.xlarge': { vcpus: 4, memoryMiB: 16384, gpus: 1 },
};
const ECS_RESERVED_MIB = 1024;
/** Fargate: memory (GiB) allowed per vCPU count. */
const FARGATE_MEMORY_GIB: Record<number, [number, number]> = { 1: [2, 8], 2: [4, 16], 4: [8, 30], 8: [16, 60] };

const variants: Record<string, Record<string, unknown>> = { gpu: {}, cpu: { extractCompute: 'cpu' } };
const bytes = (s: string): number => new TextEncoder().encode(s).length;

/** The longest value a message field can take: a 63-character bucket, a 100-character run id (the schema's bound). */
const BUCKET = 'b'.repeat(63);
const RUN_ID = 'r'.repeat(100);

function worstItems(n: number, key: string): ShardItem[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${key.slice(0, key.length - 8)}${String(i).padStart(8, '0')}`,
    split: 'train',
    label: 999,
    source: `${'e'.repeat(32)}-10000/${Number.MAX_SAFE_INTEGER}`,
    hash: 'h'.repeat(64),
  }));
}

test("an extract message the planner sizes fits SQS's 256 KiB for every compute, with keys of S3's full 1,024 bytes (ASCII or not)", () => {
  const computes: ExtractCompute[] = [{ kind: 'gpu' }, { kind: 'cpu' }, { kind: 'lambda', timeLimitSeconds: 300 }];
  for (const key of ['a/b.jpg', `train/ants/${'x'.repeat(1000)}.jpg`, `train/é/${'é'.repeat(505)}.jpg`]) {
    assert.ok(bytes(key) <= S3_KEY_BYTES);
    for (const compute of computes) {
      const images = 20_000;
      const all = worstItems(images, key);
      const sizing = sizeShards(images, itemBytes(all), compute);
      const message: ExtractMessage = {
        v: MESSAGE_VERSION,
        type: 'extract',
        runId: RUN_ID,
        workspace: `s3://${BUCKET}/runs/${RUN_ID}`,
        cache: `s3://${BUCKET}/cache`,
        dataset: `s3://${BUCKET}/datasets/${'d'.repeat(200)}`,
        model: 'm'.repeat(100),
        cuts: ['final', 'block_16', 'block_13'],
        shard: { index: images, count: images, items: all.slice(0, sizing.shardSize) },
      };
      const size = bytes(JSON.stringify(message));
      assert.ok(
        size <= SQS_MESSAGE_BYTES,
        `${compute.kind}, keys of ${bytes(key)} bytes: ${sizing.shardSize} items make ${size} bytes`,
      );
    }
  }
});

for (const [variant, context] of Object.entries(variants)) {
  const pipeline = synthPipeline(context);
  const resources = (type: string) => resourcesOfType(pipeline, type);
  const props = (id: string) => pipeline.resources[id]!.Properties as Record<string, unknown>;

  test(`${variant}: every Lambda event source delivers within the 6 MB payload, and its queue hides a message for ${VISIBILITY_PER_TIMEOUT}× the function's timeout`, () => {
    const mappings = resources('AWS::Lambda::EventSourceMapping');
    assert.ok(mappings.length >= 3);
    for (const [id, mapping] of mappings) {
      const p = mapping.Properties as { BatchSize?: number; EventSourceArn: unknown; FunctionName: unknown };
      const batch = p.BatchSize ?? 10;
      assert.ok(batch * (SQS_MESSAGE_BYTES + SQS_RECORD_ENVELOPE_BYTES) <= LAMBDA_PAYLOAD_BYTES, `${id}: ${batch}`);
      const fn = props(referencedId(p.FunctionName)!);
      const queue = props(referencedId(p.EventSourceArn)!);
      const timeout = (fn.Timeout as number | undefined) ?? 3;
      const visibility = (queue.VisibilityTimeout as number | undefined) ?? 30;
      assert.ok(
        visibility >= VISIBILITY_PER_TIMEOUT * timeout,
        `${id}: visibility ${visibility} s, timeout ${timeout} s`,
      );
    }
  });

  test(`${variant}: queues drained by Batch jobs outlast the gap between heartbeats; every queue takes SQS's largest message`, () => {
    for (const [id, queue] of resources('AWS::SQS::Queue')) {
      const p = queue.Properties ?? {};
      assert.ok(((p.MaximumMessageSize as number | undefined) ?? SQS_MESSAGE_BYTES) >= SQS_MESSAGE_BYTES, id);
      if (id.startsWith('FineTuneQueue'))
        assert.ok((p.VisibilityTimeout as number) > FINE_TUNE.heartbeat.everySeconds, `${id} vs the job's heartbeat`);
      // The Node workers extend their messages every third of the visibility timeout, whatever it is; a minute at
      // least, so a beat is never due before the first receive has been handled.
      if (/^(ExtractQueue|TrainBatchQueue)/.test(id) && variant === 'gpu')
        assert.ok((p.VisibilityTimeout as number) >= 60, id);
    }
  });

  test(`${variant}: Lambda memory and timeouts within Lambda's quotas and equal to what the sizing is told`, () => {
    for (const [id, fn] of resources('AWS::Lambda::Function')) {
      const p = fn.Properties as {
        MemorySize?: number;
        Timeout?: number;
        EphemeralStorage?: { Size: number };
        Environment?: { Variables: Record<string, string> };
      };
      const memory = p.MemorySize ?? 128;
      assert.ok(memory >= 128 && memory <= 10_240, `${id}: ${memory} MB`);
      assert.ok((p.Timeout ?? 3) <= 900, id);
      // Nothing the runtime does writes more than Lambda's default /tmp: no function asks for more, or less.
      assert.equal(p.EphemeralStorage, undefined, id);
      const env = p.Environment?.Variables ?? {};
      // train-compute.ts checks a head against the function's own envelope: the timeout it is told is the real one.
      if (env[ENV.trainTimeoutSeconds]) assert.equal(Number(env[ENV.trainTimeoutSeconds]), p.Timeout, id);
    }
    const extractLambda = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('ExtractLambda'));
    if (variant === 'cpu') {
      const p = extractLambda![1].Properties as { MemorySize: number; Timeout: number };
      // shard-sizing.ts sizes Lambda shards for this timeout, and its per-image cost assumes at least one full vCPU.
      assert.ok(p.MemorySize >= 1769, 'one full vCPU');
      for (const [, fn] of resources('AWS::Lambda::Function')) {
        const env = (fn.Properties as { Environment?: { Variables: Record<string, string> } }).Environment?.Variables;
        if (env?.[ENV.extractCompute] === 'lambda') assert.equal(Number(env[ENV.extractTimeLimit]), p.Timeout);
      }
    } else assert.equal(extractLambda, undefined);
  });

  test(`${variant}: Batch jobs fit their compute: GPU jobs an instance of every allowed type, the train job a Fargate size`, () => {
    const gpuTypes = resources('AWS::Batch::ComputeEnvironment')
      .map(([, ce]) => (ce.Properties as { ComputeResources: { InstanceTypes?: string[] } }).ComputeResources)
      .flatMap((r) => r.InstanceTypes ?? []);
    assert.ok(gpuTypes.length > 0);
    for (const [id, jd] of resources('AWS::Batch::JobDefinition')) {
      const p = jd.Properties as {
        PlatformCapabilities: string[];
        ContainerProperties: { ResourceRequirements: Array<{ Type: string; Value: string }> };
      };
      const need = Object.fromEntries(p.ContainerProperties.ResourceRequirements.map((r) => [r.Type, Number(r.Value)]));
      if (p.PlatformCapabilities.includes('FARGATE')) {
        const [min, max] = FARGATE_MEMORY_GIB[need.VCPU!]!;
        assert.ok(need.MEMORY! >= min * 1024 && need.MEMORY! <= max * 1024 && need.MEMORY! % 1024 === 0, id);
        continue;
      }
      for (const type of gpuTypes) {
        const capacity = INSTANCE_TYPES[type];
        assert.ok(capacity, `${type}: add its size to this test`);
        assert.ok(need.VCPU! <= capacity.vcpus, `${id} on ${type}: ${need.VCPU} vCPU`);
        assert.ok(need.MEMORY! <= capacity.memoryMiB - ECS_RESERVED_MIB, `${id} on ${type}: ${need.MEMORY} MiB`);
        assert.ok((need.GPU ?? 0) <= capacity.gpus, `${id} on ${type}`);
      }
    }
  });
}

test("the layout's longest keys fit S3's 1,024 bytes: a run's objects under a 100-character run id, the code cache's under every built-in model", () => {
  const runKeys = [RUN_KEYS.plan, RUN_KEYS.shards, RUN_KEYS.part(999_999), RUN_KEYS.failure(999_999)].map(
    (k) => `runs/${RUN_ID}/${k}`,
  );
  const shardId = 'f'.repeat(64);
  const cacheKeys = BUILTIN_MODELS.flatMap((d) =>
    Object.keys(d.cutPoints).flatMap((cut) =>
      (['cpu', 'cuda'] as const).flatMap((target) => {
        const store = new FeatureStore(undefined as never, 'cache');
        const ns = namespaceOf(d, cut, target);
        return [store.shardKey(ns, shardId, 'json'), `cache/${ns.id}/index.json`];
      }),
    ),
  );
  const keys = [...runKeys, ...cacheKeys, `cache/${sourcesKey(`s3://${BUCKET}/datasets/${'d'.repeat(900)}`)}`];
  const longest = keys.reduce((a, b) => (bytes(b) > bytes(a) ? b : a));
  assert.ok(bytes(longest) <= S3_KEY_BYTES, longest);
  // Room the cache layout leaves for a model and cut point name (descriptors bound neither: see docs/serverless.md).
  const overhead = Math.max(...cacheKeys.map((k) => bytes(k) - bytes(k.split('/')[1]!) - bytes(k.split('/')[2]!)));
  assert.ok(S3_KEY_BYTES - overhead >= 900, `${overhead} bytes of fixed layout`);
});

// Here rather than in a file of its own: it reads the same two synthesized templates, which take most of the time.
test("docs/iam.md's role table is the one the synthesized templates give (node dist/infra/iam-table.js)", () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'iam.md'), 'utf8');
  const start = '<!-- iam-table:start -->\n';
  const table = doc.slice(doc.indexOf(start) + start.length, doc.indexOf('<!-- iam-table:end -->'));
  assert.equal(
    table,
    iamTables((context) => synthPipeline(context).template.toJSON() as CfnTemplate),
  );
});
