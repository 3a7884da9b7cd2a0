/**
 * A job whose final update is slow (here: Synapse answering a message only after 40 s, as when the
 * 10-messages-a-minute limit makes the client wait) must not hold up the other jobs: a participant's
 * cancel still stops their container within a tick or two, not after the slow message.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';

const MESSAGE_DELAY_MS = 40_000;

describeWithDocker('a slow update does not hold up the others', () => {
  let challenge: Challenge;
  let orchestrator: RunningOrchestrator;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool('echo quick') }), rootTemplate: 'wf.cwl' },
      { archive: await zipFiles({ 'wf.cwl': shellTool('sleep 300') }), rootTemplate: 'wf.cwl' },
    ]);
    orchestrator = await startOrchestrator(challenge);
  }, 60_000);
  afterAll(async () => {
    await challenge.tp.admin.clearFaults();
    await challenge.close();
  }, MESSAGE_DELAY_MS + 30_000);

  it(
    "a cancel is acted on while another job's final message waits",
    async () => {
      const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';
      const long = await submitFile(challenge, queue(1));
      await orchestrator.tickUntil(
        async () => (await statusOf(challenge, long)).status === 'EVALUATION_IN_PROGRESS',
      );
      const jobName = readString(await statusOf(challenge, long), ANNOTATIONS.workflowJobId) ?? '';

      // From now on every message takes 40 s to be answered.
      await challenge.tp.admin.addFault({
        path: '^/repo/v1/message$',
        method: 'POST',
        delayMs: MESSAGE_DELAY_MS,
      });
      const quick = await submitFile(challenge, queue(0));
      await orchestrator.tickUntil(
        async () => (await statusOf(challenge, quick)).status === 'EVALUATION_IN_PROGRESS',
      );
      await challenge.tp.admin.requestCancel(long);
      const cancelledAt = Date.now();

      const docker = new Docker();
      await orchestrator.tickUntil(async () => {
        const state = await docker
          .getContainer(jobName)
          .inspect()
          .then((info) => info.State.Running)
          .catch(() => false);
        return !state;
      }, MESSAGE_DELAY_MS);
      const stoppedAfterMs = Date.now() - cancelledAt;

      // The cancelled container stopped well before the quick job's final message was answered.
      expect(stoppedAfterMs).toBeLessThan(MESSAGE_DELAY_MS / 2);

      // The cancel is what the job will end with, once its own final message gets through.
      expect((await statusOf(challenge, long)).cancelRequested).toBe(true);
      expect(readString(await statusOf(challenge, long), ANNOTATIONS.workflowJobId)).toBe(jobName);
    },
    2 * MESSAGE_DELAY_MS,
  );
});
