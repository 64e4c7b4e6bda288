import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  extractConcurrency,
  runStateMachine,
  TASK_ERRORS,
  type StateMachineOptions,
} from '../../../core/use-cases/distributed/state-machine.js';
import { stateDiagram } from '../../../core/report/state-diagram.js';

const queues = {
  run: 'http://q/run',
  extract: 'http://q/extract',
  train: 'http://q/train',
  trainBatch: 'http://q/train-batch',
  evaluate: 'http://q/evaluate',
};
const emulator: StateMachineOptions = {
  target: { kind: 'emulator', queues },
  heartbeatSeconds: 30,
  maxConcurrency: 64,
  extractAttempts: 4,
};
const aws: StateMachineOptions = {
  ...emulator,
  target: {
    kind: 'aws',
    queues: { extract: queues.extract },
    functions: { plan: 'arn:fn:train-head', train: 'arn:fn:train-head', evaluate: 'arn:fn:evaluate' },
    trainJob: { queue: 'arn:jq', definition: 'arn:jd', messageVariable: 'CNN_CODES_TRAIN_MESSAGE' },
  },
};

type Any = Record<string, any>;

test('the run path: plan → Distributed Map over the S3 shard manifest → train → Choice → evaluate', () => {
  const sm = runStateMachine(emulator) as Any;
  assert.equal(sm.StartAt, 'Plan');
  const order: string[] = [];
  for (let name: string | undefined = 'Plan'; name; name = sm.States[name].Next ?? sm.States[name].Default)
    order.push(name);
  assert.deepEqual(order, ['Plan', 'Extract', 'Train', 'TrainWhere', 'Evaluate']);
  const map = sm.States.Extract;
  assert.equal(map.ItemProcessor.ProcessorConfig.Mode, 'DISTRIBUTED');
  assert.deepEqual(map.ItemReader.Parameters, {
    'Bucket.$': '$.plan.manifest.bucket',
    'Key.$': '$.plan.manifest.key',
  });
  assert.equal(map.ToleratedFailureCountPath, '$.plan.toleratedFailures');
  assert.equal('ToleratedFailurePercentage' in map, false, "moto's parser refuses 0: never set");
  const shard = map.ItemProcessor.States.ExtractShard;
  assert.equal(shard.Resource, 'arn:aws:states:::sqs:sendMessage.waitForTaskToken');
  assert.equal(shard.HeartbeatSeconds, 30);
  assert.deepEqual(shard.Parameters, {
    QueueUrl: queues.extract,
    MessageBody: { 'task.$': '$$.Task.Token', 'message.$': '$' },
  });
  const [transient, permanent] = shard.Retry;
  assert.ok(transient.ErrorEquals.includes('States.HeartbeatTimeout'), 'a killed worker: its shard is retried');
  assert.ok(transient.ErrorEquals.includes('States.Timeout'), 'moto names a lapsed heartbeat States.Timeout');
  assert.equal(transient.MaxAttempts, 3);
  assert.deepEqual([permanent.ErrorEquals, permanent.MaxAttempts], [[TASK_ERRORS.permanent], 1]);
  assert.deepEqual(sm.States.TrainWhere.Choices, [
    { Variable: '$.train.compute', StringEquals: 'batch', Next: 'TrainBatch' },
  ]);
  assert.equal(sm.States.TrainBatch.Next, 'Evaluate');
  assert.equal(sm.States.Evaluate.End, true);
  // The evaluate task alone is given the execution's ARN (the report names it); the others carry only their message.
  assert.deepEqual(sm.States.Evaluate.Parameters.MessageBody, {
    'task.$': '$$.Task.Token',
    'message.$': '$.plan.evaluate',
    'execution.$': '$$.Execution.Id',
  });
  assert.equal('execution.$' in sm.States.Train.Parameters.MessageBody, false);
  assert.deepEqual((runStateMachine(aws) as Any).States.Evaluate.Parameters, {
    'message.$': '$.plan.evaluate',
    'execution.$': '$$.Execution.Id',
  });
});

test('the emulator variant is the AWS one with plan, train, Batch train and evaluate as callback tasks on queues', () => {
  const onAws = runStateMachine(aws) as Any;
  const onEmulator = runStateMachine(emulator) as Any;
  assert.deepEqual(Object.keys(onAws.States), Object.keys(onEmulator.States));
  assert.deepEqual(onAws.States.Extract, onEmulator.States.Extract, 'the Map and its callback child are the same');
  assert.equal(onAws.States.Plan.Resource, 'arn:fn:train-head');
  assert.deepEqual(onAws.States.Plan.Parameters, { 'message.$': '$' });
  assert.equal(onAws.States.TrainBatch.Resource, 'arn:aws:states:::batch:submitJob.sync');
  assert.equal(onEmulator.States.TrainBatch.Parameters.QueueUrl, queues.trainBatch);
  for (const name of ['Plan', 'Train', 'Evaluate', 'TrainBatch']) {
    assert.equal(onEmulator.States[name].Resource, 'arn:aws:states:::sqs:sendMessage.waitForTaskToken', name);
    assert.deepEqual(onAws.States[name].Retry, onEmulator.States[name].Retry, `${name}: the same retries`);
    assert.equal(onAws.States[name].ResultPath, onEmulator.States[name].ResultPath, `${name}: the same paths`);
  }
});

test('the diagram of states is generated from the definition', () => {
  const diagram = stateDiagram(runStateMachine(emulator));
  assert.match(diagram, /^stateDiagram-v2\n {2}\[\*\] --> Plan/);
  assert.match(diagram, /state Extract \{[\s\S]*DISTRIBUTED Map[\s\S]*ExtractShard --> \[\*\]/);
  assert.match(diagram, /TrainWhere --> TrainBatch: \$\.train\.compute = batch/);
  assert.match(diagram, /Evaluate --> \[\*\]/);
});

test('the fleet bound: every slot busy with at least one shard waiting behind it, as many as the dispatcher counts', () => {
  assert.equal(extractConcurrency(2), 4);
  assert.equal(extractConcurrency(3, 0), 6, 'never fewer than one waiting: a worker would idle between shards');
  assert.equal(extractConcurrency(4, 4), 20);
});
