import { z } from 'zod';

/** The extract message (core/messages/schema.ts) in Zod: one candidate of bench/schema-library.ts. */
const item = z.object({
  key: z.string().min(1),
  split: z.string(),
  label: z.number().int().min(0),
  source: z.string().optional(),
  hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
const Extract = z.strictObject({
  v: z.literal(1),
  type: z.literal('extract'),
  runId: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
  workspace: z.string(),
  cache: z.string(),
  dataset: z.string(),
  model: z.string(),
  cuts: z.array(z.string()).min(1),
  shard: z.object({ index: z.number().int().min(0), count: z.number().int().min(1), items: z.array(item) }),
});

export const parse = (value: unknown): boolean => Extract.safeParse(value).success;
