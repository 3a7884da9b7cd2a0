/**
 * Logs as participants and organizers get them: uploaded while the job runs (new versions of one file),
 * complete at the end, and capped with head, tail and a marker when too long.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  readStoredLog,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';

describeWithDocker('workflow logs', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        archive: await zipFiles({
          'wf.cwl': shellTool(
            'i=0; while [ $i -lt 30 ]; do echo progress-line-$i; i=`expr $i + 1`; sleep 0.25; done; echo THE-LAST-LINE',
          ),
        }),
        rootTemplate: 'wf.cwl',
      },
      {
        archive: await zipFiles({
          'wf.cwl': shellTool(
            "echo THE-FIRST-LINE; yes 'a line of filler text for the log size test' | head -c 6000000; echo; echo THE-LAST-LINE",
          ),
        }),
        rootTemplate: 'wf.cwl',
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('periodic uploads are new versions of one file; the final version holds the last line', async () => {
    const orchestrator = await startOrchestrator(challenge, { LOG_UPLOAD_INTERVAL_SECONDS: '1' });
    const id = await submitFile(challenge, challenge.queues[0]?.evaluationId ?? '');
    const versionsWhileRunning = new Set<number>();
    await orchestrator.tickUntil(
      async () => FINAL.has((await statusOf(challenge, id)).status),
      90_000,
      async () => {
        const status = await statusOf(challenge, id);
        const folder = readString(status, ANNOTATIONS.submissionFolder);
        if (status.status !== 'EVALUATION_IN_PROGRESS' || folder === undefined) return;
        const stored = await readStoredLog(challenge, folder, id);
        if (stored?.version !== undefined) versionsWhileRunning.add(stored.version);
      },
    );
    expect(versionsWhileRunning.size).toBeGreaterThanOrEqual(2);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    const stored = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    expect(stored?.text).toContain('progress-line-0');
    expect(stored?.text).toMatch(/THE-LAST-LINE\s*$/m);
    expect(stored?.version).toBeGreaterThan(Math.max(...versionsWhileRunning) - 1);
    expect(stored?.text).toMatch(/^STD(OUT|ERR) \d{4}-\d\d-\d\dT/m);
  }, 120_000);

  it('a log beyond MAX_LOG_BYTES keeps head and tail with a marker, and LogFileSizeExceeded is set', async () => {
    const orchestrator = await startOrchestrator(challenge, { MAX_LOG_BYTES: '1m' });
    const id = await submitFile(challenge, challenge.queues[1]?.evaluationId ?? '');
    await orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), 90_000);
    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    const stored = await readStoredLog(challenge, readString(status, ANNOTATIONS.submissionFolder) ?? '', id);
    const text = stored?.text ?? '';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024 * 1024);
    expect(text).toContain('THE-FIRST-LINE');
    expect(text).toContain('THE-LAST-LINE');
    expect(text).toMatch(/of the log left out here/);
    expect(text.indexOf('THE-FIRST-LINE')).toBeLessThan(text.search(/of the log left out here/));
    const exceeded = status.annotations?.stringAnnos?.find((a) => a.key === ANNOTATIONS.logFileSizeExceeded);
    expect(exceeded).toMatchObject({ value: 'true', isPrivate: true });
  }, 120_000);
});
