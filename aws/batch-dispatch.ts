import { BatchClient, ListJobsCommand, SubmitJobCommand, type JobStatus } from '@aws-sdk/client-batch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DispatchPorts } from '../functions/dispatch/dispatch.js';

/** Statuses of a job that has not finished; ListJobs takes one status per call. */
const UNFINISHED: readonly JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING'];

/** The dispatcher's ports on AWS: the queues' backlog (SQS), the pools' workers and submissions (Batch). */
export function awsDispatchPorts(sqs = new SQSClient({}), batch = new BatchClient({})): DispatchPorts {
  return {
    async backlog(queueUrl) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    },

    async activeWorkers(jobQueue, jobName) {
      let workers = 0;
      for (const jobStatus of UNFINISHED) {
        let nextToken: string | undefined;
        do {
          const page = await batch.send(
            new ListJobsCommand({ jobQueue, jobStatus, ...(nextToken ? { nextToken } : {}) }),
          );
          for (const job of page.jobSummaryList ?? []) {
            // An array parent stands for all its children; they finish together once the queue is drained.
            if (job.jobName === jobName) workers += job.arrayProperties?.size ?? 1;
          }
          nextToken = page.nextToken;
        } while (nextToken);
      }
      return workers;
    },

    async submit(job) {
      const { jobId } = await batch.send(
        new SubmitJobCommand({
          jobName: job.jobName,
          jobQueue: job.jobQueue,
          jobDefinition: job.jobDefinition,
          ...(job.arraySize === undefined ? {} : { arrayProperties: { size: job.arraySize } }),
        }),
      );
      if (!jobId) throw new Error(`SubmitJob for ${job.jobName} returned no job id`);
      return jobId;
    },
  };
}
