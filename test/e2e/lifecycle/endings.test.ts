/**
 * How a run ends, each as a participant and an organizer would see it: the final status, SWO's
 * StatusDescription and a FailureReason, and nothing of the job left running or on disk.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readNumber, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  containersOf,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  stepTool,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';

describeWithDocker('how a workflow run ends', () => {
  let challenge: Challenge;
  let orchestrator: RunningOrchestrator;
  // Queue 0: exits 0 after writing progress; 1: exits 3; 2: allocates far beyond the memory limit;
  // 3: sleeps in the engine; 4: sleeps in a step container (for stops that must reach the steps).
  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        archive: await zipFiles({ 'wf.cwl': shellTool('echo 42.5 > /progress.txt; sleep 2; echo done') }),
        rootTemplate: 'wf.cwl',
      },
      {
        archive: await zipFiles({ 'wf.cwl': shellTool('echo failing >&2; exit 3') }),
        rootTemplate: 'wf.cwl',
      },
      {
        archive: await zipFiles({
          'wf.cwl': shellTool("python3 -c 'b = bytearray(1024 * 1024 * 1024); print(len(b))'"),
        }),
        rootTemplate: 'wf.cwl',
      },
      {
        archive: await zipFiles({ 'wf.cwl': shellTool('echo 10 > /progress.txt; sleep 300') }),
        rootTemplate: 'wf.cwl',
      },
      { archive: await zipFiles({ 'wf.cwl': stepTool('sleep 300') }), rootTemplate: 'wf.cwl' },
    ]);
    orchestrator = await startOrchestrator(challenge, { WORKFLOW_MEMORY_LIMIT: '256m' });
  }, 60_000);

  afterAll(async () => {
    await challenge.close();
  });

  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';
  const isFinal = async (id: string) => FINAL.has((await statusOf(challenge, id)).status);
  const jobDirs = () =>
    existsSync(`${orchestrator.workDir}/jobs`) ? readdirSync(`${orchestrator.workDir}/jobs`) : [];

  it('exit 0: ACCEPTED, DONE, progress recorded, canCancel false, nothing left behind', async () => {
    const id = await submitFile(challenge, queue(0));
    await orchestrator.tickUntil(() => isFinal(id));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(status.canCancel).toBe(false);
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DONE');
    expect(readString(status, ANNOTATIONS.failureReason)).toBeUndefined();
    expect(readString(status, ANNOTATIONS.orchestratorId)).toBe(orchestrator.config.orchestratorId);
    expect(readString(status, ANNOTATIONS.workflowJobId)).toMatch(/^workflow_job\./);
    // SWO's privacy: ExecutionStarted private (v1 only), WorkflowLastUpdated public (also v2).
    const started = status.annotations?.longAnnos?.find((a) => a.key === ANNOTATIONS.executionStarted);
    expect(started?.isPrivate).toBe(true);
    expect(status.submissionAnnotations?.annotations[ANNOTATIONS.executionStarted]).toBeUndefined();
    expect(status.submissionAnnotations?.annotations[ANNOTATIONS.workflowLastUpdated]?.type).toBe('LONG');
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    expect(jobDirs()).toEqual([]);
  });

  it('exit 3: INVALID with the exit code as the reason', async () => {
    const id = await submitFile(challenge, queue(1));
    await orchestrator.tickUntil(() => isFinal(id));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('ERROR');
    // cwltool turns the tool's failure into its own non-zero exit (permanentFail).
    expect(readString(status, ANNOTATIONS.failureReason)).toMatch(/^The workflow exited with code [1-9]\d*/);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  });

  it('out of memory: INVALID "out of memory (limit 256 MiB)", from Docker\'s OOMKilled flag', async () => {
    const id = await submitFile(challenge, queue(2));
    await orchestrator.tickUntil(() => isFinal(id));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.failureReason)).toBe(
      'The workflow ran out of memory (limit 256 MiB).',
    );
  });

  it('cancel while running: engine and step containers stopped, INVALID "STOPPED UPON REQUEST"', async () => {
    const id = await submitFile(challenge, queue(4));
    // Wait until the step container runs beside the engine (both mount the job directory).
    await orchestrator.tickUntil(
      async () => (await containersOf('none', `${orchestrator.workDir}/jobs/`)).length >= 2,
    );
    await challenge.tp.admin.requestCancel(id);
    await orchestrator.tickUntil(() => isFinal(id));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('STOPPED UPON REQUEST');
    expect(readString(status, ANNOTATIONS.failureReason)).toMatch(/^Stopped on request/);
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
    expect(jobDirs()).toEqual([]);
  });

  it('cancel before start: INVALID without ever creating a container', async () => {
    const id = await submitFile(challenge, queue(0));
    // Synapse lets a submitter cancel only once canCancel is set; an admin can force it earlier.
    await challenge.tp.admin.requestCancel(id, true);
    await orchestrator.tickUntil(() => isFinal(id), 20_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('STOPPED UPON REQUEST');
    expect(readString(status, ANNOTATIONS.workflowJobId)).toBeUndefined();
  });

  it('while running: progress reported, no status write on quiet ticks, credentials 0600, SWO job file', async () => {
    const id = await submitFile(challenge, queue(3));
    await orchestrator.tickUntil(
      async () => readNumber(await statusOf(challenge, id), ANNOTATIONS.progress) === 10,
    );
    // Quiet ticks (same progress, heartbeat not due) leave the status alone: same etag.
    const etag = (await statusOf(challenge, id)).etag;
    for (let i = 0; i < 3; i++) await orchestrator.daemon.runOnce();
    expect((await statusOf(challenge, id)).etag).toBe(etag);

    const [dir] = jobDirs();
    const jobDir = `${orchestrator.workDir}/jobs/${dir ?? ''}`;
    expect(statSync(`${jobDir}/.synapseConfig`).mode & 0o777).toBe(0o600);
    const jobFile = parse(readFileSync(`${jobDir}/job.yaml`, 'utf8')) as Record<string, unknown>;
    expect(jobFile.submissionId).toBe(Number(id));
    expect(jobFile.workflowSynapseId).toBe(challenge.queues[3]?.templateId);
    expect(jobFile.submitterUploadSynId).toMatch(/^syn\d+$/);
    expect(jobFile.adminUploadSynId).toMatch(/^syn\d+$/);
    expect(jobFile.synapseConfig).toEqual({ class: 'File', path: `${jobDir}/.synapseConfig` });

    await challenge.tp.admin.editStatus(id, {
      submissionAnnotations: { [ANNOTATIONS.timeRemaining]: { type: 'LONG', value: ['0'] } },
    });
    await orchestrator.tickUntil(() => isFinal(id));
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    expect(readString(status, ANNOTATIONS.failureReason)).toMatch(/time allowed .* ran out/);
    expect(existsSync(jobDir)).toBe(false);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  });
});

describeWithDocker('MAX_RUNTIME_SECONDS', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': stepTool('sleep 300') }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('a run longer than the limit is stopped with its step containers and ends INVALID, timed out', async () => {
    const orchestrator = await startOrchestrator(challenge, { MAX_RUNTIME_SECONDS: '8' });
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    let sawStep = false;
    await orchestrator.tickUntil(
      async () => FINAL.has((await statusOf(challenge, id)).status),
      90_000,
      async () => {
        if ((await containersOf('none', `${orchestrator.workDir}/jobs/`)).length >= 2) sawStep = true;
      },
    );
    const status = await statusOf(challenge, id);
    expect(sawStep).toBe(true);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    expect(readString(status, ANNOTATIONS.failureReason)).toBe(
      'Stopped: it ran longer than the time limit of 8 seconds.',
    );
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
  });
});
