import type { Manifest } from '../features/manifest.js';
import type { CodeMapFile, DataQuality } from '../quality/data-quality.js';
import type { Evaluation } from './evaluation.js';
import type { HeadArtefact } from './head-artefact.js';

/** What every report is drawn from: evaluate holds all three and hands them over; `cnn-codes report` reads them. */
export interface ReportInputs {
  manifest: Manifest;
  head: HeadArtefact;
  evaluation: Evaluation;
  /** data-quality.json and code-map.json, when the data-quality step has run. */
  quality?: DataQuality;
  codeMap?: CodeMapFile;
}
