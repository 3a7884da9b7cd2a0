/**
 * Several queues, stages, the concurrency limit, and two instances on one queue.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LABELS } from '../../../src/engine/interfaces.js';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  containersOf,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

describeWithDocker('queues, stages and limits', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'a/wf.cwl': shellTool('sleep 1; exit 0') }), rootTemplate: 'a/wf.cwl' },
      { archive: await zipFiles({ 'b/main.cwl': shellTool('exit 5') }), rootTemplate: 'b/main.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';

  it('two queues run their own templates', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const a = await submitFile(challenge, queue(0));
    const b = await submitFile(challenge, queue(1), { asTeam: true });
    await orchestrator.tickUntil(async () =>
      (await Promise.all([a, b].map((id) => statusOf(challenge, id)))).every((s) => FINAL.has(s.status)),
    );
    expect((await statusOf(challenge, a)).status).toBe('ACCEPTED');
    const statusB = await statusOf(challenge, b);
    expect(statusB.status).toBe('INVALID');
    expect(readString(statusB, ANNOTATIONS.failureReason)).toMatch(/exited with code/);
  });

  it('the VALIDATION stage: RECEIVED → OPEN → VALIDATED', async () => {
    const orchestrator = await startOrchestrator(challenge, { EXECUTION_STAGE: 'VALIDATION' });
    const id = await submitFile(challenge, queue(0));
    const seen = new Set<string>();
    await orchestrator.tickUntil(
      async () => FINAL.has((await statusOf(challenge, id)).status),
      60_000,
      async () => {
        seen.add((await statusOf(challenge, id)).status);
      },
    );
    expect(seen.has('OPEN')).toBe(true);
    expect((await statusOf(challenge, id)).status).toBe('VALIDATED');
  });

  it('20 submissions with MAX_CONCURRENT_WORKFLOWS=3: never more than 3 containers, all 20 finish', async () => {
    const orchestrator = await startOrchestrator(challenge, { MAX_CONCURRENT_WORKFLOWS: '3' });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await submitFile(challenge, queue(i % 2)));
    const docker = new Docker();
    let most = 0;
    const sampler$ = { sampling: true };
    const sampler = (async () => {
      while (sampler$.sampling) {
        const running = await docker.listContainers({
          filters: {
            label: [`${LABELS.orchestratorId}=${orchestrator.config.orchestratorId}`],
            status: ['running'],
          },
        });
        most = Math.max(most, running.length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await orchestrator.tickUntil(
        async () =>
          (await Promise.all(ids.map((id) => statusOf(challenge, id)))).every((s) => FINAL.has(s.status)),
        240_000,
      );
    } finally {
      sampler$.sampling = false;
      await sampler;
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
    const statuses = await Promise.all(ids.map((id) => statusOf(challenge, id)));
    expect(statuses.filter((s, i) => s.status === (i % 2 === 0 ? 'ACCEPTED' : 'INVALID'))).toHaveLength(20);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  }, 300_000);

  it('two instances on one queue run each submission exactly once, and leave each other’s jobs alone', async () => {
    const first = await startOrchestrator(challenge, { MAX_CONCURRENT_WORKFLOWS: '2' });
    const second = await startOrchestrator(challenge, { MAX_CONCURRENT_WORKFLOWS: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submitFile(challenge, queue(0)));
    const allFinal = async () =>
      (await Promise.all(ids.map((id) => statusOf(challenge, id)))).every((s) => FINAL.has(s.status));
    // Both tick in turn until everything is done.
    await first.tickUntil(allFinal, 120_000, async () => {
      await second.daemon.runOnce();
    });
    const statuses = await Promise.all(ids.map((id) => statusOf(challenge, id)));
    expect(statuses.map((s) => s.status)).toEqual(Array(6).fill('ACCEPTED'));
    const owners = new Set(statuses.map((s) => readString(s, ANNOTATIONS.orchestratorId)));
    expect(owners).toEqual(new Set([first.config.orchestratorId, second.config.orchestratorId]));
  }, 180_000);
});
