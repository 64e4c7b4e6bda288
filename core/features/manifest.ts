/**
 * What one extraction of one dataset produced: for every image, where its codes are (per cut point), or why it was
 * rejected. Heads and evaluation read only this and the shards, never the images. The types are derived from
 * manifest.json's schema (core/workspace/manifest-artefact.ts), so what is read and what is declared cannot drift.
 */
export type { Manifest, ManifestEntry, RejectRecord } from '../workspace/manifest-artefact.js';

export const MANIFEST_KEY = 'manifest.json';
export const REJECTS_KEY = 'rejects.json';
