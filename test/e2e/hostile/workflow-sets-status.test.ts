/**
 * A workflow that changes its submission's status itself, through the REST API, while it runs (some Sage
 * templates do, with challengeutils). SWO's contract forbids it (swo-spec §2.11): the job becomes an orphan
 * and SWO crash-loops. Here the daemon goes on; a workflow that sets a final status is left to finish and
 * its run is finished like any other, keeping the status it set; one that puts its submission back to
 * RECEIVED is not run again and again.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { dockerHostAddress } from '../../../src/local-challenge/docker-host-address.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FIXTURES,
  containersOf,
  filesOf,
  messagesAbout,
  readStoredLog,
  setUpChallenge,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';

/** The sets-status fixture, setting `status` and then working on for `after` seconds. */
async function template(status: string, after: number): Promise<Buffer> {
  const files = filesOf(join(FIXTURES, 'sets-status'));
  files['workflow.cwl'] = Buffer.from(
    String(files['workflow.cwl'])
      .replace('default: SCORED', `default: ${status}`)
      .replace('default: 8', `default: ${after}`),
  );
  return zipFiles(files);
}

describeWithDocker('a workflow that sets its submission status itself', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge(
      [
        { archive: await template('SCORED', 8), rootTemplate: 'workflow.cwl' },
        { archive: await template('RECEIVED', 2), rootTemplate: 'workflow.cwl' },
      ],
      // The workflow calls the platform itself: it must listen where containers reach it.
      { host: await dockerHostAddress() },
    );
  }, 60_000);
  const started: RunningOrchestrator[] = [];
  afterAll(async () => {
    // A failing run may leave a job behind (a RECEIVED loop always has one running): none outlives the file.
    for (const orchestrator of started) {
      await orchestrator.stop();
      for (const job of await orchestrator.daemon.services.engine.list(orchestrator.config.orchestratorId))
        await orchestrator.daemon.services.engine.remove(job.name, undefined);
    }
    await challenge.close();
  });
  const orchestratorFor = async (): Promise<RunningOrchestrator> => {
    const orchestrator = await startOrchestrator(challenge);
    started.push(orchestrator);
    return orchestrator;
  };

  const jobDirs = (orchestrator: RunningOrchestrator) => {
    const jobs = join(orchestrator.workDir, 'jobs');
    return existsSync(jobs) ? readdirSync(jobs) : [];
  };
  const toAdmin = async () =>
    (await challenge.tp.admin.messages()).filter((m) =>
      m.recipients.includes(challenge.tp.orchestrator.ownerId),
    );

  /** Ticks for `seconds`, one a second, as the daemon would with POLL_INTERVAL_SECONDS=1. */
  async function tickFor(orchestrator: RunningOrchestrator, seconds: number): Promise<void> {
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      await orchestrator.daemon.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await orchestrator.daemon.settle(60_000);
  }

  it('sets SCORED and works on: the daemon goes on, the status it set stands, nothing is left running', async () => {
    const orchestrator = await orchestratorFor();
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    await tickFor(orchestrator, 20);
    expect((await statusOf(challenge, id)).status).toBe('SCORED');
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    expect(jobDirs(orchestrator)).toEqual([]);
  }, 120_000);

  it('sets SCORED and works on: its run is finished like any other, keeping the status it set', async () => {
    const orchestrator = await orchestratorFor();
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    await tickFor(orchestrator, 25);

    const status = await statusOf(challenge, id);
    expect(status.status).toBe('SCORED');
    expect(status.canCancel).toBe(false);
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DONE');
    // Not killed half-way: the final log holds its last line.
    const log = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    expect(log?.text).toContain(`set-status: submission ${id} is now SCORED`);
    expect(log?.text).toContain('set-status: THE-WORKFLOW-ENDS-HERE');
    // The participant hears how it ended, once.
    const finals = (await messagesAbout(challenge, id)).filter(
      (m) => !(m.subject ?? '').includes('is being evaluated'),
    );
    expect(finals).toHaveLength(1);
    // The organizers are told once what the workflow did, not that a container was left over.
    const alerts = (await toAdmin()).filter((m) => m.body.includes(id));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.body).toContain('SCORED');
    expect(alerts[0]?.body).not.toContain('nothing else needs doing');
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    expect(jobDirs(orchestrator)).toEqual([]);
  }, 120_000);

  it('sets RECEIVED: not run again and again; it ends INVALID with a reason, the organizers told once', async () => {
    const orchestrator = await orchestratorFor();
    const id = await submitFile(challenge, challenge.queues[1]?.evaluationId ?? '');
    await tickFor(orchestrator, 40);

    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.failureReason) ?? '').toMatch(/RECEIVED|re-?queued/i);
    const started = (await messagesAbout(challenge, id)).filter((m) =>
      (m.subject ?? '').includes('is being evaluated'),
    );
    expect(started.length).toBeLessThanOrEqual(3);
    const alerts = (await toAdmin()).filter((m) => m.body.includes(id));
    expect(
      alerts.filter((m) => (m.subject ?? '').includes('keeps putting its submission back')),
    ).toHaveLength(1);
    expect(alerts).toHaveLength(1);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  }, 120_000);
});
