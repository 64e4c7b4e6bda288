import { availableParallelism } from 'node:os';
import type { BlobStore } from '../ports/blob-store.js';
import { renderHtmlReport } from '../report/html.js';
import { inlineOriginals, type Thumbnails } from '../report/inline-originals.js';
import { estimateCosts, PRICE_TABLE, type PriceTable } from '../report/pricing.js';
import { readCodeMap, readDataQuality } from '../workspace/data-quality-artefact.js';
import { requireEvaluation } from '../workspace/evaluation.js';
import { requireHeadArtefact } from '../workspace/head-artefact.js';
import { HTML_REPORT_KEY } from '../workspace/keys.js';
import type { ReportInputs } from '../workspace/report-inputs.js';
import { readManifest, type ManifestEntryIndex } from '../workspace/manifest-store.js';

export interface ReportDeps {
  workspace: BlobStore;
  /** The dataset's images, for thumbnails of the misclassified ones; without it the report has none. */
  data?: BlobStore;
  /** The workspace index that holds the manifest's entries (local workspaces). */
  manifestIndex?: ManifestEntryIndex;
  /** CPUs the extraction ran on, to scale its throughput to other machines; default: this host's. */
  hostCpus?: number;
  prices?: PriceTable;
  now?: () => Date;
  /** Why report.html has no thumbnails when `data` is absent; default: how to add them (`report --data`). */
  noImagesNote?: string;
}

const MAX_THUMBNAILS = 60;
const MAX_QUALITY_THUMBNAILS = 30;
const MAX_LEAKAGE_EXAMPLES = 12;

/** The report inputs stored in a workspace (manifest, head, metrics), each read through its checked reader. */
export async function readReportInputs(
  workspace: BlobStore,
  manifestIndex?: ManifestEntryIndex,
): Promise<ReportInputs> {
  const [manifest, head, evaluation] = await Promise.all([
    readManifest(workspace, manifestIndex),
    requireHeadArtefact(workspace),
    requireEvaluation(workspace),
  ]);
  return { manifest, head, evaluation };
}

/** manifest, head and evaluation → report.html beside report.md. Pass them when they are at hand (evaluate does). */
export async function writeHtmlReport(
  deps: ReportDeps,
  given?: ReportInputs,
): Promise<{ key: string; bytes: number; thumbnails: number }> {
  const { manifest, head, evaluation, ...analysed } =
    given ?? (await readReportInputs(deps.workspace, deps.manifestIndex));
  const quality = analysed.quality ?? (await readDataQuality(deps.workspace));
  const codeMap = analysed.codeMap ?? (await readCodeMap(deps.workspace));
  const wrong = evaluation.predictions
    .filter((p) => p.predicted !== p.label)
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, MAX_THUMBNAILS)
    .map((p) => p.key);
  // The images the data-quality section shows: suspects, and leaked held-out images beside one train copy each.
  const shownByQuality = [
    ...(quality?.labelIssues.slice(0, MAX_QUALITY_THUMBNAILS).map((l) => l.key) ?? []),
    ...(quality?.leakage.slice(0, MAX_LEAKAGE_EXAMPLES).flatMap((l) => [l.key, l.trainKeys[0]!]) ?? []),
  ];
  const made = deps.data ? await thumbnailsOf(deps.data, [...new Set([...wrong, ...shownByQuality])]) : undefined;
  const thumbnailsNote = !deps.data
    ? (deps.noImagesNote ??
      'No thumbnails: this report was written without access to the images. "cnn-codes report --out DIR --data DATA" adds them.')
    : made && made.failed.length > 0
      ? `${made.failed.length} image(s) could not be made into thumbnails (first: ${made.failed[0]!.key}: ${made.failed[0]!.reason}).`
      : undefined;
  const costs = estimateCosts(
    evaluation.timings.imagesPerSecond ?? 0,
    deps.hostCpus ?? availableParallelism(),
    deps.prices ?? PRICE_TABLE,
  );
  const html = renderHtmlReport({
    manifest,
    head,
    evaluation,
    thumbnails: made?.thumbnails ?? new Map(),
    ...(thumbnailsNote ? { thumbnailsNote } : {}),
    ...(costs ? { costs } : {}),
    ...(quality ? { quality } : {}),
    ...(codeMap ? { codeMap } : {}),
    generatedAt: (deps.now ?? (() => new Date()))(),
  });
  await deps.workspace.put(HTML_REPORT_KEY, html);
  return { key: HTML_REPORT_KEY, bytes: Buffer.byteLength(html), thumbnails: made?.thumbnails.size ?? 0 };
}

/**
 * sharp is loaded only when there are images to read. A runtime without it (a Lambda bundle has no native modules)
 * inlines the original files instead, within a size budget, rather than failing the evaluation.
 */
async function thumbnailsOf(data: BlobStore, keys: string[]): Promise<Thumbnails> {
  let sharpThumbnails: typeof import('../report/html-thumbnails.js');
  try {
    sharpThumbnails = await import('../report/html-thumbnails.js');
  } catch {
    return inlineOriginals(data, keys);
  }
  return sharpThumbnails.makeThumbnails(data, keys);
}
