/** The write journal (/__local/journal): every status and entity write, in order, with when it was stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvaluationApi } from '../../../src/synapse/evaluations.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';

let t: TestPlatform;

beforeAll(async () => {
  t = await startTestPlatform();
});

afterAll(async () => {
  await t.close();
});

describe('the write journal', () => {
  it('records each status write and each new file version, in order, with the time it was stored', async () => {
    const participant = await t.admin.createUser({ userName: 'journal-participant' });
    const evaluation = await t.admin.createEvaluation({
      name: 'Journal queue',
      ownerId: t.orchestrator.ownerId,
      permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
    });
    const submission = await t.admin.createSubmission({
      evaluationId: evaluation.id,
      userId: participant.ownerId,
      file: { name: 'a.csv', contentBase64: Buffer.from('a\n').toString('base64') },
    });
    const api = new EvaluationApi(t.http());
    const received = await api.getStatus(submission.id);
    const running = await api.putStatus({ ...received, status: 'EVALUATION_IN_PROGRESS' });
    await t.admin.requestCancel(submission.id, true);
    const afterCancel = await api.getStatus(submission.id);
    await api.putStatus({ ...afterCancel, status: 'INVALID' });
    expect(running.status).toBe('EVALUATION_IN_PROGRESS');

    const journal = await t.admin.journal();
    const writes = journal.statuses.filter((w) => w.status.id === submission.id);
    expect(writes.map((w) => [w.status.status, w.status.statusVersion, w.status.cancelRequested])).toEqual([
      ['RECEIVED', 0, undefined],
      ['EVALUATION_IN_PROGRESS', 1, undefined],
      ['EVALUATION_IN_PROGRESS', 2, true],
      ['INVALID', 3, true],
    ]);
    const times = writes.map((w) => Date.parse(w.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(journal.entities.some((e) => e.id === submission.entityId)).toBe(true);
  });
});
