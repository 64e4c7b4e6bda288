/**
 * Where each artefact lives inside a workspace (a folder or an S3 prefix). Every reader and writer takes its key from
 * here, so a rename happens once. (manifest.json's key and reader belong to the code-cache index.)
 */
export const HEAD_KEY = 'head.json';
export const METRICS_KEY = 'metrics.json';
export const REPORT_KEY = 'report.md';
export const HTML_REPORT_KEY = 'report.html';

/** A head kept by its cache key, so a re-run with the same inputs reuses it instead of refitting. */
export const cachedHeadKey = (cacheKey: string): string => `heads/${cacheKey}.json`;
