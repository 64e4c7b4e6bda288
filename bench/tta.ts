/**
 * Test-time augmentation (`--tta flip`: the mean code of each image and its horizontal mirror) against plain codes,
 * through the real binary, on hymenoptera and on a domain far from ImageNet: synthetic textures, generated here
 * deterministically (seeded): 4 classes (stripes at any angle, rotated checkerboards, dot lattices, smoothed noise
 * blobs), random colours and scales, 60 train + 30 val per class, 128×128 PNG. For each: CV accuracy on train (what
 * decides a default) and val accuracy of the chosen head, plus extraction time.
 *
 *   node dist/bench/tta.js [--data DIR]
 *
 * Writes bench/results/tta.json (bench/results-file.ts), rendered into docs/data-quality.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { mulberry32 } from '../core/heads/prng.js';
import { HYMENOPTERA, REPO_ROOT } from '../test/helpers/paths.js';
import { startResult } from './results-file.js';

const { values } = parseArgs({ options: { data: { type: 'string', default: HYMENOPTERA } } });
const BIN = path.join(REPO_ROOT, 'bin', 'cnn-codes.js');
const SIZE = 128;
/** Synthetic textures per class and split. */
const TEXTURES_PER_CLASS = { train: 60, val: 30 } as const;

type Painter = (x: number, y: number) => number;

function texture(kind: number, random: () => number): Painter {
  const angle = random() * Math.PI;
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  const scale = 6 + random() * 14;
  if (kind === 0) return (x, y) => (Math.sin(((x * c + y * s) / scale) * 2 * Math.PI) > 0 ? 1 : 0);
  if (kind === 1)
    return (x, y) => ((Math.floor((x * c + y * s) / scale) + Math.floor((-x * s + y * c) / scale)) % 2 === 0 ? 1 : 0);
  if (kind === 2) {
    const radius = scale * (0.2 + 0.2 * random());
    return (x, y) => {
      const u = ((((x * c + y * s) % scale) + scale) % scale) - scale / 2;
      const v = ((((-x * s + y * c) % scale) + scale) % scale) - scale / 2;
      return u * u + v * v < radius * radius ? 1 : 0;
    };
  }
  // Smoothed noise: a sum of a few random low-frequency waves, thresholded.
  const waves = Array.from({ length: 6 }, () => ({
    fx: (random() - 0.5) / scale,
    fy: (random() - 0.5) / scale,
    phase: random() * 7,
  }));
  return (x, y) =>
    waves.reduce((sum, w) => sum + Math.sin(2 * Math.PI * (w.fx * x + w.fy * y) + w.phase), 0) > 0 ? 1 : 0;
}

async function writeTextures(root: string): Promise<void> {
  const random = mulberry32(11);
  const names = ['stripes', 'checks', 'dots', 'blobs'];
  for (const [split, count] of Object.entries(TEXTURES_PER_CLASS)) {
    for (const [kind, name] of names.entries()) {
      const dir = path.join(root, split, name);
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const paint = texture(kind, random);
        const [fg, bg] = [0, 1].map(() => [0, 1, 2].map(() => Math.floor(random() * 256)));
        const raw = Buffer.alloc(SIZE * SIZE * 3);
        for (let y = 0; y < SIZE; y++) {
          for (let x = 0; x < SIZE; x++) {
            const on = paint(x, y);
            for (let ch = 0; ch < 3; ch++) {
              const v = (on ? fg! : bg!)[ch]! + (random() - 0.5) * 40;
              raw[(y * SIZE + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)));
            }
          }
        }
        await sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } })
          .png()
          .toFile(path.join(dir, `${i}.png`));
      }
    }
  }
}

function run(data: string, out: string, tta: 'flip' | 'none') {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'run', '--data', data, '--out', out, '--tta', tta, '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as {
    extract: { seconds: number };
    head: { C: number; cv: { meanAccuracy: number; stdAccuracy: number } };
    evaluation: { metrics: { accuracy: number } };
  };
  return {
    cv: json.head.cv,
    C: json.head.C,
    val: json.evaluation.metrics.accuracy,
    extractSeconds: json.extract.seconds,
    wall: (performance.now() - started) / 1000,
  };
}

const result = startResult('tta');
const rows: Array<{ data: string; tta: 'none' | 'flip' } & ReturnType<typeof run>> = [];
const root = await mkdtemp(path.join(tmpdir(), 'cnn-codes-bench-tta-'));
try {
  const textures = path.join(root, 'textures');
  await writeTextures(textures);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(`${spawnSync('uptime', { encoding: 'utf8' }).stdout.trim()}`);
  console.log('| data | codes | CV accuracy on train (± std) | chosen C | val accuracy | extraction s |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const [name, data] of [
    ['hymenoptera', values.data!],
    ['synthetic textures', textures],
  ] as const) {
    for (const tta of ['none', 'flip'] as const) {
      const r = run(data, path.join(root, `${name}-${tta}`), tta);
      rows.push({ data: name, tta, ...r });
      console.log(
        `| ${name} | ${tta === 'flip' ? 'mean of image + mirror' : 'image'} | ${pct(r.cv.meanAccuracy)} ± ${pct(r.cv.stdAccuracy)} | ${r.C} | ${pct(r.val)} | ${r.extractSeconds.toFixed(1)} |`,
      );
    }
  }
  console.log(`written: ${result.save({ texturesPerClass: TEXTURES_PER_CLASS, size: SIZE, rows })}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
