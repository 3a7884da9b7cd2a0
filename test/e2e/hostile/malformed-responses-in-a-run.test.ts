/**
 * Malformed platform answers while the orchestrator runs submissions, as a participant sees the outcome:
 * one malformed bundle in a listing does not stop the tick (nor the other submissions), a malformed waiting
 * bundle is not started on half its data, and a proxy's page answered with 200 to a status read does not
 * turn a success into "the container disappeared".
 */
import { afterEach, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import type { PaginatedResults, SubmissionBundle } from '../../../src/synapse/types.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  containersOf,
  messagesAbout,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';
import { PROXY_502_PAGE } from '../../support/hostile.js';

const listing = (queueId: string) => `^/repo/v1/evaluation/${queueId}/submission/bundle/all$`;

describeWithDocker('malformed answers during a run', () => {
  let challenge: Challenge | undefined;
  afterEach(async () => {
    await challenge?.close();
    challenge = undefined;
  });

  async function oneQueue(script: string): Promise<{ c: Challenge; queueId: string }> {
    const c = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool(script) }), rootTemplate: 'wf.cwl' },
    ]);
    challenge = c;
    return { c, queueId: c.queues[0]?.evaluationId ?? '' };
  }

  /** Serves the queue's listing of `status` as it is, except `corrupt` applied to submission `id`. */
  async function serveCorrupted(
    c: Challenge,
    queueId: string,
    status: string,
    id: string,
    corrupt: (bundle: SubmissionBundle) => unknown,
  ): Promise<void> {
    await c.tp.admin.clearFaults();
    const real = await c.client.evaluations.bundles(queueId, status as 'RECEIVED');
    const page: PaginatedResults<unknown> = {
      totalNumberOfResults: real.items.length,
      results: real.items.map((bundle) =>
        bundle.submission.id === id ? corrupt(structuredClone(bundle)) : bundle,
      ),
    };
    await c.tp.admin.addFault({
      method: 'GET',
      path: listing(queueId),
      query: `status=${status}`,
      body: JSON.stringify(page),
    });
  }

  it('a running bundle with malformed annotations: every tick still completes, the other submission ends ACCEPTED', async () => {
    const { c, queueId } = await oneQueue('sleep 3; echo ok');
    const orchestrator = await startOrchestrator(c);
    const [broken, healthy] = [await submitFile(c, queueId), await submitFile(c, queueId)];
    await orchestrator.tickUntil(async () =>
      (await Promise.all([broken, healthy].map((id) => statusOf(c, id)))).every(
        (s) => s.status === 'EVALUATION_IN_PROGRESS',
      ),
    );

    // From now on the running listing shows `broken` with v1 annotations of the wrong type.
    const corrupt = (bundle: SubmissionBundle) => ({
      ...bundle,
      submissionStatus: {
        ...bundle.submissionStatus,
        annotations: { stringAnnos: { key: 'x', value: 'y' } },
      },
    });
    await serveCorrupted(c, queueId, 'EVALUATION_IN_PROGRESS', broken, corrupt);
    // tickUntil fails if a tick (runOnce) rejects.
    await orchestrator.tickUntil(
      async () => FINAL.has((await statusOf(c, healthy)).status),
      90_000,
      () => serveCorrupted(c, queueId, 'EVALUATION_IN_PROGRESS', broken, corrupt),
    );
    expect((await statusOf(c, healthy)).status).toBe('ACCEPTED');
    // The malformed one was left alone, not taken for an orphan: it runs on, and finishes once it reads well.
    expect((await statusOf(c, broken)).status).toBe('EVALUATION_IN_PROGRESS');
    await c.tp.admin.clearFaults();
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(c, broken)).status), 90_000);
    const status = await statusOf(c, broken);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DONE');
    await orchestrator.daemon.settle(60_000);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    const toAdmin = (await c.tp.admin.messages()).filter((m) =>
      m.recipients.includes(c.tp.orchestrator.ownerId),
    );
    expect(toAdmin).toEqual([]);
  });

  it('a waiting bundle without its userId is not started on half its data; it runs once it reads whole', async () => {
    const { c, queueId } = await oneQueue('echo ok');
    const orchestrator = await startOrchestrator(c);
    const id = await submitFile(c, queueId);
    await serveCorrupted(c, queueId, 'RECEIVED', id, (bundle) => ({
      ...bundle,
      submission: { ...bundle.submission, userId: undefined },
    }));
    await orchestrator.daemon.runOnce();
    expect((await statusOf(c, id)).status).toBe('RECEIVED');

    await c.tp.admin.clearFaults();
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(c, id)).status), 90_000);
    expect((await statusOf(c, id)).status).toBe('ACCEPTED');
    const dump = await c.tp.admin.dump();
    const names = Object.values(dump.entities).map((entity) => entity.name);
    expect(names).not.toContain('undefined');
    expect(names).toContain(c.participant.ownerId);
  });

  it("a proxy's page answered with 200 to the final status write: still ACCEPTED, one message, nothing left", async () => {
    const { c, queueId } = await oneQueue('sleep 2; echo ok');
    const orchestrator = await startOrchestrator(c);
    const id = await submitFile(c, queueId);
    await orchestrator.tickUntil(async () => (await statusOf(c, id)).status === 'EVALUATION_IN_PROGRESS');
    // Once the workflow is over, the next tick finishes it: its status write (which needs no read first:
    // it has the etag of the tick's listing) is the one that gets the page, twice, then lands.
    const job = readString(await statusOf(c, id), ANNOTATIONS.workflowJobId) ?? '';
    const deadline = Date.now() + 60_000;
    while ((await orchestrator.daemon.services.engine.state(job)).kind !== 'exited') {
      if (Date.now() > deadline) throw new Error('the workflow did not end');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await c.tp.admin.addFault({
      method: 'PUT',
      path: `^/repo/v1/evaluation/submission/${id}/status$`,
      body: PROXY_502_PAGE,
      contentType: 'text/html',
      times: 2,
    });
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(c, id)).status), 90_000);
    // A few more ticks: a job wrongly taken for lost would be finished again by them.
    for (let i = 0; i < 3; i++) await orchestrator.daemon.runOnce();
    expect((await c.tp.admin.faults())[0]?.hits).toBe(2);
    const status = await statusOf(c, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.failureReason)).toBeUndefined();
    const finals = (await messagesAbout(c, id)).filter(
      (m) => !(m.subject ?? '').includes('is being evaluated'),
    );
    expect(finals.map((m) => m.subject)).toHaveLength(1);
    expect(finals[0]?.body).not.toMatch(/disappeared/);
    await orchestrator.daemon.settle(60_000);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  });
});
