/**
 * WES mode against a real Toil WES server (Debian's toil, `toil server`): what a participant and an
 * organizer see when the workflows run on a WES server instead of the orchestrator's own Docker engine.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import {
  FINAL,
  messagesAbout,
  readStoredLog,
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
import { runCli } from '../../support/cli.js';
import { freePort } from '../../support/ports.js';
import { describeWithToilWes, startToilWes, type ToilWes } from '../../support/toil-wes.js';

interface WesRun {
  run_id: string;
  state: string;
  request?: { tags?: Record<string, string>; workflow_params?: Record<string, unknown> };
}

describeWithToilWes('WES mode on a real Toil WES server', () => {
  let wes: ToilWes;
  let challenge: Challenge;
  let shared: string;
  let orchestrator: RunningOrchestrator;

  // Queue 0: succeeds; 1: fails; 2: sleeps in a step container (cancel); 3: sleeps on the server (restart,
  // outage); the entry point of queue 0 sits in a subdirectory, that of the others at the top.
  beforeAll(async () => {
    wes = await startToilWes();
    challenge = await setUpChallenge([
      {
        archive: await zipFiles({
          'workflows/main.cwl': shellTool('echo scored-by-wes; echo "a line on stderr" >&2'),
          'workflows/README.md': 'attached with the entry point\n',
          'outside.txt': 'not under the entry point: not attached\n',
        }),
        rootTemplate: 'workflows/main.cwl',
      },
      {
        archive: await zipFiles({ 'wf.cwl': shellTool('echo "the scorer failed: bad header" >&2; exit 3') }),
        rootTemplate: 'wf.cwl',
      },
      { archive: await zipFiles({ 'wf.cwl': stepTool('sleep 300') }), rootTemplate: 'wf.cwl' },
      { archive: await zipFiles({ 'wf.cwl': shellTool('sleep 12; echo slept') }), rootTemplate: 'wf.cwl' },
    ]);
    shared = mkdtempSync(join(tmpdir(), 'wes-shared-'));
    orchestrator = await start();
  }, 600_000);

  afterAll(async () => {
    // Either may be missing when the set-up itself failed.
    await (challenge as Challenge | undefined)?.close();
    const server = wes as ToilWes | undefined;
    await server?.removeStepContainers();
    await server?.stop();
  });

  const start = (env: Record<string, string> = {}) =>
    startOrchestrator(
      challenge,
      { DOCKER_ENGINE_URL: '', WES_ENDPOINT: wes.endpoint, WES_SHARED_DIR_PROPERTY: shared, ...env },
      // Quick WES retries, and the admin told of an outage after 2 s instead of 5 minutes.
      {
        wesRetry: { maxAttempts: 2, initialDelayMs: 200, maxDelayMs: 400, requestTimeoutMs: 10_000 },
        engineOutageAlertMs: 2_000,
      },
    );
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';
  const isFinal = async (id: string) => FINAL.has((await statusOf(challenge, id)).status);
  const runs = async (): Promise<WesRun[]> => {
    const list = (await (await fetch(`${wes.endpoint}/runs`)).json()) as {
      workflows?: WesRun[];
      runs?: WesRun[];
    };
    return Promise.all(
      (list.workflows ?? list.runs ?? []).map(
        async (r) => (await (await fetch(`${wes.endpoint}/runs/${r.run_id}`)).json()) as WesRun,
      ),
    );
  };
  const runsOf = async (submissionId: string) =>
    (await runs()).filter((r) => r.request?.tags?.synapse_submission_id === submissionId);
  /** Job directories of the current instance (each instance has a folder of its own in the shared directory). */
  const jobDirs = () => {
    const dir = join(shared, 'jobs', orchestrator.config.orchestratorId);
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  it('validate: the server answers and runs CWL, the shared directory is writable; a wrong endpoint is named', async () => {
    const env = {
      SYNAPSE_ENDPOINT: challenge.tp.platform.url,
      SYNAPSE_PAT: challenge.tp.orchestrator.token,
      EVALUATION_TEMPLATES: JSON.stringify({ [queue(1)]: challenge.queues[1]?.templateId ?? '' }),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: challenge.outputRootId,
      WES_ENDPOINT: wes.endpoint,
      WES_SHARED_DIR_PROPERTY: shared,
      ORCHESTRATOR_WORK_DIR: mkdtempSync(join(tmpdir(), 'validate-wes-')),
    };
    const good = await runCli(['validate'], { env });
    expect(good.stdout).toMatch(
      new RegExp(`✔ WES server: ${wes.endpoint} answers \\(toil 5[^)]*\\); runs CWL v1\\.0`),
    );
    expect(good.stdout).toMatch(/✔ Shared directory: .*writable/);
    expect(good.stdout).not.toMatch(/Engine image|Engine command|Docker engine/);
    expect(good.status).toBe(0);

    const nobody = `http://127.0.0.1:${await freePort()}/ga4gh/wes/v1`;
    const down = await runCli(['validate'], { env: { ...env, WES_ENDPOINT: nobody } });
    expect(down.status).toBe(1);
    expect(down.stdout).toContain(
      `✖ WES server: The WES server at ${nobody} did not answer GET /service-info: ECONNREFUSED`,
    );
    expect(down.stdout).toContain('fix WES_ENDPOINT');
  });

  it('a run that succeeds: ACCEPTED, tagged, its inputs as in Docker mode, log uploaded, nothing left in the shared directory', async () => {
    const id = await submitFile(challenge, queue(0));
    await orchestrator.tickUntil(() => isFinal(id), 180_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DONE');
    const jobName = readString(status, ANNOTATIONS.workflowJobId) ?? '';
    expect(jobName).toMatch(/^workflow_job\./);

    const [run, ...more] = await runsOf(id);
    expect(more).toEqual([]);
    expect(run?.state).toBe('COMPLETE');
    expect(run?.request?.tags).toEqual({
      synapse_orchestrator_id: orchestrator.config.orchestratorId,
      synapse_workflow_job_id: jobName,
      synapse_submission_id: id,
      synapse_evaluation_id: queue(0),
    });
    const params = run?.request?.workflow_params ?? {};
    expect(params.submissionId).toBe(Number(id));
    expect(Object.keys(params).sort()).toEqual([
      'adminUploadSynId',
      'submissionId',
      'submitterUploadSynId',
      'synapseConfig',
      'workflowSynapseId',
    ]);
    // The credentials file was the run's own, in the shared directory; it is gone with the job directory.
    const credentials = (params.synapseConfig as { path?: string } | undefined)?.path ?? '';
    expect(credentials.startsWith(join(shared, 'jobs', orchestrator.config.orchestratorId, ''))).toBe(true);
    expect(existsSync(credentials)).toBe(false);
    expect(jobDirs()).toEqual([]);
    // Toil staged the files under the entry point's directory, and only those.
    const staged = readdirSync(join(wes.home, 'workflows', run?.run_id ?? '', 'execution'));
    expect(staged).toContain('main.cwl');
    expect(staged).toContain('README.md');
    expect(staged).not.toContain('outside.txt');

    // The run's log (Toil's own) reached the submitter's folder.
    const stored = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    expect(stored?.text).toMatch(/STDERR \S+ .*toil/i);
    const messages = await messagesAbout(challenge, id);
    expect(messages.some((m) => /being evaluated/.test(m.subject ?? ''))).toBe(true);
  });

  it('a run that fails: INVALID, with the reason the server gave in its log', async () => {
    const id = await submitFile(challenge, queue(1));
    await orchestrator.tickUntil(() => isFinal(id), 180_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('ERROR');
    expect(readString(status, ANNOTATIONS.failureReason)).toMatch(/exited with code/);
    expect((await runsOf(id)).map((r) => r.state)).toEqual(['EXECUTOR_ERROR']);
    const failure = (await messagesAbout(challenge, id)).find((m) => /failed/.test(m.subject ?? ''));
    expect(failure?.body).toContain('the scorer failed: bad header');
  });

  it('cancel while running: the WES run is cancelled, INVALID "STOPPED UPON REQUEST"', async () => {
    const id = await submitFile(challenge, queue(2));
    await orchestrator.tickUntil(async () => (await runsOf(id)).some((r) => r.state === 'RUNNING'), 120_000);
    await challenge.tp.admin.requestCancel(id);
    await orchestrator.tickUntil(() => isFinal(id), 120_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('STOPPED UPON REQUEST');
    expect((await runsOf(id)).map((r) => r.state)).toEqual(['CANCELED']);
    expect(jobDirs()).toEqual([]);
    // Toil leaves the step's container running after a cancel (its caveat); the test cleans it up.
    await wes.removeStepContainers();
  });

  it('a restart of the orchestrator while a run is in flight: the run is found again by its tags, not started twice', async () => {
    const id = await submitFile(challenge, queue(3));
    await orchestrator.tickUntil(async () => (await runsOf(id)).length === 1, 120_000);
    await orchestrator.stop();
    // A new process, same instance (same id and work directory): it knows the run only from the server.
    orchestrator = await start({
      ORCHESTRATOR_ID: orchestrator.config.orchestratorId,
      ORCHESTRATOR_WORK_DIR: orchestrator.workDir,
    });
    await orchestrator.tickUntil(() => isFinal(id), 180_000);
    expect((await statusOf(challenge, id)).status).toBe('ACCEPTED');
    expect((await runsOf(id)).map((r) => r.state)).toEqual(['COMPLETE']);
  });

  it('the server goes away and comes back: submissions wait, nothing fails for it, the admin is told once', async () => {
    await orchestrator.stop();
    orchestrator = await start({ ORCHESTRATOR_WORK_DIR: mkdtempSync(join(tmpdir(), 'orchestrator-work-')) });
    const inFlight = await submitFile(challenge, queue(3));
    await orchestrator.tickUntil(
      async () => (await runsOf(inFlight)).some((r) => r.state === 'RUNNING'),
      120_000,
    );
    await wes.stop();
    const waiting = await submitFile(challenge, queue(0));
    // Ticks with the server away, for longer than the alert threshold.
    const away = Date.now();
    while (Date.now() - away < 4_000) {
      await orchestrator.daemon.runOnce();
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await statusOf(challenge, waiting)).status).toBe('RECEIVED');
    expect((await statusOf(challenge, inFlight)).status).toBe('EVALUATION_IN_PROGRESS');
    await wes.start();
    await orchestrator.tickUntil(async () => (await isFinal(waiting)) && (await isFinal(inFlight)), 180_000);
    expect((await statusOf(challenge, waiting)).status).toBe('ACCEPTED');
    // Toil loses the runs in flight when its server restarts (it marks them SYSTEM_ERROR); the submission
    // ends with what the server said, not as lost.
    const ended = await statusOf(challenge, inFlight);
    const [run] = await runsOf(inFlight);
    if (run?.state === 'COMPLETE') expect(ended.status).toBe('ACCEPTED');
    else {
      expect(ended.status).toBe('INVALID');
      expect(readString(ended, ANNOTATIONS.failureReason)).toMatch(
        /^The workflow engine ended the run before the workflow finished: .*WES server/,
      );
    }
    const alerts = (await challenge.tp.admin.messages()).filter((m) =>
      /workflow engine does not answer/.test(m.subject ?? ''),
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.body).toContain(wes.endpoint);
  });
});
