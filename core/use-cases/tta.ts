import { namespaceOf } from '../features/feature-store.js';
import { withDecode as descriptorWithDecode, type DecodeSetting } from '../models/descriptor.js';
import type { RegisteredModel } from '../models/registry.js';

/** Test-time augmentation: 'flip' averages each image's codes with its mirror image's; 'none' turns it off. */
export type Tta = 'flip' | 'none';

/**
 * The model with test-time augmentation set as asked (undefined: as its descriptor says). It is part of the
 * preprocessing, so its codes get their own cache namespace.
 */
export function withTta(model: RegisteredModel, tta: Tta | undefined): RegisteredModel {
  if (tta === undefined) return model;
  const { tta: _given, ...preprocess } = model.descriptor.preprocess;
  return {
    ...model,
    descriptor: { ...model.descriptor, preprocess: tta === 'flip' ? { ...preprocess, tta } : preprocess },
  };
}

/** The model with JPEGs decoded as the setting says: part of the preprocessing, so the codes are cached apart. */
export function withDecode(model: RegisteredModel, decode: DecodeSetting): RegisteredModel {
  return { ...model, descriptor: descriptorWithDecode(model.descriptor, decode) };
}

/**
 * The model as a head was trained on it: a head trained on mirror-averaged codes (--tta flip), or on the other
 * decode's, is fed the same kind of code, and its namespace says which. `model` (the setting's) when none matches,
 * e.g. a head from another version of the model.
 */
export function modelForHead(model: RegisteredModel, head: { layer: string; namespace: string }): RegisteredModel {
  const otherDecode = withDecode(model, model.descriptor.preprocess.decode ? 'exact' : 'fast');
  const variants = [model, otherDecode].flatMap((m) => [m, withTta(m, 'flip')]);
  return variants.find((m) => namespaceOf(m.descriptor, head.layer).id === head.namespace) ?? model;
}
