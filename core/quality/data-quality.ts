/**
 * `<out>/data-quality.json`: what the data looks like behind the score. Keys are the manifest's. Written by evaluate
 * (locally and in the serverless evaluate step); the train step's findings travel in head.json (`quality`).
 */
export interface DataQuality {
  /** Groups of images that are the same picture (identical bytes or near-identical codes), across all splits. */
  duplicates: string[][];
  /** Held-out images (val/test) that duplicate a train image: their score measures memory, not generalization. */
  leakage: LeakageRecord[];
  /** Train images whose label looks wrong (confident learning on out-of-fold probabilities), likeliest first. */
  labelIssues: LabelIssue[];
}

export interface LeakageRecord {
  key: string;
  split: string;
  /** The train images it duplicates. */
  trainKeys: string[];
  /** Highest cosine of codes to one of them (1 for identical bytes). */
  cosine: number;
}

export interface LabelIssue {
  key: string;
  given: string;
  /** The class the image confidently belongs to; null when it looks like none of them (an outlier). */
  suggested: string | null;
  /** p(suggested) − p(given), out of fold: higher is surer. */
  score: number;
}

/** What the train step found, stored in head.json so a reused head brings its analysis along. */
export interface TrainQuality {
  /** Cut point whose codes were compared. */
  layer: string;
  /** Cosine from which codes alone make a near duplicate (pairs without image signatures). */
  threshold: number;
  /** Near-duplicate candidates (cosine ≥ CANDIDATE_COSINE) were confirmed by the images' signatures. */
  confirmedByImage?: boolean;
  /** Duplicate groups within train (keys). */
  duplicates: string[][];
  /** Whether CV folds kept each group together (false when a class had fewer than two groups). */
  grouped: boolean;
  labelIssues: LabelIssue[];
  /** Train images left out of the final fit (`excludeSuspects`): the label issues' keys. */
  excluded: string[];
  /** Wall seconds of the near-duplicate search (streamed path; the in-memory one is part of its CV). */
  searchSeconds?: number;
  /** Wall seconds the train step spent taking the images' signatures (decoding those not cached). */
  signatureSeconds?: number;
}

export const DATA_QUALITY_KEY = 'data-quality.json';
export const CODE_MAP_KEY = 'code-map.json';

/** A 2-D map of every image's codes for the report: first two principal components. */
export interface CodeMapFile {
  layer: string;
  explained: [number, number];
  points: Array<{ key: string; split: string; label: number; x: number; y: number }>;
}

/** The quality layer: the final codes when extracted (the threshold was measured on them), else the head's. */
export function qualityLayer(namespaces: Record<string, unknown>, fallback: string): string {
  return 'final' in namespaces ? 'final' : fallback;
}
