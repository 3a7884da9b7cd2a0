/** What the status endpoints show of running work, filled in by the tick. */
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../../../src/evaluation/annotations.js';
import { WorkView } from '../../../src/evaluation/work-view.js';
import type { SubmissionBundle } from '../../../src/synapse/types.js';
import { buildStatusReport } from '../../../src/status/report.js';

function bundle(
  id: string,
  evaluationId: string,
  extra: { job?: string; cancel?: boolean; team?: string } = {},
) {
  return {
    submission: {
      id,
      userId: '3000007',
      evaluationId,
      entityId: 'syn1',
      versionNumber: 1,
      entityBundleJSON: '{}',
      createdOn: '2026-01-01T00:00:00Z',
      ...(extra.team === undefined ? {} : { teamId: '3000008', submitterAlias: extra.team }),
    },
    submissionStatus: {
      id,
      etag: 'e',
      entityId: 'syn1',
      versionNumber: 1,
      status: 'EVALUATION_IN_PROGRESS',
      modifiedOn: '2026-01-01T00:00:00Z',
      ...(extra.cancel === true ? { cancelRequested: true } : {}),
      annotations: {
        stringAnnos: extra.job === undefined ? [] : [{ key: ANNOTATIONS.workflowJobId, value: extra.job }],
        longAnnos: [
          { key: ANNOTATIONS.executionStarted, value: 1_000 },
          { key: ANNOTATIONS.lastLogUpload, value: 5_000 },
        ],
        doubleAnnos: [{ key: ANNOTATIONS.progress, value: 42 }],
      },
    },
  } as unknown as SubmissionBundle;
}

describe('WorkView', () => {
  it('shows a start under way, then the run as the listing has it, until it ends', () => {
    let now = 10_000;
    const view = new WorkView(['q1', 'q2'], () => now);
    view.starting(bundle('s1', 'q1', { team: 'Team <b>' }));
    expect(view.running()).toMatchObject([
      { submissionId: 's1', state: 'starting', submitter: { alias: 'Team <b>' } },
    ]);
    expect(view.runningByQueue()).toEqual(
      new Map([
        ['q1', 1],
        ['q2', 0],
      ]),
    );
    // A listing of q1 that does not have it yet (the start is still under way) keeps it.
    view.sawRunning('q1', [], () => false);
    expect(view.running()).toHaveLength(1);
    now = 11_000;
    view.startEnded('s1', true);
    expect(view.running()).toMatchObject([{ state: 'running', startedAt: 11_000 }]);
    view.sawRunning('q1', [bundle('s1', 'q1', { job: 'job-1' })], () => false);
    expect(view.running()).toEqual([
      {
        submissionId: 's1',
        evaluationId: 'q1',
        submitter: { userId: '3000007' },
        state: 'running',
        startedAt: 1_000,
        progress: 42,
        container: 'job-1',
        lastLogUploadAt: 5_000,
      },
    ]);
    view.sawRunning('q1', [bundle('s1', 'q1', { job: 'job-1' })], (job) => job === 'job-1');
    expect(view.running()[0]?.state).toBe('finishing');
    view.sawRunning('q1', [bundle('s1', 'q1', { job: 'job-1', cancel: true })], () => false);
    expect(view.running()[0]?.state).toBe('cancel requested');
    view.ended('s1');
    expect(view.running()).toEqual([]);
  });

  it('forgets a start that did not become a run, and a run the listing no longer has', () => {
    const view = new WorkView(['q1']);
    view.starting(bundle('s1', 'q1'));
    view.startEnded('s1', false);
    expect(view.running()).toEqual([]);
    view.sawRunning('q1', [bundle('s2', 'q1', { job: 'j2' })], () => false);
    view.sawRunning('q1', [], () => false);
    expect(view.running()).toEqual([]);
  });

  it('keeps the last waiting count of each queue, with when, and a failed listing', () => {
    let now = 1_000;
    const view = new WorkView(['q1', 'q2'], () => now);
    view.sawWaiting('q1', 3);
    now = 2_000;
    view.listingFailed('q1', 'HTTP 503');
    expect(view.queues()).toEqual([
      { evaluationId: 'q1', waiting: 3, waitingSeenAt: 1_000, listingError: 'HTTP 503' },
      { evaluationId: 'q2' },
    ]);
    expect(view.waitingByQueue()).toEqual(new Map([['q1', 3]]));
  });

  it('becomes the report: elapsed time, submitter label, counts per queue', () => {
    const view = new WorkView(['q1', 'q2']);
    view.sawRunning(
      'q1',
      [bundle('s1', 'q1', { job: 'j1' }), bundle('s2', 'q1', { job: 'j2', team: 'Blue' })],
      () => false,
    );
    const report = buildStatusReport({
      orchestratorId: 'o',
      version: 'v',
      now: 61_000,
      health: { healthy: true, state: 'idle' },
      draining: undefined,
      stopping: false,
      maxConcurrent: 3,
      lastTickAt: undefined,
      running: view.running(),
      queues: view.queues(),
      outbox: {},
    });
    expect(report.running.map((r) => [r.submitter, r.elapsedSeconds, r.startedAt])).toEqual([
      ['user 3000007', 60, '1970-01-01T00:00:01.000Z'],
      ['Blue', 60, '1970-01-01T00:00:01.000Z'],
    ]);
    expect(report.queues).toEqual([
      { evaluationId: 'q1', running: 2, waiting: null, waitingSeenAt: null },
      { evaluationId: 'q2', running: 0, waiting: null, waitingSeenAt: null },
    ]);
    expect(report.draining).toBeNull();
    expect(report.messages).toEqual({ ready: 0, held: 0, failed: 0 });
  });
});
