import type { EmbedFailure } from '../ports/embedder.js';
import type { CodeLocation } from './feature-store.js';

/**
 * What one extraction of one dataset produced: for every image, where its codes are (per cut point), or why it was
 * rejected. Heads and evaluation read only this and the shards, never the images.
 */
export interface Manifest {
  version: 1;
  dataset: string;
  model: { name: string; sha256: string };
  classes: string[];
  splitSynthesized: boolean;
  /** Cut point → feature-store namespace id. */
  namespaces: Record<string, { id: string; dim: number }>;
  entries: ManifestEntry[];
  rejects: RejectRecord[];
  ignored: Array<{ key: string; reason: string }>;
}

export interface ManifestEntry {
  key: string;
  split: string;
  label: number;
  contentHash: string;
  codes: Record<string, CodeLocation>;
}

export interface RejectRecord extends EmbedFailure {
  key: string;
  split: string;
  label: number;
  contentHash: string;
}

export const MANIFEST_KEY = 'manifest.json';
export const REJECTS_KEY = 'rejects.json';
