/**
 * The demo challenge's template (examples/demo-challenge/template), run as organizers' templates are run:
 * the production orchestrator, cwltool in the engine image, busybox step containers, and the workflow's
 * own Synapse calls (download the submission, annotate the score) against the local platform. That
 * platform listens on Docker's bridge gateway, since containers cannot reach 127.0.0.1 on the host.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readNumber, readString } from '../../src/evaluation/annotations.js';
import { dockerHostAddress } from '../../src/local-challenge/docker-host-address.js';
import { describeWithDocker } from '../support/docker.js';
import {
  FINAL,
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
} from '../support/challenge.js';

const DEMO = join(import.meta.dirname, '..', '..', 'examples', 'demo-challenge');
const submission = (name: string) => readFileSync(join(DEMO, 'submissions', name), 'utf8');
const VALIDATION_LINE = 'invalid submission: line 5 (id 4): score "abc" is not a number';

/** The two demo queues sharing one template archive, on a platform containers can reach. */
async function setUpDemoChallenge(): Promise<Challenge> {
  const archive = await zipFiles(filesOf(join(DEMO, 'template')));
  return setUpChallenge(
    [
      { name: `Leaderboard round (${process.pid})`, archive, rootTemplate: 'score.cwl' },
      { name: `Final round (${process.pid})`, archive, rootTemplate: 'final-round.cwl' },
    ],
    { host: await dockerHostAddress() },
  );
}

describeWithDocker('the demo challenge template (examples/demo-challenge)', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpDemoChallenge();
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';

  it('Leaderboard round: good.csv and another.csv are ACCEPTED with their scores; invalid.csv is INVALID, saying why', async () => {
    const orchestrator = await startOrchestrator(challenge, { SHARE_RESULTS_IMMEDIATELY: 'true' });
    const good = await submitFile(challenge, queue(0), { content: submission('good.csv') });
    const another = await submitFile(challenge, queue(0), {
      content: submission('another.csv'),
      asTeam: true,
    });
    const invalid = await submitFile(challenge, queue(0), { content: submission('invalid.csv') });
    const started = Date.now();
    await orchestrator.tickUntil(async () =>
      (await Promise.all([good, another, invalid].map((id) => statusOf(challenge, id)))).every((s) =>
        FINAL.has(s.status),
      ),
    );
    console.log(`Leaderboard round: three submissions final after ${(Date.now() - started) / 1000} s`);

    for (const [id, score] of [
      [good, 0.84],
      [another, 0.6],
    ] as const) {
      const status = await statusOf(challenge, id);
      expect(readString(status, ANNOTATIONS.failureReason)).toBeUndefined();
      expect(status.status).toBe('ACCEPTED');
      expect(readNumber(status, 'score')).toBe(score);
      expect(readNumber(status, 'rows_scored')).toBe(10);
      // The workflow's write kept the orchestrator's annotations, and the orchestrator's final write kept the workflow's.
      expect(readString(status, ANNOTATIONS.orchestratorId)).toBe(orchestrator.config.orchestratorId);
      expect(status.submissionAnnotations?.annotations.score).toEqual({
        type: 'DOUBLE',
        value: [String(score)],
      });
    }

    const failed = await statusOf(challenge, invalid);
    expect(failed.status).toBe('INVALID');
    expect(readNumber(failed, 'score')).toBeUndefined();
    expect(readString(failed, ANNOTATIONS.failureReason)).toMatch(/^The workflow exited with code [1-9]/);
    const log = await readStoredLog(
      challenge,
      readString(failed, ANNOTATIONS.submissionFolder) ?? '',
      invalid,
    );
    expect(log?.text).toContain(VALIDATION_LINE);
    const message = (await messagesAbout(challenge, invalid)).find((m) => /failed/.test(m.subject ?? ''));
    expect(message?.body).toContain(VALIDATION_LINE);

    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
  }, 180_000);

  it('Final round: progress between 1 and 99 while the inference step runs, then ACCEPTED with the score', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const id = await submitFile(challenge, queue(1), { content: submission('good.csv') });
    const progressSeen: number[] = [];
    const started = Date.now();
    await orchestrator.tickUntil(
      async () => FINAL.has((await statusOf(challenge, id)).status),
      150_000,
      async () => {
        const progress = readNumber(await statusOf(challenge, id), ANNOTATIONS.progress);
        if (progress !== undefined && progressSeen.at(-1) !== progress) progressSeen.push(progress);
      },
    );
    console.log(
      `Final round: final after ${(Date.now() - started) / 1000} s; progress seen: ${progressSeen.join(', ')}`,
    );

    expect(progressSeen.some((p) => p >= 1 && p <= 99)).toBe(true);
    // Progress only grows.
    expect(progressSeen).toEqual([...progressSeen].sort((a, b) => a - b));
    const status = await statusOf(challenge, id);
    expect(readString(status, ANNOTATIONS.failureReason)).toBeUndefined();
    expect(status.status).toBe('ACCEPTED');
    expect(readNumber(status, 'score')).toBe(0.84);
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
  }, 180_000);
});
