import type { FlagDoc } from '../flag-docs.js';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../../core/adapters/fs-blob-store.js';
import { npyRows, readNpyLabels } from '../../core/adapters/npy-file-rows.js';
import { ConfigError } from '../../core/errors.js';
import { trainOnCodes, type LabelledRows } from '../../core/use-cases/train-codes.js';
import { optional } from '../../core/util/optional.js';
import { numberFlag, stringFlag } from '../args.js';
import type { CommandContext, FlagValues, OptionSpec } from '../command.js';
import { printEvaluation, printTrain } from '../output.js';
import { headChoices } from './head-flags.js';

/** `train --codes X.npy --labels y.npy [--val-codes … --val-labels …]`: codes made elsewhere (CLIP, DINOv2, …). */
export const CODES_OPTIONS: OptionSpec = {
  codes: { type: 'string' },
  labels: { type: 'string' },
  'val-codes': { type: 'string' },
  'val-labels': { type: 'string' },
  threads: { type: 'string' },
};

/** What the --codes flags mean in `cnn-codes train --help`. */
export const CODES_FLAG_DOCS: Record<string, FlagDoc> = {
  codes: {
    arg: 'FILE|DIR',
    text: 'bring your own embeddings: float32 [n, d] .npy (or a folder of .npy shards, name order), read in chunks',
  },
  labels: { arg: 'FILE', text: 'with --codes: int [n] .npy, labels 0..k-1' },
  'val-codes': {
    arg: 'FILE',
    text: 'with --codes: held-out codes; metrics.json, report.md and report.html as for images',
  },
  'val-labels': { arg: 'FILE', text: 'with --val-codes: their labels' },
  threads: { arg: 'N', text: 'onnxruntime threads for large sets (default: every core)' },
};

export async function trainOnCodesCommand(values: FlagValues, ctx: CommandContext): Promise<unknown> {
  const codes = stringFlag(values, 'codes')!;
  const labels = stringFlag(values, 'labels');
  if (!labels) throw new ConfigError('train --codes needs --labels FILE (int [n] .npy)');
  const valCodes = stringFlag(values, 'val-codes');
  const valLabels = stringFlag(values, 'val-labels');
  if ((valCodes === undefined) !== (valLabels === undefined))
    throw new ConfigError('--val-codes and --val-labels go together');
  if (values.layer !== undefined) throw new ConfigError('--layer does not apply to --codes: the codes are the layer');
  const outDir = path.resolve(stringFlag(values, 'out') ?? path.join('cnn-codes-out', path.basename(codes, '.npy')));
  const train = await labelledRows(codes, labels);
  const val = valCodes ? await labelledRows(valCodes, valLabels!) : undefined;
  const fingerprint = await fingerprintOf([codes, labels]);
  const result = await trainOnCodes(
    { workspace: new FsBlobStore(outDir), onProgress: ctx.progress },
    { train, ...optional('val', val), fingerprint },
    {
      ...headChoices(values),
      ...optional('seed', numberFlag(values, 'seed', Number.isInteger, 'an integer')),
      ...optional(
        'threads',
        numberFlag(values, 'threads', (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1'),
      ),
    },
  );
  ctx.progress.end();
  const trained = printTrain(result.artefact, false, outDir, ctx.json);
  if (!result.evaluation) return trained;
  return { ...(trained as object), ...(printEvaluation(result.evaluation, outDir, ctx.json) as object) };
}

async function labelledRows(codes: string, labels: string): Promise<LabelledRows> {
  const y = await readNpyLabels(labels);
  return { rows: await npyRows(codes, y), labels: y, name: path.basename(codes) };
}

/** Names, sizes and modification times: enough to tell one set of codes from another without reading gigabytes. */
async function fingerprintOf(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    const stat = await fs.stat(file);
    hash.update(`${path.resolve(file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 24);
}
