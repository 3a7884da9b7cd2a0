/**
 * The calls synapseclient 4.x makes in a challenge workflow's steps and organizer scripts that 2.x and
 * 3.x did not: its models (`Submission`, `SubmissionStatus`, `Team`, `UserProfile`) and the legacy
 * methods it reimplemented. Requests are shaped as 4.13.0 sends them through httpx (models) or requests
 * (legacy `syn.*` methods); what is asserted is what the client reads from the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Entity,
  PaginatedResults,
  Submission,
  SubmissionStatus,
} from '../../../../src/synapse/types.js';
import { PythonClientShape } from '../../../support/python-client.js';
import { md5, startClientFixture, type ClientFixture } from './fixture.js';
import { uploadLikeClient } from './upload.js';

let f: ClientFixture;
/** The organizer's and alice's synapseclient 4.x, as its models send requests. */
let org4: PythonClientShape;
let alice4: PythonClientShape;
beforeAll(async () => {
  f = await startClientFixture();
  org4 = new PythonClientShape(f.t.platform.url, f.organizer.token, '4.13.0', 'httpx/0.28.1');
  alice4 = new PythonClientShape(f.t.platform.url, f.alice.token, '4.13.0', 'httpx/0.28.1');
});
afterAll(() => f.close());

/** A status as SubmissionStatus.to_synapse_request builds it: annotation values as Python typed them. */
function statusRequest(status: SubmissionStatus, next: string, annotations: Record<string, unknown>) {
  return {
    id: status.id,
    etag: status.etag,
    statusVersion: status.statusVersion,
    status: next,
    entityId: status.entityId,
    versionNumber: status.versionNumber,
    canCancel: false,
    cancelRequested: false,
    submissionAnnotations: { id: status.id, etag: status.etag, annotations },
  };
}

async function statusOf(id: string): Promise<SubmissionStatus> {
  const read = await org4.rest<SubmissionStatus>('GET', 'repo', `/evaluation/submission/${id}/status`);
  expect(read.status).toBe(200);
  return read.data;
}

/** PUT /evaluation/{id}/statusBatch on the fixture's queue, as 4.x's batch_update_submission_statuses sends it. */
function putBatch<T = unknown>(client: typeof org4, body: Record<string, unknown>) {
  return client.rest<T>('PUT', 'repo', `/evaluation/${f.queue.id}/statusBatch`, body);
}

async function anotherSubmission(name: string): Promise<Submission> {
  return f.t.admin.createSubmission({
    evaluationId: f.queue.id,
    userId: f.alice.ownerId,
    file: { name, contentBase64: Buffer.from(`${name}\n`).toString('base64'), contentType: 'text/csv' },
  });
}

describe('Submission.get_submission_count / get_user_submissions', () => {
  it('the count is a bare JSON number, for whoever may read private submissions', async () => {
    const count = await org4.rest<number>('GET', 'repo', `/evaluation/${f.queue.id}/submission/count`);
    expect(count.status).toBe(200);
    expect(count.headers.get('content-type')).toContain('application/json');
    expect(count.data).toBeGreaterThanOrEqual(1);
    expect(typeof count.data).toBe('number');
    const denied = await alice4.rest('GET', 'repo', `/evaluation/${f.queue.id}/submission/count`);
    expect(denied.status).toBe(403);
    const missing = await org4.rest<{ reason: string }>('GET', 'repo', '/evaluation/999/submission/count');
    expect(missing.status).toBe(404);
    expect(missing.data.reason).toContain('999');
  });

  it("the caller's own submissions, and with their statuses", async () => {
    const own = await alice4.rest<PaginatedResults<Submission>>(
      'GET',
      'repo',
      `/evaluation/${f.queue.id}/submission?limit=20&offset=0`,
    );
    expect(own.status).toBe(200);
    expect(own.data.results.map((s) => s.id)).toContain(f.submission.id);
    expect(own.data.results.every((s) => s.userId === f.alice.ownerId)).toBe(true);
    const organizers = await org4.rest<PaginatedResults<Submission>>(
      'GET',
      'repo',
      `/evaluation/${f.queue.id}/submission?limit=20&offset=0`,
    );
    expect(organizers.data.results).toEqual([]);
    const bundles = await alice4.rest<
      PaginatedResults<{ submission: Submission; submissionStatus: SubmissionStatus }>
    >('GET', 'repo', `/evaluation/${f.queue.id}/submission/bundle?limit=20&offset=0`);
    expect(bundles.status).toBe(200);
    const mine = bundles.data.results.find((b) => b.submission.id === f.submission.id);
    expect(mine?.submissionStatus.id).toBe(f.submission.id);
  });
});

