/**
 * A process that stops at the worst moments of a start, and the next one with the same ORCHESTRATOR_ID and
 * work directory: a claim that never got a container goes back to the queue and runs once; a container
 * created but never started is started (one container, one run); a run whose start was never recorded and whose container ended while nothing was
 * watching still gets its "started" message, its complete log and its final status, in that order.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  longAnnotation,
  readString,
  stringAnnotation,
} from '../../../src/evaluation/annotations.js';
import { JobDirectory } from '../../../src/evaluation/job-directory.js';
import { JOB_NAME_PREFIX, LABELS } from '../../../src/engine/interfaces.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  ENGINE_IMAGE,
  FINAL,
  containersOf,
  messagesAbout,
  readStoredLog,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

const LINES = 300;

describeWithDocker('a process stopped at the worst moment, and the next one', () => {
  let challenge: Challenge;
  const docker = new Docker();
  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        archive: await zipFiles({
          'wf.cwl': shellTool(`seq 1 ${LINES} | sed 's/^/line /'; sleep 3; echo 'the end'`),
        }),
        rootTemplate: 'wf.cwl',
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = () => challenge.queues[0]?.evaluationId ?? '';
  const identity = () => {
    const id = `crash-${process.pid}-${randomUUID().slice(0, 8)}`;
    return { ORCHESTRATOR_ID: id, ORCHESTRATOR_WORK_DIR: mkdtempSync(join(tmpdir(), 'crash-work-')) };
  };

  /** Writes the claim as an instance does, as if the process stopped right after it. */
  async function claimAs(submissionId: string, orchestratorId: string, jobName: string): Promise<void> {
    const result = await challenge.client.evaluations.updateStatus(submissionId, {
      status: 'EVALUATION_IN_PROGRESS',
      canCancel: true,
      set: [
        stringAnnotation(ANNOTATIONS.workflowJobId, jobName),
        stringAnnotation(ANNOTATIONS.orchestratorId, orchestratorId),
        longAnnotation(ANNOTATIONS.executionStarted, Date.now(), true),
        longAnnotation(ANNOTATIONS.workflowLastUpdated, Date.now()),
      ],
    });
    expect(result.applied).toBe(true);
  }

  /** Names of the containers the engine started for a submission since `since` (from its events). */
  async function startsOf(submissionId: string, since: number): Promise<number> {
    const stream = await docker.getEvents({
      since: Math.floor(since / 1000),
      until: Math.ceil(Date.now() / 1000),
      filters: { type: ['container'], event: ['start'], label: [`${LABELS.submissionId}=${submissionId}`] },
    });
    const text = await new Promise<string>((resolve, reject) => {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        resolve(data);
      });
      stream.on('error', reject);
    });
    return text.split('\n').filter((line) => line.trim().length > 0).length;
  }

  it('claimed, then stopped before the container was asked for: back to the queue, then run once', async () => {
    const env = identity();
    const since = Date.now();
    const id = await submitFile(challenge, queue());
    const lostJob = `${JOB_NAME_PREFIX}${randomUUID()}`;
    await claimAs(id, env.ORCHESTRATOR_ID, lostJob);

    const orchestrator = await startOrchestrator(challenge, env);
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.workflowJobId)).not.toBe(lostJob);
    expect(await startsOf(id, since)).toBe(1);
    const subjects = (await messagesAbout(challenge, id)).map((m) => m.subject ?? '');
    expect(subjects.filter((s) => s.includes('being evaluated'))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes('finished'))).toHaveLength(1);
    expect(subjects).toHaveLength(2);
    expect(await containersOf(env.ORCHESTRATOR_ID)).toEqual([]);
  }, 120_000);

  it('a container created but never started: started now, so one container runs once', async () => {
    const env = identity();
    const since = Date.now();
    const id = await submitFile(challenge, queue());
    const stuckJob = `${JOB_NAME_PREFIX}${randomUUID()}`;
    await claimAs(id, env.ORCHESTRATOR_ID, stuckJob);
    const directory = await JobDirectory.create(
      {
        local: join(env.ORCHESTRATOR_WORK_DIR, 'jobs'),
        host: join(env.ORCHESTRATOR_WORK_DIR, 'jobs'),
        source: 'configured',
      },
      stuckJob,
    );
    await directory.markLaunched();
    await docker.createContainer({
      name: stuckJob,
      Image: ENGINE_IMAGE,
      Cmd: ['true'],
      Labels: {
        [LABELS.orchestratorId]: env.ORCHESTRATOR_ID,
        [LABELS.submissionId]: id,
        [LABELS.evaluationId]: queue(),
        [LABELS.jobDir]: directory.hostPath,
      },
    });

    const orchestrator = await startOrchestrator(challenge, env);
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status));
    expect((await statusOf(challenge, id)).status).toBe('ACCEPTED');
    // The very container that was created ran: no second one was made.
    expect(readString(await statusOf(challenge, id), ANNOTATIONS.workflowJobId)).toBe(stuckJob);
    expect(await startsOf(id, since)).toBe(1);
    await expect(docker.getContainer(stuckJob).inspect()).rejects.toThrow();
    const subjects = (await messagesAbout(challenge, id)).map((m) => m.subject ?? '');
    expect(subjects).toHaveLength(2);
    expect(await containersOf(env.ORCHESTRATOR_ID)).toEqual([]);
  }, 120_000);

  it('its start never recorded, its container ended while nothing watched: "started", then the whole log, then the status', async () => {
    const env = identity();
    const id = await submitFile(challenge, queue());
    // No message gets out, so the process can stop before its "started" message was ever written down.
    await challenge.tp.admin.addFault({ path: '^/repo/v1/message$', method: 'POST', status: 503 });
    const first = await startOrchestrator(challenge, env);
    await first.daemon.runOnce();
    await first.stop(0); // the process goes; its container runs on and ends
    // As if it had stopped after starting the container, before the status write recording the start (the
    // claim's answer gives that write its etag, so no fault on a read can stop it now) and before writing
    // the "started" message down at all.
    await challenge.client.evaluations.updateStatus(id, {
      remove: [ANNOTATIONS.submissionFolder, ANNOTATIONS.startedMessageSent],
    });
    const claimed = await statusOf(challenge, id);
    expect(claimed.status).toBe('EVALUATION_IN_PROGRESS');
    expect(readString(claimed, ANNOTATIONS.submissionFolder)).toBeUndefined();
    const jobName = readString(claimed, ANNOTATIONS.workflowJobId) ?? '';
    rmSync(join(env.ORCHESTRATOR_WORK_DIR, 'state', 'outbox'), { recursive: true, force: true });
    await challenge.tp.admin.clearFaults();
    for (;;) {
      const info = await docker.getContainer(jobName).inspect();
      if (!info.State.Running) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await messagesAbout(challenge, id)).toEqual([]);

    const second = await startOrchestrator(challenge, env);
    await second.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.workflowJobId)).toBe(jobName);
    const folder = readString(status, ANNOTATIONS.submissionFolder);
    expect(folder).toBeDefined();
    const stored = await readStoredLog(challenge, folder ?? '', id);
    expect(stored?.text).toContain(`line ${LINES}\n`);
    expect(stored?.text).toContain('the end');
    const messages = await messagesAbout(challenge, id);
    expect(messages.map((m) => m.subject ?? '')).toEqual([
      expect.stringContaining('being evaluated'),
      expect.stringContaining('finished'),
    ]);
    expect(await containersOf(env.ORCHESTRATOR_ID)).toEqual([]);
  }, 120_000);
});
