import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, truncateSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { BUILTIN_MODELS } from '../../core/models/builtin.js';
import { encodeNpy } from '../../core/features/npy.js';
import { netpbmFile, rle8Bomb } from '../helpers/hostile-files.js';
import { MODELS_DIR, REPO_ROOT, withTempDir } from '../helpers/paths.js';

/**
 * Issue 23's hostile inputs through the real binary: every one ends in exit 0 with rejects of a named kind, or exit
 * 2/3/4 with a message; never exit 1, a stack trace, a hang or a byte of another file. Peak RSS and wall time of each
 * run are measured with /usr/bin/time -v where the machine has it.
 */
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const SECRET = 'top-secret-shadow-line';

interface Run {
  r: SpawnSyncReturns<string>;
  rssMiB?: number;
  seconds: number;
}

function cli(args: string[], timeoutMs = 120_000): Run {
  const started = Date.now();
  const r = TIME
    ? spawnSync(TIME, ['-v', process.execPath, BIN, ...args], { encoding: 'utf8', timeout: timeoutMs })
    : spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
  return { r, seconds: (Date.now() - started) / 1000, ...(kb ? { rssMiB: Number(kb) / 1024 } : {}) };
}

function assertHandled({ r }: Run, codes: number[]): void {
  assert.equal(r.error, undefined, `did not finish: ${String(r.error)}`);
  assert.ok(codes.includes(r.status!), `exit ${r.status}: ${r.stderr.slice(-2000)}`);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
}

const mkfifo = (file: string) => spawnSync('mkfifo', [file]).status === 0;

test('D9, D10, D12: a hostile dataset lists and extracts with rejects of named kinds, within 256 MiB and 5 s an image', () =>
  withTempDir(async (dir) => {
    const data = path.join(dir, 'data');
    const outside = path.join(dir, 'shadow');
    writeFileSync(outside, `${SECRET}\n`);
    for (const split of ['train', 'val'])
      for (const cls of ['ants', 'bees']) mkdirSync(path.join(data, split, cls), { recursive: true });
    const png = (seed: number) =>
      sharp({ create: { width: 64 + seed, height: 48, channels: 3, background: { r: seed * 40, g: 90, b: 30 } } })
        .png()
        .toBuffer();
    for (let i = 0; i < 3; i++) {
      writeFileSync(path.join(data, 'train', 'ants', `a${i}.png`), await png(i));
      writeFileSync(path.join(data, 'train', 'bees', `b${i}.png`), await png(i + 3));
    }
    writeFileSync(path.join(data, 'val', 'ants', 'a.png'), await png(1));
    writeFileSync(path.join(data, 'val', 'bees', 'b.png'), await png(4));
    // The hostile ones.
    writeFileSync(path.join(data, 'val', 'ants', 'bomb.bmp'), rle8Bomb(10_000, 10_000));
    writeFileSync(path.join(data, 'val', 'ants', 'bomb2.bmp'), rle8Bomb(2_000, 2_000));
    writeFileSync(path.join(data, 'val', 'bees', 'token.pgm'), netpbmFile(`P2 1 1 255\n${'7'.repeat(900_000)}\n`));
    writeFileSync(
      path.join(data, 'val', 'bees', 'laughs.svg'),
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    );
    symlinkSync(outside, path.join(data, 'train', 'ants', 'shadow.jpg'));
    symlinkSync('/', path.join(data, 'train', 'bees', 'root'));
    for (const name of [
      [0x62, 0xff, 0x2e, 0x70, 0x6e, 0x67],
      [0x63, 0xfe, 0x2e, 0x70, 0x6e, 0x67],
    ])
      writeFileSync(
        Buffer.concat([Buffer.from(path.join(data, 'train', 'bees') + '/'), Buffer.from(name)]),
        await png(2),
      );
    const fifo = mkfifo(path.join(data, 'train', 'ants', 'pipe.jpg'));
    // A 3 GiB sparse file: read whole before sniffing, it cost 5.9 GB (and its read error left the pool open).
    writeFileSync(path.join(data, 'val', 'bees', 'sparse.jpg'), '');
    truncateSync(path.join(data, 'val', 'bees', 'sparse.jpg'), 3 * 2 ** 30);

    const out = path.join(dir, 'out');
    const run = cli(['extract', '--data', data, '--out', out, '--models-dir', MODELS_DIR, '--json']);
    assertHandled(run, [0]);
    const rejects = JSON.parse(readFileSync(path.join(out, 'rejects.json'), 'utf8')) as unknown;
    const text = JSON.stringify(rejects);
    assert.ok(!text.includes(SECRET), 'no byte of the linked file');
    const kinds =
      (rejects as { rejects?: Array<{ key: string; kind: string }> }).rejects ??
      (rejects as Array<{ key: string; kind: string }>);
    const kindOf = (name: string) => kinds.find((k) => k.key.endsWith(name))?.kind;
    assert.equal(kindOf('bomb.bmp'), 'too-large');
    assert.equal(kindOf('bomb2.bmp'), 'truncated');
    assert.equal(kindOf('token.pgm'), 'decode-failed');
    assert.equal(kindOf('laughs.svg'), 'unsupported-format');
    assert.equal(kindOf('sparse.jpg'), 'too-large');
    assert.equal(kindOf('shadow.jpg'), 'outside-root');
    assert.equal(kindOf('root'), 'outside-root');
    assert.equal(
      kinds.filter((k) => k.kind === 'unreadable' && /\.png$/.test(k.key)).length,
      2,
      'both non-UTF-8 names',
    );
    if (fifo) assert.equal(kindOf('pipe.jpg'), 'unreadable');
    if (run.rssMiB !== undefined) assert.ok(run.rssMiB < 256, `peak ${run.rssMiB} MiB`);
    console.log(`hostile extract: ${run.seconds.toFixed(1)} s, peak RSS ${run.rssMiB?.toFixed(0) ?? '?'} MiB`);
  }));

