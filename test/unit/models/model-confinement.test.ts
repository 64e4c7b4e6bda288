import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { OnnxBackbone } from '../../../core/backbone/onnx-backbone.js';
import { CnnCodesError, ConfigError, DataError, ModelError } from '../../../core/errors.js';
import { BUILTIN_MODELS } from '../../../core/models/builtin.js';
import { parseDescriptor, type ModelDescriptor } from '../../../core/models/descriptor.js';
import { ModelRegistry, resolveModelFile } from '../../../core/models/registry.js';
import { decodeToRgb } from '../../../core/image/preprocess.js';
import { parseHeadArtefact } from '../../../core/workspace/head-artefact.js';
import { headFileExample } from '../../helpers/hostile-files.js';
import { png } from '../../helpers/image-fixtures.js';
import { MODELS_DIR, withTempDir } from '../../helpers/paths.js';

const mobilenet = BUILTIN_MODELS.find((d) => d.name === 'mobilenetv2-12-int8')!;
const SECRET = 'root:x:0:0:root:/root:/bin/bash\nsecret line two\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function withFields(fields: Record<string, unknown>): unknown {
  return { ...structuredClone(mobilenet), ...fields };
}

test('D6: a descriptor\'s "file" is a relative path inside its folder: no "..", no absolute path', () => {
  for (const file of ['../../x.onnx', '../../../etc/passwd', '/etc/passwd', 'a/../../b.onnx', './', 'a\\..\\b'])
    assert.throws(
      () => parseDescriptor(withFields({ file, url: 'http://127.0.0.1:9/x.onnx' })),
      (err: unknown) => err instanceof ConfigError && /"file" must be a relative path/.test(err.message),
      file,
    );
  assert.equal(parseDescriptor(withFields({ file: 'sub/model.onnx' })).file, 'sub/model.onnx');
});

test('D6: a model file that is a symlink out of its folder is refused, and its hash is not shown', () =>
  withTempDir(async (dir) => {
    const outside = path.join(dir, 'outside.txt');
    await writeFile(outside, SECRET);
    const home = path.join(dir, 'home');
    await mkdir(home);
    await symlink(outside, path.join(home, 'm.onnx'));
    const descriptor = parseDescriptor(withFields({ file: 'm.onnx', sha256: '0'.repeat(64) })) as ModelDescriptor;
    await assert.rejects(
      resolveModelFile({ descriptor, home }, { modelsDirs: [], allowDownload: false }),
      (err: unknown) =>
        err instanceof ModelError && /leaves its folder/.test(err.message) && !err.message.includes(sha(SECRET)),
    );
  }));

test('D6: a descriptor that is not JSON (a symlink to /etc/passwd) is named, never echoed', () =>
  withTempDir(async (dir) => {
    const outside = path.join(dir, 'passwd');
    await writeFile(outside, SECRET);
    const link = path.join(dir, 'model.json');
    await symlink(outside, link);
    await assert.rejects(new ModelRegistry().registerFile(link), (err: unknown) => {
      assert.ok(err instanceof CnnCodesError, String(err));
      assert.match(err.message, /model descriptor .*model\.json is not valid JSON/);
      assert.ok(!/root|secret/.test(err.message), err.message);
      return true;
    });
  }));

test('D6, D12: head.json names a model, not a path, and names as many classes as its head has', () => {
  const head = headFileExample() as ReturnType<typeof headFileExample> & { head: Record<string, unknown> };
  assert.equal(parseHeadArtefact(structuredClone(head), 'h.json').model.name, 'mobilenetv2-12-int8');
  for (const name of ['../../tmp/evil.json', '/etc/x.json', 'x/y.json'])
    assert.throws(
      () => parseHeadArtefact({ ...structuredClone(head), model: { name, sha256: 'a'.repeat(64) } }, 'h.json'),
      (err: unknown) => err instanceof DataError && /must be a model name/.test(err.message),
    );
  assert.throws(
    () => parseHeadArtefact({ ...structuredClone(head), head: { ...head.head, nClasses: 3 } }, 'h.json'),
    (err: unknown) => err instanceof DataError && /3 classes but "classes" names 2/.test(err.message),
  );
});

test('D7: input size is bounded, and a cut point whose dim disagrees with the graph is a ModelError', async () => {
  assert.throws(
    () => parseDescriptor(withFields({ input: { ...mobilenet.input, size: [8000, 8000] } })),
    /"input.size" may be at most 1024×1024/,
  );
  const wrong = {
    ...structuredClone(mobilenet),
    cutPoints: { ...mobilenet.cutPoints, final: { ...mobilenet.cutPoints.final!, dim: 7 } },
  };
  const backbone = await OnnxBackbone.create(await readFile(path.join(MODELS_DIR, wrong.name, wrong.file)), wrong, [
    'final',
  ]);
  try {
    const crop = await decodeToRgb(await png(300, 260), wrong.preprocess);
    await assert.rejects(
      backbone.embed([crop, crop]),
      (err: unknown) => err instanceof ModelError && /declares dim 7, but the graph gives 1280/.test(err.message),
    );
  } finally {
    await backbone.dispose();
  }
});
