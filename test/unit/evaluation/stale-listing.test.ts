/**
 * A tick reads the running submissions, then looks at each. A job this process finished after that read
 * (a finish still under way from the previous tick) must not be looked at again with the old listing:
 * its container is gone by then, and it would be finished a second time as "lost" (a contradictory
 * message to an ACCEPTED submission, a false alert).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../../../src/evaluation/annotations.js';
import { Orchestrator } from '../../../src/evaluation/orchestrator.js';
import type { Services } from '../../../src/evaluation/services.js';
import { stageStatuses } from '../../../src/evaluation/stages.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { SubmissionBundle } from '../../../src/synapse/types.js';

const JOB = 'workflow_job.0b7e';
const ME = 'instance-a';

function runningBundle(): SubmissionBundle {
  return {
    submission: { id: '9001', evaluationId: '77', userId: '5', entityId: 'syn1', versionNumber: 1 },
    submissionStatus: {
      id: '9001',
      etag: 'e1',
      status: 'EVALUATION_IN_PROGRESS',
      annotations: {
        stringAnnos: [
          { key: ANNOTATIONS.workflowJobId, value: JOB, isPrivate: false },
          { key: ANNOTATIONS.orchestratorId, value: ME, isPrivate: false },
          { key: ANNOTATIONS.submissionFolder, value: 'syn55', isPrivate: false },
        ],
        longAnnos: [{ key: ANNOTATIONS.workflowLastUpdated, value: Date.now(), isPrivate: false }],
      },
    },
  } as unknown as SubmissionBundle;
}

function services(looked: string[], written: string[]): Services {
  const quiet = createLogger({
    level: 'error',
    format: 'json',
    stream: new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  });
  return {
    config: {
      orchestratorId: ME,
      queues: [{ evaluationId: '77', templateEntityId: 'syn2' }],
      intake: { acceptNewSubmissions: false },
      instances: { staleAfterSeconds: 1800, reclaimStale: false },
    },
    client: {
      evaluations: {
        // The listing was read before the finish below landed: it still shows the job running.
        bundles: async () => ({ items: [runningBundle()], duplicates: 0 }),
        updateStatus: async (id: string) => {
          written.push(id);
          throw new Error('no status write expected');
        },
        getStatus: async () => runningBundle().submissionStatus,
      },
    },
    engine: {
      state: async (name: string) => {
        looked.push(name);
        return { kind: 'missing' };
      },
      list: async () => [],
    },
    alerts: { flush: async () => undefined, report: () => undefined },
    stage: stageStatuses('ALL'),
    logger: quiet,
    now: Date.now,
  } as unknown as Services;
}

describe('a running listing older than a finish', () => {
  it('leaves a job that ended here alone: no second look at its (removed) container, no second ending', async () => {
    const looked: string[] = [];
    const written: string[] = [];
    const orchestrator = new Orchestrator(services(looked, written));
    // The previous tick's finish of this job completed after this tick read the listing.
    orchestrator.jobs.record(JOB, '9001');
    orchestrator.jobs.forget(JOB);

    const summary = await orchestrator.runOnce();
    expect(looked).toEqual([]);
    expect(written).toEqual([]);
    expect(summary.finished).toBe(0);
  });

  it('a job this process has not ended is looked at (the listing is believed)', async () => {
    const looked: string[] = [];
    const orchestrator = new Orchestrator(services(looked, []));
    await orchestrator.runOnce();
    expect(looked).toEqual([JOB]);
  });
});
