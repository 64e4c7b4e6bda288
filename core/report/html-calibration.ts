export interface ReliabilityBin {
  /** Confidence interval [from, to). */
  from: number;
  to: number;
  count: number;
  meanConfidence: number;
  accuracy: number;
}

/**
 * Top-label reliability: predictions binned by their confidence (highest probability), each bin's accuracy against its
 * mean confidence. A calibrated model lies on the diagonal. ECE weights each bin's gap by its share of the images.
 */
export function reliability(
  predictions: ReadonlyArray<{ label: number; predicted: number; confidence: number }>,
  bins = 10,
): { bins: ReliabilityBin[]; ece: number } {
  const out: ReliabilityBin[] = Array.from({ length: bins }, (_, i) => ({
    from: i / bins,
    to: (i + 1) / bins,
    count: 0,
    meanConfidence: 0,
    accuracy: 0,
  }));
  for (const p of predictions) {
    const bin = out[Math.min(bins - 1, Math.floor(p.confidence * bins))]!;
    bin.count += 1;
    bin.meanConfidence += p.confidence;
    bin.accuracy += p.predicted === p.label ? 1 : 0;
  }
  let ece = 0;
  for (const bin of out) {
    if (bin.count === 0) continue;
    bin.meanConfidence /= bin.count;
    bin.accuracy /= bin.count;
    ece += (bin.count / Math.max(1, predictions.length)) * Math.abs(bin.accuracy - bin.meanConfidence);
  }
  return { bins: out, ece };
}
