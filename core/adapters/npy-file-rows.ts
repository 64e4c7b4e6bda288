import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DataError, errorMessage } from '../errors.js';
import { decodeNpyLabels } from '../features/npy.js';
import { readRegularFile } from './regular-file.js';
import { parseNpyHeader, requireCOrder } from '../features/npy-header.js';
import { streamedRows, type RowShard, type RowSource } from '../heads/row-source.js';

/**
 * Codes in .npy files, read by byte range as a pass reaches them: a single [n, d] file, or a folder of shards (the
 * code cache's `shards/*.npy`, in name order). float32 is read as is; float64 is narrowed chunk by chunk.
 */
export async function npyShard(file: string): Promise<RowShard & { dim: number }> {
  // Before opening: opening a FIFO blocks until a writer comes.
  const kind = await fs.stat(file).catch((err: unknown) => {
    throw new DataError(`cannot open codes ${file}: ${errorMessage(err)}`);
  });
  if (!kind.isFile()) throw new DataError(`codes ${file} is not a regular file (a FIFO, socket or device)`);
  const handle = await fs.open(file, 'r').catch((err: unknown) => {
    throw new DataError(`cannot open codes ${file}: ${errorMessage(err)}`);
  });
  try {
    const head = new Uint8Array(65_536 + 12);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const { descr, shape, offset, width } = parseNpy(head.subarray(0, bytesRead), file);
    if (shape.length !== 2 || (descr !== '<f4' && descr !== '<f8')) {
      throw new DataError(
        `${file}: codes must be a 2-D float32 (or float64) array [rows, dims]; got ${descr} of shape (${shape.join(', ')})`,
      );
    }
    const [rows, dim] = shape as [number, number];
    const { size } = await handle.stat();
    if (size < offset + rows * dim * width)
      throw new DataError(`${file} is truncated: ${size} bytes for ${rows} × ${dim} values`);
    return {
      rows,
      dim,
      async read(start, count) {
        // A fresh Uint8Array starts at offset 0 of its own buffer, so the typed views below are aligned.
        const bytes = new Uint8Array(count * dim * width);
        const reader = await fs.open(file, 'r');
        try {
          await reader.read(bytes, 0, bytes.length, offset + start * dim * width);
        } finally {
          await reader.close();
        }
        return width === 4 ? new Float32Array(bytes.buffer) : Float32Array.from(new Float64Array(bytes.buffer));
      },
    };
  } finally {
    await handle.close();
  }
}

function parseNpy(bytes: Uint8Array, file: string) {
  try {
    const header = parseNpyHeader(bytes);
    requireCOrder(header);
    return header;
  } catch (err) {
    throw new DataError(`${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Integer labels, [n] int32 or int64, checked (range, k ≤ n) before anything is sized by them. */
export async function readNpyLabels(file: string): Promise<Int32Array> {
  const bytes = await readRegularFile(file, MAX_LABELS_BYTES, 'labels');
  try {
    return decodeNpyLabels(bytes);
  } catch (err) {
    throw new DataError(`${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** 2³¹ int64 labels; anything larger is not a labels file. */
const MAX_LABELS_BYTES = 2 ** 34;

/** A file, or every .npy in a folder (name order) as consecutive shards, with its labels. */
export async function npyRows(codes: string, labels: Int32Array, chunkRows?: number): Promise<RowSource> {
  const stat = await fs.stat(codes).catch((err: unknown) => {
    throw new DataError(`codes not found: ${codes} (${errorMessage(err)})`);
  });
  const files = stat.isDirectory()
    ? (await fs.readdir(codes))
        .filter((f) => f.endsWith('.npy'))
        .sort()
        .map((f) => path.join(codes, f))
    : [codes];
  if (files.length === 0) throw new DataError(`no .npy shards in ${codes}`);
  const shards = await Promise.all(files.map(npyShard));
  const dim = shards[0]!.dim;
  const odd = shards.find((s) => s.dim !== dim);
  if (odd) throw new DataError(`${codes}: shards disagree on the code size (${dim} and ${odd.dim})`);
  const rows = shards.reduce((s, shard) => s + shard.rows, 0);
  if (rows !== labels.length) throw new DataError(`${codes} holds ${rows} rows but the labels have ${labels.length}`);
  return streamedRows(shards, labels, dim, chunkRows);
}
