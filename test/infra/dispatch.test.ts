import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  dispatchWorkers,
  parsePools,
  type DispatchPorts,
  type JobSubmission,
  type WorkerPool,
} from '../../functions/dispatch/dispatch.js';
import { arraySizeFor, MAX_ARRAY_SIZE, workersToAdd } from '../../functions/dispatch/dispatch.js';

describe('sizing', () => {
  const load = { backlog: 0, active: 0, messagesPerWorker: 500, maxWorkers: 4 };

  test('one worker per messagesPerWorker of backlog, rounded up, capped, minus those already running', () => {
    assert.equal(workersToAdd({ ...load, backlog: 0 }), 0);
    assert.equal(workersToAdd({ ...load, backlog: 1 }), 1);
    assert.equal(workersToAdd({ ...load, backlog: 500 }), 1);
    assert.equal(workersToAdd({ ...load, backlog: 501 }), 2);
    assert.equal(workersToAdd({ ...load, backlog: 1_000_000 }), 4);
    assert.equal(workersToAdd({ ...load, backlog: 1_000_000, active: 3 }), 1);
    assert.equal(workersToAdd({ ...load, backlog: 501, active: 3 }), 0);
  });

  test('an array job for two or more workers, a plain job for one, nothing out of Batch range', () => {
    assert.equal(arraySizeFor(1), undefined);
    assert.equal(arraySizeFor(2), 2);
    assert.equal(arraySizeFor(MAX_ARRAY_SIZE), MAX_ARRAY_SIZE);
    for (const bad of [0, -1, 1.5, MAX_ARRAY_SIZE + 1]) assert.throws(() => arraySizeFor(bad), RangeError);
  });
});

describe('dispatchWorkers', () => {
  const pool = (name: string, extra: Partial<WorkerPool> = {}): WorkerPool => ({
    name,
    queueUrl: `https://sqs/${name}`,
    jobQueue: 'arn:jq',
    jobDefinition: `arn:jd/${name}`,
    jobName: `job-${name}`,
    messagesPerWorker: 10,
    maxWorkers: 5,
    ...extra,
  });

  function fakePorts(backlogs: Record<string, number>, active: Record<string, number> = {}, failSubmitFor?: string) {
    const submitted: JobSubmission[] = [];
    const listed: string[] = [];
    const ports: DispatchPorts = {
      backlog: async (url) => backlogs[url] ?? 0,
      activeWorkers: async (_queue, jobName) => {
        listed.push(jobName);
        return active[jobName] ?? 0;
      },
      submit: async (job) => {
        if (job.jobName === failSubmitFor) throw new Error('Batch said no');
        submitted.push(job);
        return `id-${submitted.length}`;
      },
    };
    return { ports, submitted, listed };
  }

  test('tops each pool up to its backlog with one submission', async () => {
    const { ports, submitted } = fakePorts(
      { 'https://sqs/extract': 35, 'https://sqs/fine-tune': 1 },
      { 'job-extract': 1 },
    );
    const result = await dispatchWorkers(
      [pool('extract'), pool('fine-tune', { messagesPerWorker: 1, maxWorkers: 1 })],
      ports,
    );
    assert.deepEqual(submitted, [
      { jobName: 'job-extract', jobQueue: 'arn:jq', jobDefinition: 'arn:jd/extract', arraySize: 3 },
      { jobName: 'job-fine-tune', jobQueue: 'arn:jq', jobDefinition: 'arn:jd/fine-tune' },
    ]);
    assert.deepEqual(
      result.map((r) => [r.pool, r.backlog, r.active, r.added]),
      [
        ['extract', 35, 1, 3],
        ['fine-tune', 1, 0, 1],
      ],
    );
  });

  test('an empty queue costs no Batch call; a full pool submits nothing', async () => {
    const { ports, submitted, listed } = fakePorts({ 'https://sqs/busy': 50 }, { 'job-busy': 5 });
    const result = await dispatchWorkers([pool('idle'), pool('busy')], ports);
    assert.deepEqual(listed, ['job-busy']);
    assert.deepEqual(submitted, []);
    assert.deepEqual(
      result.map((r) => r.added),
      [0, 0],
    );
  });

  test('one pool failing does not stop the other, and the error names it', async () => {
    const { ports, submitted } = fakePorts({ 'https://sqs/a': 5, 'https://sqs/b': 5 }, {}, 'job-a');
    await assert.rejects(dispatchWorkers([pool('a'), pool('b')], ports), (err: AggregateError) => {
      assert.match(err.message, /dispatch failed for a$/);
      assert.match(String(err.errors[0]), /Batch said no/);
      return true;
    });
    assert.deepEqual(
      submitted.map((s) => s.jobName),
      ['job-b'],
    );
  });
});

describe('parsePools', () => {
  const valid = {
    name: 'extract',
    queueUrl: 'u',
    jobQueue: 'q',
    jobDefinition: 'd',
    jobName: 'n',
    messagesPerWorker: 500,
    maxWorkers: 4,
  };

  test('reads what the stack writes', () => {
    assert.deepEqual(parsePools(JSON.stringify([valid])), [valid]);
  });

  test('names the variable or the field that is wrong', () => {
    assert.throws(() => parsePools(undefined), /CNN_CODES_DISPATCH_POOLS is not set/);
    assert.throws(() => parsePools('{}'), /expected a JSON array/);
    assert.throws(() => parsePools(JSON.stringify([valid, { ...valid, maxWorkers: 0 }])), /\[1\]\.maxWorkers/);
    assert.throws(() => parsePools(JSON.stringify([{ ...valid, queueUrl: '' }])), /\[0\]\.queueUrl/);
  });
});
