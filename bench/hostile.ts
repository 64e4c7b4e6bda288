/**
 * `node dist/bench/hostile.js`: issue 23's hostile inputs, each through the real binary (bin/cnn-codes.js) under
 * /usr/bin/time -v, in the command it targets: `extract` (a two-class dataset plus the one file), `predict` (the file
 * alone, against a head trained on the good images) and `train --codes`. Prints exit code, reject kind or message, peak
 * RSS and wall time per input, and writes bench/results/hostile.json. The targets: exit 0 with a reject of a named kind
 * or exit 2/3/4 with a message; ≤ 256 MiB and ≤ 5 s for inputs of ≤ 1 MB.
 */
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { encodeNpy } from '../core/features/npy.js';
import { startResult } from './results-file.js';
import { bmpFile, netpbmFile, npyWith, rle8Bomb, tgaFile } from '../test/helpers/hostile-files.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(repo, 'bin', 'cnn-codes.js');
const MODELS = path.join(path.resolve(process.env.CNN_CODES_SHARED ?? path.join(repo, '..', 'shared')), 'models');
const work = mkdtempSync(path.join(tmpdir(), 'cnn-codes-hostile-'));

interface Row {
  command: string;
  input: string;
  bytes: number;
  exit: number | null;
  outcome: string;
  rssMiB: number;
  seconds: number;
}

function timed(args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
  rssMiB: number;
  seconds: number;
} {
  const started = Date.now();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    rssMiB: Math.round(kb / 1024),
    seconds: (Date.now() - started) / 1000,
  };
}

const message = (stderr: string) =>
  stderr
    .split('\n')
    .find((l) => l.startsWith('cnn-codes:'))
    ?.slice(0, 110) ?? '';

async function png(seed: number): Promise<Buffer> {
  return sharp({
    create: { width: 80 + seed, height: 60, channels: 3, background: { r: seed * 30, g: 120 - seed * 10, b: 40 } },
  })
    .png()
    .toBuffer();
}

const images: Record<string, () => Buffer | string> = {
  'rle8-10000x10000.bmp': () => rle8Bomb(10_000, 10_000),
  'rle8-2000x2000.bmp': () => rle8Bomb(2_000, 2_000),
  'offset-0xffffff00.bmp': () =>
    bmpFile({ width: 4, height: 4, bits: 24, body: new Uint8Array(52), pixelOffset: 0xffffff00 }),
  'zero-masks.bmp': () =>
    bmpFile({ width: 4, height: 4, bits: 32, compression: 3, masks: [0, 0, 0], body: new Uint8Array(64) }),
  'palette-at-300.tga': () =>
    tgaFile({
      width: 2,
      height: 2,
      type: 1,
      depth: 8,
      map: { start: 300, length: 4, depth: 24 },
      body: new Uint8Array(16),
    }),
  'token-900k.pgm': () => netpbmFile(`P2 1 1 255\n${'7'.repeat(900_000)}\n`),
  'bits-1m-no-space.pbm': () => netpbmFile(`P1 1000 1000\n${'1'.repeat(1_000_000)}`),
  'plain-4000x4000.pgm': () => netpbmFile('P2 4000 4000 255\n1 2 3\n'),
  'laughs.svg': () =>
    `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&c;</text></svg>`,
};

