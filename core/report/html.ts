import { page } from './html-layout.js';
import { codeMap, dataQuality } from './html-quality.js';
import {
  dataset,
  footer,
  headline,
  misclassified,
  results,
  selection,
  timingsAndCost,
  type HtmlReportInput,
} from './html-sections.js';

export type { HtmlReportInput } from './html-sections.js';

/**
 * One self-contained HTML file. Order follows a reader's questions: how good is it, where does it fail, why this
 * model, what data, what it costs.
 */
export function renderHtmlReport(input: HtmlReportInput): string {
  const body = [
    headline(input),
    results(input),
    misclassified(input),
    dataQuality(input),
    codeMap(input),
    selection(input),
    dataset(input),
    timingsAndCost(input),
    footer(input),
  ].join('\n');
  return page(
    `cnn-codes report: ${(input.evaluation.metrics.accuracy * 100).toFixed(1)} % on ${input.evaluation.split}`,
    body,
  );
}