test('D8: an error while dispatching work (a descriptor whose layout the graph refuses) exits with its code, promptly', () =>
  withTempDir(async (dir) => {
    const data = path.join(dir, 'data');
    for (const cls of ['ants', 'bees']) {
      mkdirSync(path.join(data, cls), { recursive: true });
      for (let i = 0; i < 6; i++)
        writeFileSync(
          path.join(data, cls, `${i}.png`),
          await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: i * 30, g: 9, b: 70 } } })
            .png()
            .toBuffer(),
        );
    }
    const mobilenet = BUILTIN_MODELS.find((d) => d.name === 'mobilenetv2-12-int8')!;
    const models = path.join(dir, 'models', 'broken');
    mkdirSync(models, { recursive: true });
    copyFileSync(path.join(MODELS_DIR, mobilenet.name, mobilenet.file), path.join(models, mobilenet.file));
    const descriptor = path.join(models, 'broken.json');
    writeFileSync(
      descriptor,
      JSON.stringify({ ...mobilenet, name: 'broken', input: { ...mobilenet.input, layout: 'NHWC' } }),
    );
    // Batches of 2, so the failure of the first batch is met while later images are still being admitted.
    const run = cli(
      ['extract', '--data', data, '--out', path.join(dir, 'out'), '--model', descriptor, '--batch-size', '2'],
      20_000,
    );
    assertHandled(run, [2, 3, 4]);
    console.log(
      `D8 run: exit ${run.r.status} in ${run.seconds.toFixed(1)} s: ${run.r.stderr.split('\n').find((l) => l.startsWith('cnn-codes'))}`,
    );
    assert.ok(run.seconds < 30, `${run.seconds} s`);
    assert.match(run.r.stderr, /cnn-codes: error: /);
  }));

test('D3, D12: train --codes with hostile labels (2³¹−1, a FIFO) exits 3 with a message, promptly', () =>
  withTempDir(async (dir) => {
    const codes = path.join(dir, 'X.npy');
    const labels = path.join(dir, 'y.npy');
    writeFileSync(codes, encodeNpy(new Float32Array(40), [10, 4]));
    writeFileSync(labels, encodeNpy(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1, 0, 2 ** 31 - 1]), [10]));
    const run = cli(['train', '--codes', codes, '--labels', labels, '--out', path.join(dir, 'o')]);
    assertHandled(run, [3]);
    assert.match(run.r.stderr, /2147483648 classes, more than the 10 rows/);
    if (run.rssMiB !== undefined) assert.ok(run.rssMiB < 256, `peak ${run.rssMiB} MiB`);
    const pipe = path.join(dir, 'pipe.npy');
    if (mkfifo(pipe)) {
      const fromFifo = cli(['train', '--codes', codes, '--labels', pipe, '--out', path.join(dir, 'o')], 30_000);
      assertHandled(fromFifo, [3]);
      assert.match(fromFifo.r.stderr, /not a regular file/);
    }
  }));