describe('SubmissionStatus(id).get() then .store()', () => {
  it('annotation values go as JSON numbers and booleans-as-strings; Synapse keeps their text', async () => {
    const status = await statusOf(f.submission.id);
    const stored = await org4.rest<SubmissionStatus>(
      'PUT',
      'repo',
      `/evaluation/submission/${f.submission.id}/status`,
      statusRequest(status, 'SCORED', {
        auc: { type: 'DOUBLE', value: [0.8125] },
        n: { type: 'LONG', value: [3] },
        passed: { type: 'STRING', value: ['true'] },
      }),
    );
    expect(stored.status).toBe(200);
    expect(stored.data.status).toBe('SCORED');
    const reread = await statusOf(f.submission.id);
    expect(reread.submissionAnnotations?.annotations).toEqual({
      auc: { type: 'DOUBLE', value: ['0.8125'] },
      n: { type: 'LONG', value: ['3'] },
      passed: { type: 'STRING', value: ['true'] },
    });
    // A number is read as its text, and that text must still be of the declared type.
    const refused = await org4.rest<{ reason: string }>(
      'PUT',
      'repo',
      `/evaluation/submission/${f.submission.id}/status`,
      statusRequest(reread, 'SCORED', { n: { type: 'LONG', value: [1.5] } }),
    );
    expect(refused.status).toBe(400);
    expect(refused.data.reason).toContain('key=n');
  });
});

