/**
 * Instances on the same queues watch each other: a submission whose instance stopped updating it is
 * reported to the admin once, and with RECLAIM_STALE_SUBMISSIONS=true it goes back to the queue and a live
 * instance runs it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  longAnnotation,
  readString,
  stringAnnotation,
} from '../../../src/evaluation/annotations.js';
import { JOB_NAME_PREFIX } from '../../../src/engine/interfaces.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

describeWithDocker('an instance that went silent', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool('echo scored') }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = () => challenge.queues[0]?.evaluationId ?? '';

  /** A submission another instance claimed and last looked at `minutesAgo` minutes ago. */
  async function heldBySilentInstance(instance: string, minutesAgo: number): Promise<string> {
    const id = await submitFile(challenge, queue());
    const then = Date.now() - minutesAgo * 60_000;
    await challenge.client.evaluations.updateStatus(id, {
      status: 'EVALUATION_IN_PROGRESS',
      canCancel: true,
      set: [
        stringAnnotation(ANNOTATIONS.workflowJobId, `${JOB_NAME_PREFIX}${randomUUID()}`),
        stringAnnotation(ANNOTATIONS.orchestratorId, instance),
        longAnnotation(ANNOTATIONS.executionStarted, then, true),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, then),
      ],
    });
    return id;
  }

  const alertsAbout = async (instance: string) =>
    (await challenge.tp.admin.messages()).filter((m) =>
      (m.subject ?? '').includes(`instance ${instance} seems to have stopped`),
    );

  it('is reported once; its submissions are left alone by default', async () => {
    const silent = `silent-${process.pid}-a`;
    const id = await heldBySilentInstance(silent, 45);
    const recent = await heldBySilentInstance(`busy-${process.pid}`, 1);
    const orchestrator = await startOrchestrator(challenge, { STALE_INSTANCE_SECONDS: '1800' });
    await orchestrator.tickUntil(async () => (await alertsAbout(silent)).length > 0, 30_000);
    for (let i = 0; i < 3; i++) await orchestrator.daemon.runOnce();
    await orchestrator.daemon.settle(10_000);
    const alerts = await alertsAbout(silent);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.body).toContain(id);
    expect(alerts[0]?.body).toContain('RECLAIM_STALE_SUBMISSIONS');
    expect((await statusOf(challenge, id)).status).toBe('EVALUATION_IN_PROGRESS');
    expect(readString(await statusOf(challenge, id), ANNOTATIONS.orchestratorId)).toBe(silent);
    expect(await alertsAbout(`busy-${process.pid}`)).toEqual([]);
    expect((await statusOf(challenge, recent)).status).toBe('EVALUATION_IN_PROGRESS');
  }, 90_000);

  it('with RECLAIM_STALE_SUBMISSIONS=true its submission goes back to the queue and runs here', async () => {
    const silent = `silent-${process.pid}-b`;
    const id = await heldBySilentInstance(silent, 45);
    const orchestrator = await startOrchestrator(challenge, {
      STALE_INSTANCE_SECONDS: '1800',
      RECLAIM_STALE_SUBMISSIONS: 'true',
    });
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 60_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.orchestratorId)).toBe(orchestrator.config.orchestratorId);
    expect(await alertsAbout(silent)).toHaveLength(1);
  }, 90_000);
});
