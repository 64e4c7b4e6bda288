/**
 * The price table behind the report's "cost per 1 000 images". Edit it for your region, discounts or instance types:
 * nothing else in the code holds a price. On-demand list prices, Linux, us-east-1, as AWS published them (unchanged
 * from 2023 through 2025 when this table was written); spot prices move hourly, the figure is a typical one.
 */
export interface ComputeOption {
  name: string;
  vcpus: number;
  /** Instances: USD per hour. */
  usdPerHour?: number;
  /** Lambda: USD per GB-second, the memory configured, and USD per million requests. */
  lambda?: { usdPerGbSecond: number; memoryGb: number; usdPerMillionRequests: number; imagesPerRequest: number };
  note?: string;
}

export interface PriceTable {
  asOf: string;
  region: string;
  source: string;
  options: ComputeOption[];
}

export const PRICE_TABLE: PriceTable = {
  asOf: '2025',
  region: 'us-east-1',
  source: 'https://aws.amazon.com/ec2/pricing/on-demand/, https://aws.amazon.com/lambda/pricing/',
  options: [
    { name: 'c7i.large (CPU, on-demand)', vcpus: 2, usdPerHour: 0.08925 },
    {
      name: 'g5.xlarge (A10G GPU, on-demand)',
      vcpus: 4,
      usdPerHour: 1.006,
      note: 'GPU not credited: decoding on 4 vCPUs bounds it',
    },
    { name: 'g5.xlarge (spot, typical)', vcpus: 4, usdPerHour: 0.45, note: 'spot price varies by hour and zone' },
    {
      name: 'Lambda x86, 2 048 MB',
      // Lambda gives one vCPU per 1 769 MB.
      vcpus: 2048 / 1769,
      lambda: { usdPerGbSecond: 0.0000166667, memoryGb: 2, usdPerMillionRequests: 0.2, imagesPerRequest: 100 },
    },
  ],
};

export interface CostEstimate {
  name: string;
  imagesPerSecond: number;
  usdPer1000: number;
  note?: string;
}

export interface CostEstimates {
  perVcpuImagesPerSecond: number;
  rows: CostEstimate[];
  assumption: string;
}

/**
 * Scales the throughput measured on this host to each option by vCPU count. Extraction of small int8 backbones is
 * bound by JPEG decoding, which scales with cores, so the estimate is linear in vCPUs and ignores any GPU.
 */
export function estimateCosts(
  measuredImagesPerSecond: number,
  hostCpus: number,
  table: PriceTable = PRICE_TABLE,
): CostEstimates | undefined {
  if (!(measuredImagesPerSecond > 0) || !(hostCpus > 0)) return undefined;
  const perVcpu = measuredImagesPerSecond / hostCpus;
  const rows = table.options.map((option): CostEstimate => {
    const imagesPerSecond = perVcpu * option.vcpus;
    const seconds = 1000 / imagesPerSecond;
    const usdPer1000 = option.lambda
      ? seconds * option.lambda.memoryGb * option.lambda.usdPerGbSecond +
        (1000 / option.lambda.imagesPerRequest) * (option.lambda.usdPerMillionRequests / 1e6)
      : (seconds / 3600) * (option.usdPerHour ?? 0);
    return { name: option.name, imagesPerSecond, usdPer1000, ...(option.note ? { note: option.note } : {}) };
  });
  const assumption =
    `An estimate, not a quote: the extraction rate measured here (${measuredImagesPerSecond.toFixed(1)} images/s on ${hostCpus} CPUs, ` +
    `${perVcpu.toFixed(1)} per CPU, decoding included) scaled linearly to each option's vCPUs; ${table.region} list prices (${table.asOf}), ` +
    'no storage, transfer or idle time. Edit core/report/pricing.ts for your own prices.';
  return { perVcpuImagesPerSecond: perVcpu, rows, assumption };
}

/** Request prices (us-east-1, S3 Standard and SQS standard queues, list prices as of 2025), USD per request. */
export const REQUEST_PRICES = {
  asOf: '2025',
  source: 'https://aws.amazon.com/s3/pricing/, https://aws.amazon.com/sqs/pricing/',
  /** PUT, COPY, POST and LIST requests. */
  s3Write: 0.005 / 1000,
  /** GET, HEAD and all other requests. */
  s3Read: 0.0004 / 1000,
  /** Per request (each 64 KiB of payload counts as one), past the free tier. */
  sqs: 0.4 / 1e6,
} as const;
