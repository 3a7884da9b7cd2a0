/**
 * What participants are told: one message per event, to the team or the user, gated by the mask, with a
 * reason they can act on, nothing from the log when results are locked, and nothing lost to a 429 storm.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import {
  FINAL,
  messagesAbout,
  setUpChallenge,
  shellTool,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';

const SECRET_LINE = 'private-ground-truth-row-4242';

describeWithDocker('participant messages', () => {
  let challenge: Challenge;
  beforeAll(async () => {
    challenge = await setUpChallenge([
      {
        name: 'Scoring queue',
        archive: await zipFiles({ 'wf.cwl': shellTool('echo scored') }),
        rootTemplate: 'wf.cwl',
      },
      {
        name: 'Failing queue',
        archive: await zipFiles({ 'wf.cwl': shellTool(`echo ${SECRET_LINE}; echo bad input >&2; exit 3`) }),
        rootTemplate: 'wf.cwl',
      },
      {
        name: 'Slow queue',
        archive: await zipFiles({ 'wf.cwl': shellTool('sleep 300') }),
        rootTemplate: 'wf.cwl',
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await challenge.close();
  });
  const queue = (index: number) => challenge.queues[index]?.evaluationId ?? '';
  const finalOf = (orchestrator: RunningOrchestrator, ids: string[]) =>
    orchestrator.tickUntil(async () =>
      (await Promise.all(ids.map((id) => statusOf(challenge, id)))).every((s) => FINAL.has(s.status)),
    );

  it('each kind exactly once, to the team or the user, greeting by name ($1 and \\ intact)', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const completed = await submitFile(challenge, queue(0), { asTeam: true });
    const failed = await submitFile(challenge, queue(1));
    const stopped = await submitFile(challenge, queue(2));
    const timedOut = await submitFile(challenge, queue(2), { asTeam: true });
    await orchestrator.tickUntil(
      async () => (await statusOf(challenge, stopped)).status === 'EVALUATION_IN_PROGRESS',
    );
    await orchestrator.tickUntil(
      async () => (await statusOf(challenge, timedOut)).status === 'EVALUATION_IN_PROGRESS',
    );
    await challenge.tp.admin.requestCancel(stopped);
    await challenge.tp.admin.editStatus(timedOut, {
      submissionAnnotations: { [ANNOTATIONS.timeRemaining]: { type: 'LONG', value: ['-5'] } },
    });
    await finalOf(orchestrator, [completed, failed, stopped, timedOut]);
    // A few more ticks must not send anything again.
    for (let i = 0; i < 2; i++) await orchestrator.daemon.runOnce();

    const team = challenge.team;
    const user = challenge.participant;
    const expectations = [
      { id: completed, recipient: team.id, greeting: `Hello ${team.name},`, final: /finished/ },
      {
        id: failed,
        recipient: user.ownerId,
        greeting: `Hello Pat Ticipant (${user.userName}),`,
        final: /failed/,
      },
      { id: stopped, recipient: user.ownerId, greeting: 'Hello Pat Ticipant', final: /was stopped/ },
      { id: timedOut, recipient: team.id, greeting: `Hello ${team.name},`, final: /ran out of time/ },
    ];
    for (const { id, recipient, greeting, final } of expectations) {
      const messages = await messagesAbout(challenge, id);
      expect(messages.map((m) => m.subject)).toHaveLength(2);
      const [started, last] = [
        messages.find((m) => /being evaluated/.test(m.subject ?? '')),
        messages.find((m) => final.test(m.subject ?? '')),
      ];
      expect(started?.recipients).toEqual([recipient]);
      expect(last?.recipients).toEqual([recipient]);
      expect(started?.body.startsWith(greeting)).toBe(true);
      expect(last?.body).toContain(id);
    }
    expect(team.name).toContain('$1 \\');
    const failure = (await messagesAbout(challenge, failed)).find((m) => /failed/.test(m.subject ?? ''));
    expect(failure?.body).toMatch(/Reason: The workflow exited with code \d+/);
    expect(failure?.body).toContain(SECRET_LINE); // shared results: the log's last lines help the participant
    expect(failure?.body).toMatch(/folder syn\d+/);
    const status = await statusOf(challenge, completed);
    expect(readString(status, ANNOTATIONS.submitterNotified)).toBe('completed');
  }, 120_000);

  it('the mask suppresses exactly the kinds it turns off', async () => {
    // 6 = completed (2) + failed (4): no "started", nothing for stops.
    const orchestrator = await startOrchestrator(challenge, { SUBMITTER_NOTIFICATION_MASK: '6' });
    const completed = await submitFile(challenge, queue(0));
    const failed = await submitFile(challenge, queue(1));
    const stopped = await submitFile(challenge, queue(2));
    await orchestrator.tickUntil(
      async () => (await statusOf(challenge, stopped)).status === 'EVALUATION_IN_PROGRESS',
    );
    await challenge.tp.admin.requestCancel(stopped);
    await finalOf(orchestrator, [completed, failed, stopped]);
    expect((await messagesAbout(challenge, completed)).map((m) => m.subject)).toEqual([
      expect.stringMatching(/finished/),
    ]);
    expect((await messagesAbout(challenge, failed)).map((m) => m.subject)).toEqual([
      expect.stringMatching(/failed/),
    ]);
    expect(await messagesAbout(challenge, stopped)).toEqual([]);

    const silent = await startOrchestrator(challenge, { SUBMITTER_NOTIFICATION_MASK: '0' });
    const quiet = await submitFile(challenge, queue(1));
    await finalOf(silent, [quiet]);
    expect(await messagesAbout(challenge, quiet)).toEqual([]);
  }, 120_000);

  it('locked results: no log content and no link reach the participant; FailureReason is private', async () => {
    const orchestrator = await startOrchestrator(challenge, { SHARE_RESULTS_IMMEDIATELY: 'false' });
    const id = await submitFile(challenge, queue(1));
    await finalOf(orchestrator, [id]);
    const messages = await messagesAbout(challenge, id);
    expect(messages).toHaveLength(2);
    for (const message of messages) {
      expect(message.body).not.toContain(SECRET_LINE);
      expect(message.body).not.toContain('bad input');
      expect(message.body).not.toMatch(/folder syn\d+/);
    }
    const status = await statusOf(challenge, id);
    const reason = status.annotations?.stringAnnos?.find((a) => a.key === ANNOTATIONS.failureReason);
    expect(reason?.isPrivate).toBe(true);
    expect(status.submissionAnnotations?.annotations[ANNOTATIONS.failureReason]).toBeUndefined();
    // The log went to the _LOCKED folder.
    const lockedFolder = readString(status, ANNOTATIONS.submissionFolder);
    const children = await challenge.client.entities.listChildren(lockedFolder ?? '');
    expect(children.map((c) => c.name)).toEqual([`${id}_logs.zip`]);
    const parent = await challenge.client.entities.get(lockedFolder ?? '');
    const submitterFolder = await challenge.client.entities.get(parent.parentId ?? '');
    expect(submitterFolder.name).toMatch(/_LOCKED$/);
  }, 120_000);

  it('a 429 storm on /message delays messages but loses none and doubles none', async () => {
    const orchestrator = await startOrchestrator(challenge);
    await challenge.tp.admin.addFault({
      method: 'POST',
      path: '^/repo/v1/message$',
      status: 429,
      rate: 0.7,
      times: 12,
    });
    const ids = [
      await submitFile(challenge, queue(0)),
      await submitFile(challenge, queue(1), { asTeam: true }),
    ];
    let hits = 0;
    try {
      await finalOf(orchestrator, ids);
      hits = (await challenge.tp.admin.faults()).reduce((sum, fault) => sum + fault.hits, 0);
    } finally {
      await challenge.tp.admin.clearFaults();
    }
    expect(hits).toBeGreaterThan(0); // the storm did hit the sends
    for (const id of ids) {
      const subjects = (await messagesAbout(challenge, id)).map((m) => m.subject).sort();
      expect(subjects).toHaveLength(2);
      expect(new Set(subjects).size).toBe(2);
    }
  }, 180_000);
});
