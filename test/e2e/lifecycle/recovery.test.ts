/**
 * Nothing stuck, nothing run twice: a restarted orchestrator picks up the jobs it left running, and a job
 * whose submission an admin re-queued is cleaned up while the submission runs again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  messagesAbout,
  containersOf,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

describeWithDocker('recovery', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool('sleep 4; echo done') }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = () => challenge.queues[0]?.evaluationId ?? '';

  it('a restart (same ORCHESTRATOR_ID) adopts the running job and finishes it', async () => {
    const before = await startOrchestrator(challenge, { ORCHESTRATOR_ID: `restart-${process.pid}` });
    const id = await submitFile(challenge, queue());
    await before.tickUntil(async () => (await statusOf(challenge, id)).status === 'EVALUATION_IN_PROGRESS');
    const jobId = readString(await statusOf(challenge, id), ANNOTATIONS.workflowJobId);

    // A new process: same identity and work directory, nothing in memory.
    const after = await startOrchestrator(challenge, {
      ORCHESTRATOR_ID: `restart-${process.pid}`,
      ORCHESTRATOR_WORK_DIR: before.workDir,
    });
    await after.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.workflowJobId)).toBe(jobId); // the same run, not a second one
    // The participant heard "started" (from the first process) and "finished" (from the second), once each.
    const subjects = (await messagesAbout(challenge, id)).map((m) => m.subject ?? '');
    expect(subjects).toHaveLength(2);
    expect(subjects.filter((s) => s.includes('being evaluated'))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes('finished'))).toHaveLength(1);
    expect(await containersOf(after.config.orchestratorId)).toEqual([]);
  });

  it('an admin re-queues a running submission: the old container is removed and the submission runs again, once', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const id = await submitFile(challenge, queue());
    await orchestrator.tickUntil(
      async () => (await statusOf(challenge, id)).status === 'EVALUATION_IN_PROGRESS',
    );
    const firstJob = readString(await statusOf(challenge, id), ANNOTATIONS.workflowJobId);
    await challenge.tp.admin.editStatus(id, { status: 'RECEIVED' });
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.workflowJobId)).not.toBe(firstJob);
    // The admin's own act, done as asked: nothing to tell them (the old run is gone, the new one ran).
    const leftover = (await challenge.tp.admin.messages()).filter(
      (m) => m.subject === 'Leftover workflow container removed',
    );
    expect(leftover).toHaveLength(0);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    const started = (await messagesAbout(challenge, id)).filter((m) =>
      (m.subject ?? '').includes('being evaluated'),
    );
    expect(started).toHaveLength(2); // one per run
  });
});
