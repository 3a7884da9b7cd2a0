/**
 * The daemon as ops stop and drain it (`synapse-orchestrator run` with an env file): SIGTERM ends it within
 * compose's 10 s grace even while a message hangs, leaving the workflow running; the next start finishes
 * the run at once and sends each message exactly once. `synapse-orchestrator drain` and SIGUSR2 stop
 * intake without a restart, and the instance says it is draining.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import { CLI, PRODUCT_OUTPUT_LOG } from '../../support/paths.js';
import { runCli } from '../../support/cli.js';
import {
  ENGINE_IMAGE,
  FINAL,
  containersOf,
  messagesAbout,
  setUpChallenge,
  shellTool,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Daemon {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

describeWithDocker('stopping and draining the daemon', () => {
  let challenge: Challenge;
  const docker = new Docker();
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool('sleep 20; echo scored') }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.tp.admin.clearFaults();
    await challenge.close();
  });

  /** An env file for one instance (its own id and work directory). */
  function envFile(name: string): { file: string; workDir: string; id: string } {
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    const queue = challenge.queues[0];
    if (queue === undefined) throw new Error('no queue');
    const id = `${name}-${process.pid}`;
    const file = join(dir, '.env');
    writeFileSync(
      file,
      [
        `SYNAPSE_ENDPOINT=${challenge.tp.platform.url}`,
        `SYNAPSE_PAT=${challenge.tp.orchestrator.token}`,
        `EVALUATION_TEMPLATES={"${queue.evaluationId}":"${queue.templateId}"}`,
        `WORKFLOW_OUTPUT_ROOT_ENTITY_ID=${challenge.outputRootId}`,
        'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
        `WORKFLOW_ENGINE_DOCKER_IMAGE=${ENGINE_IMAGE}`,
        'WORKFLOW_ENGINE_COMMAND=cwltool',
        `ORCHESTRATOR_WORK_DIR=${dir}/work`,
        `ORCHESTRATOR_ID=${id}`,
        'POLL_INTERVAL_SECONDS=1',
        'STATUS_PORT=0',
        'LOG_FORMAT=json',
      ].join('\n'),
    );
    return { file, workDir: join(dir, 'work'), id };
  }

  function start(file: string, label: string): Daemon {
    const child = spawn(CLI, ['--env-file', file, 'run'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        appendFileSync(PRODUCT_OUTPUT_LOG, `\n$ synapse-orchestrator run (${label})\n${output}`);
        resolve(code);
      }),
    );
    return { child, exited, output: () => output };
  }

  async function waitFor(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
      await sleep(250);
    }
  }

  it('SIGTERM with a workflow running and a message hanging: gone within 10 s, the workflow runs on, and the next start finishes it with each message once', async () => {
    const { file, id: instance } = envFile('sigterm');
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    // Every message now hangs for 15 s before the platform creates it.
    await challenge.tp.admin.addFault({ path: '^/repo/v1/message$', method: 'POST', delayMs: 15_000 });
    const first = start(file, 'SIGTERM while a message hangs');
    try {
      await waitFor(
        async () => (await statusOf(challenge, id)).status === 'EVALUATION_IN_PROGRESS',
        60_000,
        'the claim',
      );
      const jobName = readString(await statusOf(challenge, id), ANNOTATIONS.workflowJobId) ?? '';
      await sleep(2_000); // the "started" message is on its way, hanging
      const signalled = Date.now();
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const tookMs = Date.now() - signalled;
      console.log(`SIGTERM to exit: ${tookMs} ms`);
      expect(tookMs).toBeLessThan(10_000);
      expect((await docker.getContainer(jobName).inspect()).State.Running).toBe(true);
      expect(first.output()).toContain('Orchestrator stopped');
    } finally {
      first.child.kill('SIGKILL');
    }
    await challenge.tp.admin.clearFaults();

    const second = start(file, 'restart after SIGTERM');
    try {
      const restarted = Date.now();
      await waitFor(
        async () => FINAL.has((await statusOf(challenge, id)).status),
        60_000,
        'the final status',
      );
      expect((await statusOf(challenge, id)).status).toBe('ACCEPTED');
      // The status did not wait for the messages (the hung one is not looked for until it cannot land).
      console.log(`restart to final status: ${Date.now() - restarted} ms`);
      expect(Date.now() - restarted).toBeLessThan(40_000);
      await waitFor(async () => (await messagesAbout(challenge, id)).length >= 2, 120_000, 'both messages');
      await sleep(3_000); // a duplicate would arrive now
      const subjects = (await messagesAbout(challenge, id)).map((m) => m.subject ?? '');
      expect(subjects.filter((s) => s.includes('being evaluated'))).toHaveLength(1);
      expect(subjects.filter((s) => s.includes('finished'))).toHaveLength(1);
      expect(subjects).toHaveLength(2);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      second.child.kill('SIGKILL');
    }
    expect(await containersOf(instance)).toEqual([]);
  }, 240_000);

  it('drain, by command and by SIGUSR2: nothing new starts, the instance says so, and resume takes submissions again', async () => {
    const { file, workDir } = envFile('drain');
    const daemon = start(file, 'drain');
    const state = () => {
      try {
        return JSON.parse(readFileSync(join(workDir, 'state', 'instance.json'), 'utf8')) as { state: string };
      } catch {
        return undefined;
      }
    };
    try {
      await waitFor(async () => state()?.state === 'running', 30_000, 'the instance state');
      const drain = await runCli(['--env-file', file, 'drain']);
      expect(drain.status).toBe(0);
      expect(drain.stdout).toContain('Asked the orchestrator to drain');
      await waitFor(async () => state()?.state === 'draining', 15_000, 'draining in instance.json');

      const waiting = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
      await sleep(4_000); // several ticks
      expect((await statusOf(challenge, waiting)).status).toBe('RECEIVED');

      const resume = await runCli(['--env-file', file, 'drain', '--resume']);
      expect(resume.status).toBe(0);
      await waitFor(
        async () => FINAL.has((await statusOf(challenge, waiting)).status),
        60_000,
        'the run after resume',
      );
      expect((await statusOf(challenge, waiting)).status).toBe('ACCEPTED');

      daemon.child.kill('SIGUSR2');
      await waitFor(async () => state()?.state === 'draining', 15_000, 'draining after SIGUSR2');
      expect(daemon.output()).toContain('Draining');
      const another = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
      await sleep(3_000);
      expect((await statusOf(challenge, another)).status).toBe('RECEIVED');
      daemon.child.kill('SIGTERM');
      expect(await daemon.exited).toBe(0);
      expect(state()?.state).toBe('stopped');
    } finally {
      daemon.child.kill('SIGKILL');
    }
  }, 180_000);
});
