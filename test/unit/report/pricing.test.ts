import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateCosts, PRICE_TABLE, type PriceTable } from '../../../core/report/pricing.js';

const table: PriceTable = {
  asOf: 'test',
  region: 'test-region',
  source: 'none',
  options: [
    { name: 'four cores at $3.60/h', vcpus: 4, usdPerHour: 3.6 },
    {
      name: 'lambda, 1 vCPU',
      vcpus: 1,
      lambda: { usdPerGbSecond: 0.00001, memoryGb: 2, usdPerMillionRequests: 0.2, imagesPerRequest: 100 },
    },
  ],
};

test('throughput scales with vCPUs and the cost of 1 000 images follows from the hourly price', () => {
  const costs = estimateCosts(20, 2, table)!;
  assert.equal(costs.perVcpuImagesPerSecond, 10);
  const [instance, lambda] = costs.rows;
  assert.equal(instance!.imagesPerSecond, 40);
  // 1 000 images at 40/s = 25 s = 1/144 h at $3.60/h.
  assert.ok(Math.abs(instance!.usdPer1000 - 3.6 / 144) < 1e-12);
  // 100 s × 2 GB × $0.00001 + 10 requests × $0.2 per million.
  assert.ok(Math.abs(lambda!.usdPer1000 - (100 * 2 * 0.00001 + 10 * 0.2e-6)) < 1e-12);
  assert.match(costs.assumption, /estimate, not a quote/);
  assert.match(costs.assumption, /20\.0 images\/s on 2 CPUs/);
});

test('no measured throughput (everything cached) means no estimate rather than a made-up one', () => {
  assert.equal(estimateCosts(0, 2), undefined);
  assert.equal(estimateCosts(Number.NaN, 2), undefined);
});

test('the shipped table is dated, names its region and gives every option a price', () => {
  assert.ok(PRICE_TABLE.asOf && PRICE_TABLE.region && PRICE_TABLE.source.startsWith('https://'));
  for (const o of PRICE_TABLE.options) assert.ok((o.usdPerHour ?? 0) > 0 || o.lambda, o.name);
});
