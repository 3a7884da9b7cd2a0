/**
 * What challenge workflows and organizer scripts do with queues through synapseclient and challengeutils:
 * submit with and without a team, update a status as challengeutils' annotate_submission does (re-reading
 * on a 412), message a participant, find a project's queues and one's permissions on a queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Entity,
  Evaluation,
  PaginatedResults,
  Submission,
  SubmissionStatus,
} from '../../../../src/synapse/types.js';
import { startClientFixture, type ClientFixture } from './fixture.js';
import { uploadLikeClient } from './upload.js';

let f: ClientFixture;
beforeAll(async () => {
  f = await startClientFixture();
});
afterAll(() => f.close());

/** A participant's file in their own project, as `syn.store(File(...))` leaves it. */
async function participantFile(name: string): Promise<Entity> {
  const project = await f.participant.rest<Entity>('POST', 'repo', '/entity', {
    concreteType: 'org.sagebionetworks.repo.model.Project',
    name: `Project of ${name}`,
    versionComment: null,
  });
  expect(project.status).toBe(201);
  const handle = await uploadLikeClient(f.participant, Buffer.from(`${name}\n1,2\n`), name, {
    parentId: project.data.id,
    contentType: 'text/csv',
  });
  const file = await f.participant.rest<Entity>('POST', 'repo', '/entity', {
    concreteType: 'org.sagebionetworks.repo.model.FileEntity',
    name,
    parentId: project.data.id,
    versionComment: null,
    dataFileHandleId: handle.id,
  });
  expect(file.status).toBe(201);
  return file.data;
}

describe('syn.submit(evaluation, entity, team=...)', () => {
  it('"teamId": null is a submission without a team', async () => {
    const file = await participantFile('solo.csv');
    const submitted = await f.participant.rest<Submission>(
      'POST',
      'repo',
      `/evaluation/submission?etag=${file.etag}`,
      {
        evaluationId: f.queue.id,
        name: 'solo',
        entityId: file.id,
        versionNumber: 1,
        dockerDigest: null,
        dockerRepositoryName: null,
        teamId: null,
        contributors: null,
        submitterAlias: null,
      },
    );
    expect(submitted.status).toBe(201);
    expect(submitted.data).toMatchObject({ userId: f.alice.ownerId, entityId: file.id, name: 'solo' });
    expect(submitted.data.teamId).toBeUndefined();
  });

  it('with a team: the eligibility hash goes in the query, the team in the body', async () => {
    const file = await participantFile('team.csv');
    const eligibility = await f.participant.rest<{ eligibilityStateHash: number }>(
      'GET',
      'repo',
      `/evaluation/${f.queue.id}/team/${f.team.id}/submissionEligibility`,
    );
    const submitted = await f.participant.rest<Submission>(
      'POST',
      'repo',
      `/evaluation/submission?etag=${file.etag}&submissionEligibilityHash=${eligibility.data.eligibilityStateHash}`,
      {
        evaluationId: f.queue.id,
        name: 'team.csv',
        entityId: file.id,
        versionNumber: 1,
        dockerDigest: null,
        dockerRepositoryName: null,
        teamId: f.team.id,
        contributors: [{ principalId: Number(f.alice.ownerId) }],
        submitterAlias: 'Team Rocket',
      },
    );
    expect(submitted.status).toBe(201);
    expect(submitted.data).toMatchObject({ teamId: f.team.id, submitterAlias: 'Team Rocket' });
  });
});

describe('challengeutils annotate_submission (the workflow’s annotate step)', () => {
  it('stores status and annotations in one PUT, and after a 412 re-reads and stores again', async () => {
    const path = `/evaluation/submission/${f.submission.id}/status`;
    const read = await f.org.rest<SubmissionStatus>('GET', 'repo', path);
    expect(read.status).toBe(200);
    // Someone else (another step) writes in between.
    await f.t.admin.editStatus(f.submission.id, { status: 'VALIDATED' });
    const annotated = (status: SubmissionStatus) => ({
      ...status,
      status: 'SCORED',
      annotations: {
        stringAnnos: [],
        longAnnos: [],
        doubleAnnos: [{ key: 'auc', value: 0.75, isPrivate: false }],
      },
      submissionAnnotations: {
        id: status.id,
        etag: status.etag,
        annotations: { auc: { type: 'DOUBLE', value: ['0.75'] } },
      },
    });
    const stale = await f.org.rest<{ reason: string }>('PUT', 'repo', path, annotated(read.data));
    expect(stale.status).toBe(412);
    expect(stale.data.reason).toMatch(/was updated since you last fetched it/);
    const reread = await f.org.rest<SubmissionStatus>('GET', 'repo', path);
    const stored = await f.org.rest<SubmissionStatus>('PUT', 'repo', path, annotated(reread.data));
    expect(stored.status).toBe(200);
    expect(stored.data.status).toBe('SCORED');
    expect(stored.data.submissionAnnotations?.annotations).toEqual({
      auc: { type: 'DOUBLE', value: ['0.75'] },
    });
    expect(stored.data.annotations?.doubleAnnos).toEqual([{ key: 'auc', value: 0.75, isPrivate: false }]);
    // Its answer is what the next GET shows, including to the participant (public annotations only).
    const seen = await f.participant.rest<SubmissionStatus>('GET', 'repo', path);
    expect(seen.data.annotations?.doubleAnnos).toEqual([{ key: 'auc', value: 0.75, isPrivate: false }]);
  });
});

