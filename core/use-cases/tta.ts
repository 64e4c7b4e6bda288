import { namespaceOf } from '../features/feature-store.js';
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

/**
 * The model as a head was trained on it: a head trained on mirror-averaged codes (--tta flip) is fed the same kind of
 * code. Its namespace says which: the flipped descriptor's namespace for the head's layer is the head's own.
 */
export function modelForHead(model: RegisteredModel, head: { layer: string; namespace: string }): RegisteredModel {
  const flipped = withTta(model, 'flip');
  return namespaceOf(flipped.descriptor, head.layer).id === head.namespace ? flipped : model;
}
