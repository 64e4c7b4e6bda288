import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { OnnxBackbone } from '../../../core/backbone/onnx-backbone.js';
import { ConfigError } from '../../../core/errors.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import {
  chooseInt8Weights,
  cpuFlags,
  parseInt8WeightsSetting,
  thisCpu,
  u8s8IsExact,
} from '../../../core/models/int8-weights-choice.js';
import { preparedGraphKey } from '../../../core/models/prepared-graph-cache.js';
import { HYMENOPTERA, MODELS_DIR } from '../../helpers/paths.js';

const flags = (line: string) => cpuFlags(`processor\t: 0\nflags\t\t: ${line}\n`);

test('u8·s8 counts as exact with AVX-512 VNNI, AVX-VNNI or ARM dot product, and nowhere else', () => {
  const x64 = (line: string) => ({ arch: 'x64', platform: 'linux', flags: flags(line)! });
  assert.equal(u8s8IsExact(x64('fpu sse avx2 avx512f avx512bw avx512_vnni')), true);
  assert.equal(u8s8IsExact(x64('fpu sse avx2 avx_vnni')), true);
  assert.equal(u8s8IsExact(x64('fpu sse avx2 avx512f avx512bw')), false, 'AVX-512 without VNNI saturates too');
  assert.equal(u8s8IsExact(x64('fpu sse avx2')), false);
  assert.equal(u8s8IsExact({ arch: 'x64', platform: 'darwin' }), false, 'unknown flags: the exact-everywhere rewrite');
  const arm = cpuFlags('processor\t: 0\nFeatures\t: fp asimd aes crc32 atomics asimddp\n')!;
  assert.equal(u8s8IsExact({ arch: 'arm64', platform: 'linux', flags: arm }), true);
  assert.equal(u8s8IsExact({ arch: 'arm64', platform: 'linux', flags: new Set(['fp', 'asimd']) }), false);
  assert.equal(u8s8IsExact({ arch: 'arm64', platform: 'darwin' }), true);
  assert.equal(chooseInt8Weights('auto', x64('avx2 avx512_vnni')), 'as-shipped');
  assert.equal(chooseInt8Weights('auto', x64('avx2')), 'uint8');
  assert.equal(chooseInt8Weights('uint8', x64('avx2 avx512_vnni')), 'uint8', 'a forced setting wins');
  assert.equal(chooseInt8Weights('as-shipped', x64('avx2')), 'as-shipped');
});

test('the setting is auto, as-shipped or uint8; anything else is a ConfigError naming its source', () => {
  assert.equal(parseInt8WeightsSetting(undefined, 'X'), 'auto');
  assert.equal(parseInt8WeightsSetting('', 'X'), 'auto');
  assert.equal(parseInt8WeightsSetting('uint8', 'X'), 'uint8');
  assert.throws(
    () => parseInt8WeightsSetting('int8', 'CNN_CODES_WEIGHT_ENCODING'),
    (err: unknown) => {
      return err instanceof ConfigError && /CNN_CODES_WEIGHT_ENCODING/.test(err.message);
    },
  );
});

const d = BUILTIN_MODELS.find((m) => m.name === 'mobilenetv2-12-int8')!;

test('each encoding has its own prepared-graph key on CPU; CUDA graphs do not depend on it', () => {
  assert.notEqual(preparedGraphKey(d, ['final'], 'cpu', 'as-shipped'), preparedGraphKey(d, ['final'], 'cpu', 'uint8'));
  assert.equal(preparedGraphKey(d, ['final'], 'cuda', 'as-shipped'), preparedGraphKey(d, ['final'], 'cuda', 'uint8'));
});

/**
 * The reason 'auto' may keep the shipped weights: on a CPU where u8·s8 is exact, both encodings compute the same
 * integers, so the codes are the same bytes. On an AVX2-only CPU this would fail for 'as-shipped' (saturation), which
 * is what the test is for: it is skipped there, where 'auto' never picks it.
 */
test(
  'mobilenetv2-12-int8: codes are byte-identical with int8 weights as shipped and rewritten to uint8',
  { skip: !u8s8IsExact(thisCpu()) && 'u8·s8 is not exact on this CPU' },
  async () => {
    const bytes = await readFile(path.join(MODELS_DIR, d.name, d.file));
    const files = ['val/ants/1053149811_f62a3410d3.jpg', 'val/bees/10870992_eebeeb3a12.jpg', 'train/ants/0013035.jpg'];
    const crops = await Promise.all(
      files.map(async (f) => decodeToRgb(await readFile(path.join(HYMENOPTERA, f)), d.preprocess)),
    );
    const cuts = ['block6', 'block13', 'block17', 'final'];
    const codes: Array<Record<string, Float32Array>> = [];
    for (const int8Weights of ['as-shipped', 'uint8'] as const) {
      const backbone = await OnnxBackbone.create(bytes, d, cuts, { int8Weights });
      codes.push(await backbone.embed(crops));
      await backbone.dispose();
    }
    for (const cut of cuts) {
      const [a, b] = [codes[0]![cut]!, codes[1]![cut]!];
      assert.deepEqual(
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        cut,
      );
    }
  },
);