describe('SubmissionStatus.batch_update_submission_statuses', () => {
  it('one batch (first and last): every status updated, an empty BatchUploadResponse', async () => {
    const second = await anotherSubmission('batch-one.csv');
    const statuses = [await statusOf(f.submission.id), await statusOf(second.id)];
    const batch = await putBatch<{ nextUploadToken?: string }>(org4, {
      statuses: statuses.map((s) =>
        statusRequest(s, 'ACCEPTED', { batch: { type: 'STRING', value: ['yes'] } }),
      ),
      isFirstBatch: true,
      isLastBatch: true,
    });
    expect(batch.status).toBe(200);
    expect(batch.data.nextUploadToken).toBeUndefined();
    for (const before of statuses) {
      const after = await statusOf(before.id);
      expect(after.status).toBe('ACCEPTED');
      expect(after.etag).not.toBe(before.etag);
      expect(after.statusVersion).toBe(before.statusVersion + 1);
      expect(after.submissionAnnotations?.annotations.batch?.value).toEqual(['yes']);
    }
  });

  it('a series: each batch sends the token the previous one returned; a stale token is 412', async () => {
    const first = await statusOf(f.submission.id);
    const opened = await putBatch<{ nextUploadToken?: string }>(org4, {
      statuses: [statusRequest(first, 'SCORED', {})],
      isFirstBatch: true,
      isLastBatch: false,
    });
    expect(opened.status).toBe(200);
    const token = opened.data.nextUploadToken;
    expect(typeof token).toBe('string');

    const withoutToken = await putBatch(org4, {
      statuses: [statusRequest(await statusOf(f.submission.id), 'SCORED', {})],
      isFirstBatch: false,
      isLastBatch: true,
    });
    expect(withoutToken.status).toBe(400);

    const closed = await putBatch<{ nextUploadToken?: string }>(org4, {
      statuses: [statusRequest(await statusOf(f.submission.id), 'SCORED', {})],
      isFirstBatch: false,
      isLastBatch: true,
      batchToken: token,
    });
    expect(closed.status).toBe(200);

    const replayed = await putBatch<{ reason: string }>(org4, {
      statuses: [statusRequest(await statusOf(f.submission.id), 'SCORED', {})],
      isFirstBatch: false,
      isLastBatch: true,
      batchToken: token,
    });
    expect(replayed.status).toBe(412);
    expect(replayed.data.reason).not.toBe('');
  });

  it('a status PUT in the middle of a series ends it: the next batch gets 412', async () => {
    const opened = await putBatch<{ nextUploadToken: string }>(org4, {
      statuses: [statusRequest(await statusOf(f.submission.id), 'SCORED', {})],
      isFirstBatch: true,
      isLastBatch: false,
    });
    const single = await org4.rest(
      'PUT',
      'repo',
      `/evaluation/submission/${f.submission.id}/status`,
      statusRequest(await statusOf(f.submission.id), 'VALIDATED', {}),
    );
    expect(single.status).toBe(200);
    const next = await putBatch(org4, {
      statuses: [statusRequest(await statusOf(f.submission.id), 'SCORED', {})],
      isFirstBatch: false,
      isLastBatch: true,
      batchToken: opened.data.nextUploadToken,
    });
    expect(next.status).toBe(412);
  });

  it('one stale etag fails the whole batch and stores nothing', async () => {
    const second = await anotherSubmission('batch-stale.csv');
    const fresh = await statusOf(f.submission.id);
    const stale = { ...(await statusOf(second.id)), etag: 'not-the-etag' };
    const batch = await putBatch(org4, {
      statuses: [statusRequest(fresh, 'REJECTED', {}), statusRequest(stale, 'REJECTED', {})],
      isFirstBatch: true,
      isLastBatch: true,
    });
    expect(batch.status).toBe(412);
    expect((await statusOf(f.submission.id)).etag).toBe(fresh.etag);
  });

  it('a submission twice is 400; a caller without UPDATE_SUBMISSION gets 403', async () => {
    const status = await statusOf(f.submission.id);
    const twice = await putBatch(org4, {
      statuses: [statusRequest(status, 'SCORED', {}), statusRequest(status, 'SCORED', {})],
      isFirstBatch: true,
      isLastBatch: true,
    });
    expect(twice.status).toBe(400);
    const denied = await putBatch(alice4, {
      statuses: [statusRequest(status, 'SCORED', {})],
      isFirstBatch: true,
      isLastBatch: true,
    });
    expect(denied.status).toBe(403);
  });
});

