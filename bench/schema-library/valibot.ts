import * as v from 'valibot';

/** The extract message (core/messages/schema.ts) in Valibot: one candidate of bench/schema-library.ts. */
const item = v.object({
  key: v.pipe(v.string(), v.minLength(1)),
  split: v.string(),
  label: v.pipe(v.number(), v.integer(), v.minValue(0)),
  source: v.optional(v.string()),
  hash: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
});
const Extract = v.strictObject({
  v: v.literal(1),
  type: v.literal('extract'),
  runId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,80}$/)),
  workspace: v.string(),
  cache: v.string(),
  dataset: v.string(),
  model: v.string(),
  cuts: v.pipe(v.array(v.string()), v.minLength(1)),
  shard: v.object({
    index: v.pipe(v.number(), v.integer(), v.minValue(0)),
    count: v.pipe(v.number(), v.integer(), v.minValue(1)),
    items: v.array(item),
  }),
});

export const parse = (value: unknown): boolean => v.safeParse(Extract, value).success;
