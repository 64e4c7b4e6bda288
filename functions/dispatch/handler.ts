import { awsDispatchPorts } from '../../aws/batch-dispatch.js';
import { dispatchWorkers, parsePools, type DispatchPorts, type PoolDispatch, type WorkerPool } from './dispatch.js';
import { ENV } from '../../contracts/cross-process.js';

let wiring: { pools: WorkerPool[]; ports: DispatchPorts } | undefined;

/** EventBridge schedule → top up each pool's Batch workers to its queue's backlog. A failure is retried next minute. */
export const handler = async (): Promise<PoolDispatch[]> => {
  wiring ??= { pools: parsePools(process.env[ENV.dispatchPools]), ports: awsDispatchPorts() };
  const dispatched = await dispatchWorkers(wiring.pools, wiring.ports);
  console.log(JSON.stringify({ dispatched }));
  return dispatched;
};
