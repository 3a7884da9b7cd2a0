/**
 * A failed workflow explained in its own words, with real engines: the error annotation a Sage-shaped
 * validate step wrote (not the later check step's generic throw), or the failing step's own stderr line
 * (not the engine's traceback after it). And a workflow that takes the orchestrator's rights away on the
 * submission folder: the organizers are told which right, on which folder, for which account, and the
 * submission still ends with its status written.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { dockerHostAddress } from '../../../src/local-challenge/docker-host-address.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  FIXTURES,
  TOIL_ENGINE_IMAGE,
  containersOf,
  filesOf,
  messagesAbout,
  setUpChallenge,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const MISSING = "'probability' is missing from the prediction file";
const TOIL = {
  WORKFLOW_ENGINE_DOCKER_IMAGE: TOIL_ENGINE_IMAGE,
  WORKFLOW_ENGINE_COMMAND: 'toil-cwl-runner',
  TOIL_CLI_OPTIONS: '--defaultMemory 100M --retryCount 0 --defaultDisk 1G',
};

describeWithDocker("a failed workflow's reason, in the failing step's words", () => {
  let challenge: Challenge;
  // Queue 0: Sage's shape (validate annotates submission_errors, check_status throws); 1: a step container
  // printing one line and exiting 3; 2: a set-permissions step taking the orchestrator's rights away.
  beforeAll(async () => {
    const sageShaped = await zipFiles(filesOf(join(FIXTURES, 'sage-shaped')));
    challenge = await setUpChallenge(
      [
        { archive: sageShaped, rootTemplate: 'workflow.cwl' },
        {
          archive: await zipFiles(filesOf(join(FIXTURES, 'failing-step'))),
          rootTemplate: 'workflow.cwl',
        },
        { archive: sageShaped, rootTemplate: 'revoke-rights.cwl' },
      ],
      // The workflows call the platform themselves: it must listen where containers reach it.
      { host: await dockerHostAddress() },
    );
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';
  const finished = (orchestrator: RunningOrchestrator, id: string, timeoutMs?: number) =>
    orchestrator.tickUntil(async () => FINAL.has((await statusOf(challenge, id)).status), timeoutMs);
  const failureMessage = async (id: string) =>
    (await messagesAbout(challenge, id)).find((m) => /failed/.test(m.subject ?? ''))?.body ?? '';

  it("Sage's shape: INVALID, and the reason and the message quote submission_errors, not the check step's throw", async () => {
    const orchestrator = await startOrchestrator(challenge);
    const id = await submitFile(challenge, queue(0), { content: 'id,score\n1,0.5\n' });
    await finished(orchestrator, id);

    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    const reason = readString(status, ANNOTATIONS.failureReason) ?? '';
    expect(reason).toMatch(/^The workflow exited with code [1-9]\d* \(.*\)\. /);
    expect(reason).toContain(`The workflow reported (submission_errors): ${MISSING}`);
    // The workflow's own annotations are kept as it wrote them.
    expect(readString(status, 'submission_status')).toBe('INVALID');

    const message = await failureMessage(id);
    expect(message).toContain(`The workflow reported (submission_errors):\n${MISSING}`);
    expect(message).not.toContain('The last lines of its log');
    expect(message).not.toMatch(/Traceback|permanentFail|Expression evaluation error/);
  }, 120_000);

  it('locked results: a public error annotation is still quoted, the log is not; FailureReason is private', async () => {
    const orchestrator = await startOrchestrator(challenge, { SHARE_RESULTS_IMMEDIATELY: 'false' });
    const id = await submitFile(challenge, queue(0), { content: 'id,score\n1,0.5\n' });
    await finished(orchestrator, id);

    const message = await failureMessage(id);
    expect(message).toContain(MISSING);
    expect(message).not.toContain(`validate: submission ${id}`); // the step's own stdout, in the log only
    expect(message).not.toMatch(/folder syn\d+/);
    const status = await statusOf(challenge, id);
    const reason = status.annotations?.stringAnnos?.find((a) => a.key === ANNOTATIONS.failureReason);
    expect(reason?.isPrivate).toBe(true);
    expect(reason?.value).toContain(MISSING);
  }, 120_000);

  it.each([
    ['cwltool', {}],
    ['toil-cwl-runner', TOIL],
  ] as const)(
    "%s: a step's own stderr line, followed by the engine's generic ending, is what the message quotes",
    async (_engine, env) => {
      const orchestrator = await startOrchestrator(challenge, env);
      const id = await submitFile(challenge, queue(1));
      await finished(orchestrator, id, 180_000);

      const line = `failing-step: scoring submission ${id} failed on purpose (exit 3)`;
      const status = await statusOf(challenge, id);
      expect(status.status).toBe('INVALID');
      // Shared results: the FailureReason is public, so it carries the general reason only; the step's
      // line (from the log, which only the submitter may read) goes into the participant's message.
      const reason = status.annotations?.stringAnnos?.find((a) => a.key === ANNOTATIONS.failureReason);
      expect(reason?.isPrivate).toBe(false);
      expect(reason?.value).toMatch(/^The workflow exited with code [1-9]\d* \([^)]*\)\.$/);
      expect(reason?.value).not.toContain(line);
      const message = await failureMessage(id);
      expect(message).toContain(`The step "fail" printed:\n${line}`);
      expect(message).not.toMatch(/Traceback|WorkflowException|permanentFail|FailedJobsException/);
    },
    200_000,
  );

  it("locked results: the step's line goes only into the private FailureReason, never into the message", async () => {
    const orchestrator = await startOrchestrator(challenge, { SHARE_RESULTS_IMMEDIATELY: 'false' });
    const id = await submitFile(challenge, queue(1));
    await finished(orchestrator, id, 180_000);

    const line = `failing-step: scoring submission ${id} failed on purpose (exit 3)`;
    const status = await statusOf(challenge, id);
    const reason = status.annotations?.stringAnnos?.find((a) => a.key === ANNOTATIONS.failureReason);
    expect(reason?.isPrivate).toBe(true);
    expect(reason?.value).toMatch(new RegExp(`The step "fail" printed: ${escaped(line)}$`));
    const message = await failureMessage(id);
    expect(message).not.toContain(line);
    expect(message).not.toContain('printed');
  }, 200_000);

  it("a re-queued submission whose re-run fails before its validate step is not explained by the earlier run's submission_errors", async () => {
    // First run: Sage's shape, which publishes submission_errors and fails.
    const first = await startOrchestrator(challenge);
    const id = await submitFile(challenge, queue(0), { content: 'id,score\n1,0.5\n' });
    await finished(first, id);
    expect(readString(await statusOf(challenge, id), ANNOTATIONS.failureReason)).toContain(MISSING);

    // An admin re-queues it; this time the queue's workflow fails in its first step, before any validation.
    await challenge.tp.admin.editStatus(id, { status: 'RECEIVED' });
    const templates = { [queue(0)]: challenge.queues[1]?.templateId ?? '' };
    const second = await startOrchestrator(challenge, { EVALUATION_TEMPLATES: JSON.stringify(templates) });
    await finished(second, id, 180_000);

    const status = await statusOf(challenge, id);
    expect(status.status).toBe('INVALID');
    expect(readString(status, 'submission_errors')).toBe(MISSING); // the earlier run's, left as it was
    const reason = readString(status, ANNOTATIONS.failureReason) ?? '';
    expect(reason).toMatch(/^The workflow exited with code [1-9]\d* /);
    expect(reason).not.toContain(MISSING);
    const failures = (await messagesAbout(challenge, id)).filter((m) => /failed/.test(m.subject ?? ''));
    expect(failures).toHaveLength(2);
    const latest = failures.at(-1)?.body ?? '';
    expect(latest).not.toContain(MISSING);
    expect(latest).toContain(
      `The step "fail" printed:\nfailing-step: scoring submission ${id} failed on purpose (exit 3)`,
    );
  }, 300_000);

  it("a step that takes the orchestrator's rights on the submission folder away: the organizers are told which right, where, for whom; the status is still written", async () => {
    const orchestrator = await startOrchestrator(challenge);
    const id = await submitFile(challenge, queue(2));
    await finished(orchestrator, id);

    const status = await statusOf(challenge, id);
    expect(status.status).toBe('ACCEPTED');
    expect(status.canCancel).toBe(false);
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('DONE');
    const folder = readString(status, ANNOTATIONS.submissionFolder) ?? '';
    expect(folder).toMatch(/^syn\d+$/);
    // What the step did: the account keeps READ and DOWNLOAD only.
    const acl = await challenge.client.acl.get(folder);
    const own = acl?.resourceAccess.find((r) => String(r.principalId) === challenge.tp.orchestrator.ownerId);
    expect([...(own?.accessType ?? [])].sort()).toEqual(['DOWNLOAD', 'READ']);

    const { ownerId, userName } = challenge.tp.orchestrator;
    const alerts = (await challenge.tp.admin.messages()).filter(
      (m) => m.subject === 'Submission Pipeline Failed' && m.body.includes(`submission ${id} `),
    );
    expect(alerts).toHaveLength(1);
    const alert = alerts[0];
    expect(alert?.recipients).toEqual([ownerId]);
    expect(alert?.body).toMatch(
      new RegExp(
        `The orchestrator's account ${userName} \\(${ownerId}\\) no longer has (CREATE on folder ${folder}|UPDATE on syn\\d+, the log file in folder ${folder})`,
      ),
    );
    expect(alert?.body).toContain(`it lacks CREATE, UPDATE`);
    expect(alert?.body).toContain(`Folder ${folder} now has permissions of its own`);
    // Nothing lost: the log that could not be stored is kept in the work directory, for the orchestrator's
    // user only (it is not redacted), and the alert says where.
    const keptIn = join(orchestrator.workDir, 'unuploaded-logs');
    const kept = join(keptIn, `${id}_logs.txt`);
    expect(alert?.body).toContain(`The log is kept on the Docker host at ${kept}`);
    expect(readFileSync(kept, 'utf8')).toContain(
      `set-permissions: ${ownerId} now has READ, DOWNLOAD on ${folder}`,
    );
    expect(statSync(keptIn).mode & 0o777).toBe(0o700);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(alert?.body).toContain(
      `Later submissions that hit the same problem are finished the same way and their final logs kept in ${keptIn} as well, without another message`,
    );
    // The participant heard the ending, and nothing of the job is left.
    expect((await messagesAbout(challenge, id)).map((m) => m.subject)).toEqual(
      expect.arrayContaining([expect.stringMatching(/finished/)]),
    );
    expect(await containersOf(orchestrator.config.orchestratorId, `${orchestrator.workDir}/jobs/`)).toEqual(
      [],
    );
    expect(readdirSync(join(orchestrator.workDir, 'jobs'))).toEqual([]);

    // A later submission hit by the same problem: its log is kept beside the first, with no second alert.
    const later = await submitFile(challenge, queue(2));
    await finished(orchestrator, later);
    expect((await statusOf(challenge, later)).status).toBe('ACCEPTED');
    expect(readFileSync(join(keptIn, `${later}_logs.txt`), 'utf8')).toContain('set-permissions:');
    // One alert per queue and right (whether the step beat the first periodic upload decides which right
    // a submission's final upload needs, CREATE or UPDATE).
    const rights = (await challenge.tp.admin.messages())
      .filter((m) => m.subject === 'Submission Pipeline Failed')
      .map((m) => /no longer has (\w+) on/.exec(m.body)?.[1])
      .filter((right) => right !== undefined);
    expect(rights.length).toBeGreaterThan(0);
    expect(new Set(rights).size).toBe(rights.length);
  }, 240_000);
});
