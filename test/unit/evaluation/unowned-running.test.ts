/**
 * Submissions left EVALUATION_IN_PROGRESS by another tool (SWO, before a migration) carry no OrchestratorId.
 * They are never touched, but the admin is told once, so they are not forgotten.
 */
import { describe, expect, it } from 'vitest';
import type { AdminAlert } from '../../../src/evaluation/admin-alerts.js';
import { ANNOTATIONS } from '../../../src/evaluation/annotations.js';
import type { Services } from '../../../src/evaluation/services.js';
import { watchOtherInstances } from '../../../src/evaluation/silent-instances.js';
import { stageStatuses } from '../../../src/evaluation/stages.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { SubmissionBundle } from '../../../src/synapse/types.js';

function running(id: string, orchestratorId?: string): SubmissionBundle {
  const stringAnnos: { key: string; value: string; isPrivate: boolean }[] = [
    { key: ANNOTATIONS.workflowJobId, value: `job-${id}`, isPrivate: false },
  ];
  if (orchestratorId !== undefined) {
    stringAnnos.push({ key: ANNOTATIONS.orchestratorId, value: orchestratorId, isPrivate: false });
  }
  return {
    submission: { id, evaluationId: '77', userId: '5', entityId: 'syn1', versionNumber: 1 },
    submissionStatus: {
      id,
      etag: 'e',
      status: 'EVALUATION_IN_PROGRESS',
      annotations: {
        stringAnnos,
        longAnnos: [{ key: ANNOTATIONS.workflowLastUpdated, value: Date.now(), isPrivate: false }],
      },
    },
  } as unknown as SubmissionBundle;
}

function services(reported: AdminAlert[]): Services {
  return {
    config: { orchestratorId: 'me', instances: { staleAfterSeconds: 1800, reclaimStale: false } },
    stage: stageStatuses('ALL'),
    alerts: { report: (alert: AdminAlert) => reported.push(alert) },
    logger: createLogger({ level: 'error', format: 'json' }),
    now: () => Date.now(),
  } as unknown as Services;
}

describe('running submissions no instance claimed', () => {
  it('are reported to the admin, naming them, and nothing else is', () => {
    const reported: AdminAlert[] = [];
    watchOtherInstances(services(reported), [
      running('9002'),
      running('9001'),
      running('9003', 'me'),
      running('9004', 'other-live-instance'),
    ]);
    expect(reported).toHaveLength(1);
    expect(reported[0]?.subject).toContain('no orchestrator instance claimed');
    expect(reported[0]?.body).toContain('2 submission(s)');
    expect(reported[0]?.body).toContain('9001, 9002');
    expect(reported[0]?.body).toContain('back to RECEIVED');
    expect(reported[0]?.body).not.toContain('9003');
  });

  it('the same set gives the same alert key (told once), a changed set a new one', () => {
    const first: AdminAlert[] = [];
    const again: AdminAlert[] = [];
    const more: AdminAlert[] = [];
    watchOtherInstances(services(first), [running('9001'), running('9002')]);
    watchOtherInstances(services(again), [running('9002'), running('9001')]);
    watchOtherInstances(services(more), [running('9001'), running('9002'), running('9005')]);
    expect(again[0]?.key).toBe(first[0]?.key);
    expect(more[0]?.key).not.toBe(first[0]?.key);
  });

  it('none, no alert', () => {
    const reported: AdminAlert[] = [];
    watchOtherInstances(services(reported), [running('9003', 'me')]);
    expect(reported).toHaveLength(0);
  });
});
