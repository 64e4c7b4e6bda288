import type { ModelRegistry } from '../core/models/registry.js';
import type { ExtractSummary } from '../core/use-cases/extract.js';
import type { PredictResult } from '../core/use-cases/predict.js';
import { describeConvergence, formatC, pct } from '../core/report/numbers.js';
import type { RunResult } from '../core/use-cases/run.js';
import type { Evaluation } from '../core/workspace/evaluation.js';
import type { HeadArtefact } from '../core/workspace/head-artefact.js';
import type { VerifyReport } from '../core/use-cases/verify.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

export function printExtract(summary: ExtractSummary, out: string, json: boolean): unknown {
  if (!json) {
    say(
      `extracted ${summary.images} images in ${summary.seconds.toFixed(2)} s: ${summary.embedded} embedded, ${summary.cached} cached, ${summary.rejected} rejected`,
    );
    if (summary.repaired.length > 0)
      say(`repaired ${summary.repaired.length} damaged shards (named above): their rows were extracted again`);
    if (summary.embedded > 0) say(`throughput ${summary.imagesPerSecond.toFixed(1)} images/s`);
    say(`manifest: ${out}/manifest.json`);
  }
  return { out, extract: summary };
}

export function verifySummary(r: VerifyReport): string {
  const old = r.withoutChecksum ? `, ${r.withoutChecksum} written before checksums (size-checked only)` : '';
  return `${r.shards} shards checked, ${r.damaged.length} damaged, ${r.missingRows} manifest rows without a sound shard${old}`;
}

/** `reextracted` is set when --repair re-embedded the damaged shards' rows. */
export function printVerify(r: VerifyReport, reextracted: number | undefined, out: string, json: boolean): unknown {
  if (!json)
    say(
      reextracted === undefined
        ? `verify: clean: ${verifySummary(r)}`
        : `verify: repaired: ${verifySummary(r)}; ${reextracted} images re-extracted`,
    );
  return { out, clean: r.clean, ...(reextracted === undefined ? {} : { repaired: true, reextracted }), report: r };
}

export function printTrain(head: HeadArtefact, reused: boolean, out: string, json: boolean): unknown {
  if (!json) {
    const cv = head.cv
      ? ` (CV accuracy ${pct(head.cv.best.meanAccuracy)} ± ${(head.cv.best.stdAccuracy * 100).toFixed(1)})`
      : '';
    say(
      `head: ${head.options.kind} on ${head.layer}, C = ${formatC(head.options.C)}${cv}${reused ? ', reused from cache' : `, fitted in ${head.fitSeconds.toFixed(3)} s`}`,
    );
    say(`fit: ${describeConvergence(head.head.fit)}`);
    say(`saved: ${out}/head.json`);
  }
  return {
    out,
    head: {
      layer: head.layer,
      kind: head.options.kind,
      C: head.options.C,
      cv: head.cv?.best ?? null,
      fit: head.head.fit,
      reused,
    },
  };
}

export function printEvaluation(e: Evaluation, out: string, json: boolean): unknown {
  if (!json) {
    say(
      `${e.split}: accuracy ${pct(e.metrics.accuracy)}, balanced ${pct(e.metrics.balancedAccuracy)}, log-loss ${e.metrics.logLoss.toFixed(4)} on ${e.metrics.n} images`,
    );
    const q = e.dataQuality;
    if (q)
      say(
        `data quality: ${q.duplicateGroups} duplicate groups, ${q.leakageCount} train/held-out leaks, ${q.labelIssueCount} likely label errors (${out}/data-quality.json)`,
      );
    say(`report: ${out}/report.html (and report.md), metrics: ${out}/metrics.json`);
  }
  warnLeakage(e);
  const { predictions: _omitted, ...summary } = e;
  return { out, evaluation: summary };
}

export function printRun(r: RunResult, out: string, json: boolean): unknown {
  if (!json) {
    printExtract(r.extract, out, false);
    printTrain(r.head, r.headReused, out, false);
    printEvaluation(r.evaluation, out, false);
    if (r.evaluationReused) say('nothing changed since the last run: metrics and reports kept as they were');
    say(`done in ${r.seconds.toFixed(2)} s`);
  }
  if (json) warnLeakage(r.evaluation);
  const { predictions: _omitted, ...evaluation } = r.evaluation;
  return {
    out,
    seconds: r.seconds,
    extract: r.extract,
    head: {
      layer: r.head.layer,
      kind: r.head.options.kind,
      C: r.head.options.C,
      cv: r.head.cv?.best ?? null,
      fit: r.head.head.fit,
      reused: r.headReused,
    },
    evaluation: { ...evaluation, reused: r.evaluationReused },
  };
}

export function printPredictions(results: PredictResult[], json: boolean): unknown {
  if (!json) {
    for (const r of results) {
      if ('error' in r) say(`${r.key}\terror: ${r.error.kind}: ${r.error.message}`);
      else say(`${r.key}\t${r.top.map((t) => `${t.label} ${pct(t.probability)}`).join('\t')}`);
    }
  }
  return { predictions: results };
}

export function printModels(registry: ModelRegistry, modelsDirs: string[], json: boolean): unknown {
  const models = registry.names();
  if (!json) {
    say(`models folders: ${modelsDirs.join(', ') || '(none)'}`);
    for (const name of models) say(`  ${name}`);
  }
  return { modelsDirs, models };
}

/** On stderr even with --json (stdout then carries only the JSON document): leakage makes the accuracy optimistic. */
function warnLeakage(e: Evaluation): void {
  const q = e.dataQuality;
  if (!q || q.leakageCount === 0) return;
  const first = q.leakage[0]!;
  process.stderr.write(
    `warning: ${q.leakageCount} ${e.split} image(s) duplicate train images (leakage: the ${e.split} accuracy is optimistic), e.g. ${first.key} ≈ ${first.trainKeys[0]} (cosine ${first.cosine.toFixed(3)}); all in data-quality.json\n`,
  );
}
