/**
 * The daemon as ops run it: `synapse-orchestrator run` with an env file, on the real schedule, until
 * SIGTERM; then it finishes its tick and exits 0, leaving nothing half-done.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithDocker } from '../../support/docker.js';
import { CLI, PRODUCT_OUTPUT_LOG } from '../../support/paths.js';
import {
  ENGINE_IMAGE,
  FINAL,
  setUpChallenge,
  shellTool,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

describeWithDocker('synapse-orchestrator run', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool('echo scored') }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('runs submissions on its schedule and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-command-'));
    const queue = challenge.queues[0];
    if (queue === undefined) throw new Error('no queue');
    writeFileSync(
      join(dir, '.env'),
      [
        `SYNAPSE_ENDPOINT=${challenge.tp.platform.url}`,
        `SYNAPSE_PAT=${challenge.tp.orchestrator.token}`,
        `EVALUATION_TEMPLATES={"${queue.evaluationId}":"${queue.templateId}"}`,
        `WORKFLOW_OUTPUT_ROOT_ENTITY_ID=${challenge.outputRootId}`,
        'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
        `WORKFLOW_ENGINE_DOCKER_IMAGE=${ENGINE_IMAGE}`,
        'WORKFLOW_ENGINE_COMMAND=cwltool',
        `ORCHESTRATOR_WORK_DIR=${dir}/work`,
        'POLL_INTERVAL_SECONDS=1',
        'STATUS_PORT=0',
        'LOG_FORMAT=json',
      ].join('\n'),
    );
    const id = await submitFile(challenge, queue.evaluationId);
    const child = spawn(CLI, ['--env-file', join(dir, '.env'), 'run'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!FINAL.has((await statusOf(challenge, id)).status) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect((await statusOf(challenge, id)).status).toBe('ACCEPTED');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      appendFileSync(PRODUCT_OUTPUT_LOG, `\n$ synapse-orchestrator run (SIGTERM)\n${output}`);
    }
    expect(output).toContain('Shutdown signal received');
    expect(output).toContain('Orchestrator stopped');
    expect(output).toContain('Claimed submission');
    expect(output).not.toContain(challenge.tp.orchestrator.token);
  }, 90_000);
});
