import * as z from 'zod/mini';

/** The extract message (core/messages/schema.ts) in Zod Mini: one candidate of bench/schema-library.ts. */
const item = z.object({
  key: z.string().check(z.minLength(1)),
  split: z.string(),
  label: z.number().check(z.int(), z.minimum(0)),
  source: z.optional(z.string()),
  hash: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
});
const Extract = z.strictObject({
  v: z.literal(1),
  type: z.literal('extract'),
  runId: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,80}$/)),
  workspace: z.string(),
  cache: z.string(),
  dataset: z.string(),
  model: z.string(),
  cuts: z.array(z.string()).check(z.minLength(1)),
  shard: z.object({
    index: z.number().check(z.int(), z.minimum(0)),
    count: z.number().check(z.int(), z.minimum(1)),
    items: z.array(item),
  }),
});

export const parse = (value: unknown): boolean => z.safeParse(Extract, value).success;