describe('Team.members(), syn.getTeamMembers, Team.get_user_membership_status', () => {
  it('GET /teamMembers/{id}: TeamMembers with their UserGroupHeader, paged with an exact total', async () => {
    const members = await org4.rest<
      PaginatedResults<{
        teamId: string;
        member: { ownerId: string; userName: string; firstName?: string; isIndividual: boolean };
        isAdmin: boolean;
      }>
    >('GET', 'repo', `/teamMembers/${f.team.id}?limit=20&offset=0`);
    expect(members.status).toBe(200);
    expect(members.data.totalNumberOfResults).toBe(1);
    expect(members.data.results).toEqual([
      {
        teamId: f.team.id,
        member: { ownerId: f.alice.ownerId, userName: 'alice', firstName: 'Alice', isIndividual: true },
        isAdmin: false,
      },
    ]);
    // The legacy method pages on until a page comes back empty.
    const past = await f.org.rest<PaginatedResults<unknown>>(
      'GET',
      'repo',
      `/teamMembers/${f.team.id}?limit=20&offset=1`,
    );
    expect(past.data.results).toEqual([]);
    const unknown = await org4.rest('GET', 'repo', '/teamMembers/999?limit=20&offset=0');
    expect(unknown.status).toBe(404);
  });

  it('one member: 404 for someone outside the team', async () => {
    const member = await org4.rest<{ teamId: string; member: { ownerId: string } }>(
      'GET',
      'repo',
      `/team/${f.team.id}/member/${f.alice.ownerId}`,
    );
    expect(member.status).toBe(200);
    expect(member.data.member.ownerId).toBe(f.alice.ownerId);
    const outsider = await org4.rest('GET', 'repo', `/team/${f.team.id}/member/${f.organizer.ownerId}`);
    expect(outsider.status).toBe(404);
  });

  it('membership status: isMember for a member, not for an outsider', async () => {
    const inside = await org4.rest<{ teamId: string; userId: string; isMember: boolean }>(
      'GET',
      'repo',
      `/team/${f.team.id}/member/${f.alice.ownerId}/membershipStatus`,
    );
    expect(inside.status).toBe(200);
    expect(inside.data).toMatchObject({ teamId: f.team.id, userId: f.alice.ownerId, isMember: true });
    const outside = await org4.rest<{ isMember: boolean; hasOpenInvitation: boolean }>(
      'GET',
      'repo',
      `/team/${f.team.id}/member/${f.organizer.ownerId}/membershipStatus`,
    );
    expect(outside.data).toMatchObject({ isMember: false, hasOpenInvitation: false });
  });
});

describe('UserProfile.is_certified / syn.is_certified', () => {
  it('reads "passed" from the passing record; a 404 would mean not certified', async () => {
    const record = await org4.rest<{ userId: string; passed: boolean; revoked: boolean }>(
      'GET',
      'repo',
      `/user/${f.alice.ownerId}/certifiedUserPassingRecord`,
    );
    expect(record.status).toBe(200);
    expect(record.data).toMatchObject({ userId: f.alice.ownerId, passed: true, revoked: false });
    const nobody = await org4.rest('GET', 'repo', '/user/999/certifiedUserPassingRecord');
    expect(nobody.status).toBe(404);
  });
});

describe('syn.get(local path): the file is looked up by its MD5', () => {
  it('GET /entity/md5/{md5}: headers of the readable file versions with that content', async () => {
    const bytes = Buffer.from('a log the organizer uploaded\n');
    const handle = await uploadLikeClient(f.org, bytes, 'log.txt', { parentId: f.folder.id });
    const created = await f.org.rest<Entity>('POST', 'repo', '/entity', {
      concreteType: 'org.sagebionetworks.repo.model.FileEntity',
      name: 'log.txt',
      parentId: f.folder.id,
      versionComment: null,
      dataFileHandleId: handle.id,
    });
    expect(created.status).toBe(201);
    const found = await f.org.rest<PaginatedResults<{ id: string; versionNumber: number; type: string }>>(
      'GET',
      'repo',
      `/entity/md5/${md5(bytes)}`,
    );
    expect(found.status).toBe(200);
    expect(found.data.results).toEqual([
      expect.objectContaining({
        id: created.data.id,
        versionNumber: 1,
        type: 'org.sagebionetworks.repo.model.FileEntity',
      }),
    ]);
    // Alice cannot read the organizer's folder: nothing for her, not a 403.
    const hidden = await f.participant.rest<PaginatedResults<unknown>>(
      'GET',
      'repo',
      `/entity/md5/${md5(bytes)}`,
    );
    expect(hidden.status).toBe(200);
    expect(hidden.data.results).toEqual([]);
    const none = await f.org.rest<PaginatedResults<unknown>>('GET', 'repo', `/entity/md5/${'0'.repeat(32)}`);
    expect(none.data).toEqual({ totalNumberOfResults: 0, results: [] });
  });
});
