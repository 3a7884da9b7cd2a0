/**
 * A container that floods its output: 50 MiB without a single newline, then 150 MiB of short lines. The
 * orchestrator's memory stays flat while it follows and uploads that, the participant gets the log cut to
 * MAX_LOG_BYTES with its last line, and LogFileSizeExceeded says it was cut.
 *
 * What is not bounded yet is the orchestrator's own copy, <job dir>/workflow.log: it holds every byte the
 * container printed (Docker's own copy is bounded by the 1 GB × 2 rotation). The second test says what
 * should hold; it is skipped because the fix belongs in src/evaluation/logs/follower.ts.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  containersOf,
  readStoredLog,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

const MiB = 1024 * 1024;
const FLOOD =
  'head -c 52428800 /dev/zero | tr "\\\\0" "z"; echo; ' +
  'yes "flood line of some forty characters...." | head -c 157286400; echo THE-LAST-LINE';

/** The size of the one job's workflow.log under `workDir`, 0 while there is none. */
function workflowLogSize(workDir: string): number {
  const jobs = join(workDir, 'jobs');
  if (!existsSync(jobs)) return 0;
  let size = 0;
  for (const job of readdirSync(jobs)) {
    try {
      size = Math.max(size, statSync(join(jobs, job, 'workflow.log')).size);
    } catch {
      // not there (yet, or any more)
    }
  }
  return size;
}

describeWithDocker('a container that floods its output', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      { archive: await zipFiles({ 'wf.cwl': shellTool(FLOOD) }), rootTemplate: 'wf.cwl' },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('200 MiB, a quarter of it one line: memory stays flat, the participant gets 1 MiB ending with its last line', async () => {
    const orchestrator = await startOrchestrator(challenge, { MAX_LOG_BYTES: '1m' });
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    const managed = () => {
      const memory = process.memoryUsage();
      return memory.heapUsed + memory.external;
    };
    global.gc?.();
    const before = managed();
    let peak = before;
    let biggestLog = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, managed())), 10);
    try {
      await orchestrator.tickUntil(
        async () => FINAL.has((await statusOf(challenge, id)).status),
        240_000,
        async () => {
          biggestLog = Math.max(biggestLog, workflowLogSize(orchestrator.workDir));
          await Promise.resolve();
        },
      );
    } finally {
      clearInterval(sampler);
    }
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    const stored = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    const text = stored?.text ?? '';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MiB);
    // The workflow's last line, then only cwltool's own closing lines.
    expect(text.slice(-2048)).toMatch(/THE-LAST-LINE\n[\s\S]*Final process status is success/);
    expect(text).toMatch(/of the log left out here/);
    expect(readString(status, ANNOTATIONS.logFileSizeExceeded)).toBe('true');
    // The flood went through this side (the orchestrator followed it), and memory did not follow it.
    expect(biggestLog).toBeGreaterThan(50 * MiB);
    expect(peak - before).toBeLessThan(96 * MiB);
    // The clean-up after the final status may still be going on in the background.
    await orchestrator.daemon.settle(60_000);
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
  }, 300_000);

  // Skipped: fails today (every byte lands in workflow.log, plus a 38-byte prefix per line: 410 MB for a 300 MiB flood). The fix belongs in
  // src/evaluation/logs/follower.ts: keep the head and a rolling tail of the output, not all of it.
  it.skip("the orchestrator's copy of the log stays within a few times MAX_LOG_BYTES", async () => {
    const orchestrator = await startOrchestrator(challenge, { MAX_LOG_BYTES: '1m' });
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    let biggestLog = 0;
    const sampler = setInterval(
      () => (biggestLog = Math.max(biggestLog, workflowLogSize(orchestrator.workDir))),
      50,
    );
    try {
      await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 240_000);
    } finally {
      clearInterval(sampler);
    }
    expect((await statusOf(challenge, id)).status).toBe('ACCEPTED');
    expect(biggestLog).toBeGreaterThan(0);
    expect(biggestLog).toBeLessThanOrEqual(8 * MiB);
  }, 300_000);
});