describe('syn.delete(submission) (challengeutils delete_submission)', () => {
  it('needs DELETE_SUBMISSION on the queue; then the submission and its status are gone', async () => {
    const file = await participantFile('mistake.csv');
    const submitted = await f.participant.rest<Submission>(
      'POST',
      'repo',
      `/evaluation/submission?etag=${file.etag}`,
      {
        evaluationId: f.queue.id,
        entityId: file.id,
        versionNumber: 1,
        teamId: null,
      },
    );
    const path = `/evaluation/submission/${submitted.data.id}`;
    expect((await f.participant.rest('DELETE', 'repo', path)).status).toBe(403);
    expect((await f.org.rest('DELETE', 'repo', path)).status).toBe(204);
    expect((await f.org.rest('GET', 'repo', path)).status).toBe(404);
    expect((await f.org.rest('GET', 'repo', `${path}/status`)).status).toBe(404);
  });
});

describe('syn.sendMessage(userIds, subject, body)', () => {
  it('uploads the body with storageLocationId null and empty JSON bodies, then sends it', async () => {
    const body = Buffer.from('Your submission scored 0.75');
    const handle = await uploadLikeClient(f.org, body, 'message.txt', { contentType: 'text/plain' });
    const sent = await f.org.rest<{ id: string; recipients: string[] }>('POST', 'repo', '/message', {
      recipients: [f.alice.ownerId],
      subject: 'Your score',
      fileHandleId: handle.id,
    });
    expect(sent.status).toBe(201);
    expect(sent.data.recipients).toEqual([f.alice.ownerId]);
    const messages = await f.t.admin.messages();
    expect(messages.find((m) => m.id === sent.data.id)?.body).toBe(body.toString());
  });
});

describe('finding queues and one’s rights on them', () => {
  it('syn.getEvaluationByContentSource pages GET /entity/{id}/evaluation', async () => {
    const first = await f.org.rest<PaginatedResults<Evaluation>>(
      'GET',
      'repo',
      `/entity/${f.project.id}/evaluation?limit=20&offset=0`,
    );
    expect(first.status).toBe(200);
    expect(first.data.results.map((e) => e.id)).toEqual([f.queue.id]);
    const next = await f.org.rest<PaginatedResults<Evaluation>>(
      'GET',
      'repo',
      `/entity/${f.project.id}/evaluation?limit=20&offset=1`,
    );
    expect(next.data.results).toEqual([]);
    // A participant who may read the queue but not the project's content sees nothing of the project.
    expect((await f.participant.rest('GET', 'repo', `/entity/${f.project.id}/evaluation`)).status).toBe(403);
  });

  it('GET /evaluation/{id}/permissions: everything for the owner, read and submit for a participant', async () => {
    const owner = await f.org.rest<Record<string, unknown>>(
      'GET',
      'repo',
      `/evaluation/${f.queue.id}/permissions`,
    );
    expect(owner.status).toBe(200);
    expect(owner.data).toMatchObject({
      canView: true,
      canEdit: true,
      canDelete: true,
      canChangePermissions: true,
      canSubmit: true,
      canViewPrivateSubmissionStatusAnnotations: true,
      canEditSubmissionStatuses: true,
      ownerPrincipalId: Number(f.organizer.ownerId),
    });
    const participant = await f.participant.rest<Record<string, unknown>>(
      'GET',
      'repo',
      `/evaluation/${f.queue.id}/permissions`,
    );
    expect(participant.data).toMatchObject({
      canView: true,
      canSubmit: true,
      canEdit: false,
      canEditSubmissionStatuses: false,
      canViewPrivateSubmissionStatusAnnotations: false,
    });
  });
});