async function main(): Promise<void> {
  const result = startResult('hostile', { versions: { libvips: sharp.versions.vips } });
  const rows: Row[] = [];
  const good = path.join(work, 'good');
  for (const cls of ['ants', 'bees'])
    for (let i = 0; i < 3; i++) {
      mkdirSync(path.join(good, cls), { recursive: true });
      writeFileSync(path.join(good, cls, `${i}.png`), await png(i + (cls === 'bees' ? 3 : 0)));
    }
  const out = path.join(work, 'out');
  const trained = timed(['run', '--data', good, '--out', out, '--models-dir', MODELS]);
  if (trained.status !== 0) throw new Error(`could not train the reference head: ${trained.stderr}`);

  const files = path.join(work, 'files');
  mkdirSync(files);
  for (const [name, make] of Object.entries(images)) writeFileSync(path.join(files, name), make());
  writeFileSync(path.join(work, 'secret'), 'top-secret\n');
  symlinkSync(path.join(work, 'secret'), path.join(files, 'link-out.jpg'));
  writeFileSync(path.join(files, 'sparse-3g.jpg'), '');
  truncateSync(path.join(files, 'sparse-3g.jpg'), 3 * 2 ** 30);
  spawnSync('mkfifo', [path.join(files, 'fifo.jpg')]);

  for (const name of [...Object.keys(images), 'link-out.jpg', 'sparse-3g.jpg', 'fifo.jpg']) {
    const file = path.join(files, name);
    const bytes = name === 'fifo.jpg' ? 0 : statSync(file).size;
    // extract: the good dataset with this one file beside the good ants (a copy of the link or FIFO itself).
    const data = path.join(work, 'data', name);
    mkdirSync(path.join(data, 'ants'), { recursive: true });
    mkdirSync(path.join(data, 'bees'), { recursive: true });
    for (const cls of ['ants', 'bees'])
      for (let i = 0; i < 3; i++) symlinkSync(path.join(good, cls, `${i}.png`), path.join(data, cls, `${i}.png`));
    if (name === 'link-out.jpg') symlinkSync(path.join(work, 'secret'), path.join(data, 'ants', name));
    else if (name === 'fifo.jpg') spawnSync('mkfifo', [path.join(data, 'ants', name)]);
    else if (name === 'sparse-3g.jpg') {
      writeFileSync(path.join(data, 'ants', name), '');
      truncateSync(path.join(data, 'ants', name), 3 * 2 ** 30);
    } else writeFileSync(path.join(data, 'ants', name), readFileSync(file));
    const ex = timed(['extract', '--data', data, '--out', path.join(work, 'x', name), '--models-dir', MODELS]);
    const rejects = (() => {
      try {
        return JSON.parse(readFileSync(path.join(work, 'x', name, 'rejects.json'), 'utf8')) as unknown;
      } catch {
        return undefined;
      }
    })();
    const list = (
      Array.isArray(rejects) ? rejects : ((rejects as { rejects?: unknown[] } | undefined)?.rejects ?? [])
    ) as Array<{
      key: string;
      kind: string;
    }>;
    const kind = list.find((r) => r.key.endsWith(name))?.kind;
    rows.push({
      command: 'extract',
      input: name,
      bytes,
      exit: ex.status,
      outcome: kind ? `reject: ${kind}` : ex.status === 0 ? 'embedded' : message(ex.stderr),
      rssMiB: ex.rssMiB,
      seconds: ex.seconds,
    });
    // predict: the file alone.
    const pr = timed(['predict', '--out', out, '--models-dir', MODELS, '--json', file]);
    let outcome = message(pr.stderr);
    try {
      const printed = JSON.parse(pr.stdout) as
        Array<{ error?: { kind: string } }> | { predictions: Array<{ error?: { kind: string } }> };
      const first = Array.isArray(printed) ? printed[0] : printed.predictions[0];
      outcome = first?.error ? `reject: ${first.error.kind}` : 'classified';
    } catch {
      // not JSON: the message above
    }
    rows.push({
      command: 'predict',
      input: name,
      bytes,
      exit: pr.status,
      outcome,
      rssMiB: pr.rssMiB,
      seconds: pr.seconds,
    });
  }

  const codes = path.join(work, 'X.npy');
  writeFileSync(codes, encodeNpy(new Float32Array(40), [10, 4]));
  const npy = npyWith;
  const labelCases: Record<string, Uint8Array> = {
    'label-2^31-1.npy': encodeNpy(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 2 ** 31 - 1]), [10]),
    'int64-2^32+1.npy': npy(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }",
      new Uint8Array(BigInt64Array.from([0n, 1n, 0n, 1n, 0n, 1n, 0n, 1n, 0n, 2n ** 32n + 1n]).buffer),
    ),
    'shape-repeated.npy': npy(
      "{'descr': '<i4', 'fortran_order': False, 'shape': (10,), 'shape': (99,), }",
      new Uint8Array(40),
    ),
    'header-64k.npy': npy(
      `{'descr': '<i4', 'fortran_order': False, 'shape': (10,), '${'x'.repeat(60_000)}': 1}`,
      new Uint8Array(40),
    ),
  };
  const codeCases: Record<string, Uint8Array> = {
    'fortran-order-1.npy': npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (10, 4), }", new Uint8Array(160)),
    'rows-negative.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-10, 4), }", new Uint8Array(160)),
    'rows-20.5.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (20.5, 4), }", new Uint8Array(160)),
  };
  const labels = path.join(work, 'y.npy');
  writeFileSync(labels, encodeNpy(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), [10]));
  const trainCodes = (name: string, c: string, l: string, bytes: number) => {
    const r = timed(['train', '--codes', c, '--labels', l, '--out', path.join(work, 't', name)]);
    rows.push({
      command: 'train --codes',
      input: name,
      bytes,
      exit: r.status,
      outcome: message(r.stderr) || 'trained',
      rssMiB: r.rssMiB,
      seconds: r.seconds,
    });
  };
  for (const [name, bytes] of Object.entries(labelCases)) {
    writeFileSync(path.join(work, name), bytes);
    trainCodes(name, codes, path.join(work, name), bytes.length);
  }
  for (const [name, bytes] of Object.entries(codeCases)) {
    writeFileSync(path.join(work, name), bytes);
    trainCodes(name, path.join(work, name), labels, bytes.length);
  }
  spawnSync('mkfifo', [path.join(work, 'fifo.npy')]);
  trainCodes('fifo.npy (labels)', codes, path.join(work, 'fifo.npy'), 0);

  console.log('| command | input | bytes | exit | outcome | peak RSS MiB | s |\n|---|---|---:|---:|---|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.command} | ${r.input} | ${r.bytes} | ${r.exit} | ${r.outcome.replaceAll('|', '/')} | ${r.rssMiB} | ${r.seconds.toFixed(2)} |`,
    );
  const small = rows.filter((r) => r.bytes <= 2 ** 20);
  const worst = { rssMiB: Math.max(...small.map((r) => r.rssMiB)), seconds: Math.max(...small.map((r) => r.seconds)) };
  const bad = rows.filter((r) => r.exit === null || r.exit === 1 || (r.exit !== 0 && ![2, 3, 4].includes(r.exit)));
  console.log(
    `\ninputs ≤ 1 MB: worst peak RSS ${worst.rssMiB} MiB, worst wall ${worst.seconds.toFixed(2)} s; exit 1 or hang: ${bad.length}`,
  );
  console.log(`wrote ${result.save({ worstUpTo1MB: worst, rows })}`);
  rmSync(work, { recursive: true, force: true });
}

await main();
