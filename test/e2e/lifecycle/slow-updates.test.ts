/**
 * Slow messages (here: Synapse answering each one only after 40 s, as when the 10-messages-a-minute limit
 * makes the client wait) hold up nothing but the messages: another participant's cancel still stops their
 * container within a tick or two, and a finished job gets its final status at once, its message later.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  messagesAbout,
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
    'a cancel and a final status are not held up by slow messages',
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
      const submittedAt = Date.now();
      // Ticks by hand: tickUntil would wait for the (slow) messages too.
      const tickWhile = async (busy: () => Promise<boolean>) => {
        while (await busy()) {
          if (Date.now() - submittedAt > MESSAGE_DELAY_MS) throw new Error('held up by the slow messages');
          await orchestrator.daemon.runOnce();
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      };
      await tickWhile(async () => (await statusOf(challenge, quick)).status === 'RECEIVED');
      await challenge.tp.admin.requestCancel(long);
      const cancelledAt = Date.now();

      const docker = new Docker();
      await tickWhile(() =>
        docker
          .getContainer(jobName)
          .inspect()
          .then((info) => info.State.Running)
          .catch(() => false),
      );
      const stoppedAfterMs = Date.now() - cancelledAt;
      await tickWhile(async () => !FINAL.has((await statusOf(challenge, quick)).status));
      const quickFinalAfterMs = Date.now() - submittedAt;

      // The cancelled container stopped, and the quick job got its final status, well before any message
      // was answered.
      expect(stoppedAfterMs).toBeLessThan(MESSAGE_DELAY_MS / 2);
      expect(quickFinalAfterMs).toBeLessThan(MESSAGE_DELAY_MS / 2);
      expect((await statusOf(challenge, quick)).status).toBe('ACCEPTED');
      expect(await messagesAbout(challenge, quick)).toEqual([]);

      // The cancel is what the long job ends with; its messages follow once Synapse answers.
      await tickWhile(async () => !FINAL.has((await statusOf(challenge, long)).status));
      const status = await statusOf(challenge, long);
      expect(status.status).toBe('INVALID');
      expect(readString(status, ANNOTATIONS.statusDescription)).toBe('STOPPED UPON REQUEST');
      expect(readString(status, ANNOTATIONS.workflowJobId)).toBe(jobName);
    },
    2 * MESSAGE_DELAY_MS,
  );
});
