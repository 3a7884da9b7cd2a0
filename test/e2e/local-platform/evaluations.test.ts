/** Evaluations, submissions and statuses: the client against the local platform over HTTP (synapse-rest.md §3). */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { EvaluationApi } from '../../../src/synapse/evaluations.js';
import type { SynapseHttp } from '../../../src/synapse/http.js';
import type { StatusStore } from '../../../src/synapse/submission-status.js';
import type {
  Evaluation,
  PaginatedResults,
  SubmissionBundle,
  SubmissionStatus,
} from '../../../src/synapse/types.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';

let t: TestPlatform;
let organizer: SeededUser;
let participant: SeededUser;
let evaluation: Evaluation;
let api: EvaluationApi;
let http: SynapseHttp;

async function submitFile(name = 'prediction.csv', user = participant) {
  return t.admin.createSubmission({
    evaluationId: evaluation.id,
    userId: user.ownerId,
    file: {
      name,
      contentBase64: Buffer.from(`id,score\n1,0.5\n`).toString('base64'),
      contentType: 'text/csv',
    },
  });
}

/** A response body as it comes: an error carries `reason`. */
type RawBody = { reason?: string } & Record<string, unknown>;

/** A raw call, to see status codes and bodies exactly as a client would. */
function raw(method: 'GET' | 'PUT' | 'POST', path: string, token: string, data?: unknown) {
  return axios.request<RawBody>({
    method,
    url: `${t.platform.url}/repo/v1${path}`,
    data,
    headers: { Authorization: `Bearer ${token}` },
    validateStatus: () => true,
  });
}

beforeAll(async () => {
  t = await startTestPlatform();
  organizer = await t.admin.createUser({ userName: 'organizer' });
  participant = await t.admin.createUser({ userName: 'participant', firstName: 'Pat' });
  evaluation = await t.admin.createEvaluation({
    name: 'Sub-challenge 1',
    ownerId: organizer.ownerId,
    permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
  });
  http = t.http();
  api = new EvaluationApi(http);
});
afterAll(() => t.close());

describe('evaluations', () => {
  it('GET /evaluation/{id} for a reader; 403 for someone without access; 404 for none', async () => {
    expect(await api.get(evaluation.id)).toMatchObject({
      id: evaluation.id,
      name: 'Sub-challenge 1',
      contentSource: evaluation.contentSource,
    });
    const stranger = await t.admin.createUser({ userName: 'stranger' });
    await expect(new EvaluationApi(t.http(stranger.token)).get(evaluation.id)).rejects.toMatchObject({
      status: 403,
    });
    await expect(api.get('123')).rejects.toMatchObject({ status: 404 });
  });
});

describe('listing bundles', () => {
  let queue: Evaluation;
  beforeAll(async () => {
    queue = await t.admin.createEvaluation({
      name: 'paging queue',
      ownerId: organizer.ownerId,
      permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
    });
    for (let i = 0; i < 20; i++) {
      await t.admin.createSubmission({
        evaluationId: queue.id,
        userId: participant.ownerId,
        file: { name: `p${i}.csv`, contentBase64: Buffer.from(`row ${i}`).toString('base64') },
      });
    }
  });

  it("reports Synapse's estimate, not a count: offset + n, plus one on a full page", async () => {
    const page = async (offset: number) =>
      (
        await raw(
          'GET',
          `/evaluation/${queue.id}/submission/bundle/all?status=received&limit=10&offset=${offset}`,
          t.orchestrator.token,
        )
      ).data as unknown as PaginatedResults<SubmissionBundle>;
    const [first, second, third] = [await page(0), await page(10), await page(20)];
    expect([first.totalNumberOfResults, first.results.length]).toEqual([11, 10]);
    expect([second.totalNumberOfResults, second.results.length]).toEqual([21, 10]);
    expect([third.totalNumberOfResults, third.results.length]).toEqual([20, 0]);
    const ids = [...first.results, ...second.results].map((b) => Number(b.submission.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('the client reads every page and stops at the short page, whatever the total says', async () => {
    const requests: string[] = [];
    const counting = new EvaluationApi({
      request: (r: Parameters<SynapseHttp['request']>[0]) => {
        requests.push(String(r.query?.offset));
        return http.request(r);
      },
    } as unknown as SynapseHttp);
    const { items, duplicates } = await counting.bundles(queue.id, 'RECEIVED', 7);
    expect(items).toHaveLength(20);
    expect(duplicates).toBe(0);
    expect(requests).toEqual(['0', '7', '14']);
  });

  it('drops duplicates and bundles whose status changed while the list was read', async () => {
    const [a, b] = (await api.bundles(queue.id, 'RECEIVED')).items;
    const shifting = new EvaluationApi({
      request: async (r: Parameters<SynapseHttp['request']>[0]) => {
        const page = await http.request<PaginatedResults<SubmissionBundle>>(r);
        if (r.query?.offset !== 0 || a === undefined || b === undefined) return page;
        // The same submission twice, and one that has meanwhile moved on.
        const moved = {
          ...b,
          submissionStatus: { ...b.submissionStatus, status: 'EVALUATION_IN_PROGRESS' as const },
        };
        return { ...page, results: [a, a, moved, ...page.results.slice(2)] };
      },
    } as unknown as SynapseHttp);
    const { items, duplicates } = await shifting.bundles(queue.id, 'RECEIVED', 100);
    expect(duplicates).toBe(1);
    expect(items.map((x) => x.submission.id)).not.toContain(b?.submission.id);
  });

  it('validates the status filter and the page size', async () => {
    const bad = await raw(
      'GET',
      `/evaluation/${queue.id}/submission/bundle/all?status=DONE`,
      t.orchestrator.token,
    );
    expect(bad.status).toBe(400);
    const tooMany = await raw(
      'GET',
      `/evaluation/${queue.id}/submission/bundle/all?limit=101`,
      t.orchestrator.token,
    );
    expect([tooMany.status, tooMany.data.reason]).toEqual([400, 'limit must be between 0 and 100']);
  });

  it('needs READ_PRIVATE_SUBMISSION', async () => {
    const response = await raw('GET', `/evaluation/${queue.id}/submission/bundle/all`, participant.token);
    expect(response.status).toBe(403);
  });
});

describe('status PUT semantics', () => {
  it('a new submission is RECEIVED with statusVersion 0 and no v2 annotations', async () => {
    const submission = await submitFile();
    const status = await api.getStatus(submission.id);
    expect(status).toMatchObject({
      id: submission.id,
      status: 'RECEIVED',
      statusVersion: 0,
      entityId: submission.entityId,
    });
    expect(status.submissionAnnotations).toBeUndefined();
  });

  it('requires id, etag, status and statusVersion, with Synapse reasons', async () => {
    const submission = await submitFile();
    const status = await api.getStatus(submission.id);
    const put = (body: object) =>
      raw('PUT', `/evaluation/submission/${submission.id}/status`, t.orchestrator.token, body);
    const { statusVersion: _v, ...noVersion } = status;
    const { etag: _e, ...noEtag } = status;
    expect((await put(noVersion)).data.reason).toBe('Status version is required.');
    expect((await put(noEtag)).data.reason).toBe('eTag is required.');
    const mismatch = await put({ ...status, id: '1' });
    expect([mismatch.status, mismatch.data.reason]).toEqual([
      400,
      `Submission ID does not match requested ID: ${submission.id}`,
    ]);
  });

  it('answers a stale etag with 412 and the reason clients match on', async () => {
    const submission = await submitFile();
    const status = await api.getStatus(submission.id);
    await api.putStatus({ ...status, status: 'OPEN' });
    const stale = await raw('PUT', `/evaluation/submission/${submission.id}/status`, t.orchestrator.token, {
      ...status,
      status: 'CLOSED',
    });
    expect(stale.status).toBe(412);
    expect(stale.data.reason).toBe(
      `Submission Status: ${submission.id} was updated since you last fetched it, retrieve it again and reapply the update`,
    );
  });

  it('replaces the whole status: omitted annotations are gone; etag and statusVersion move on', async () => {
    const submission = await submitFile();
    const first = await api.putStatus({
      ...(await api.getStatus(submission.id)),
      annotations: { stringAnnos: [{ key: 'note', value: 'kept?' }] },
      submissionAnnotations: {
        id: submission.id,
        etag: '',
        annotations: { score: { type: 'DOUBLE', value: ['0.9'] } },
      },
    });
    expect(first.statusVersion).toBe(1);
    // isPrivate defaults to true; objectId and scopeId are set by the server.
    expect(first.annotations).toMatchObject({
      objectId: submission.id,
      scopeId: evaluation.id,
      stringAnnos: [{ key: 'note', isPrivate: true }],
    });
    expect(first.submissionAnnotations).toMatchObject({ id: submission.id, etag: first.etag });
    const { annotations: _a, submissionAnnotations: _s, ...bare } = first;
    const second = await api.putStatus(bare);
    expect(second.statusVersion).toBe(2);
    expect(second.etag).not.toBe(first.etag);
    const reread = await api.getStatus(submission.id);
    expect(reread.annotations).toBeUndefined();
    expect(reread.submissionAnnotations).toBeUndefined();
  });

  it('rejects duplicate v1 keys and bad v2 names', async () => {
    const submission = await submitFile();
    const status = await api.getStatus(submission.id);
    const put = (body: object) =>
      raw('PUT', `/evaluation/submission/${submission.id}/status`, t.orchestrator.token, {
        ...status,
        ...body,
      });
    const duplicate = await put({
      annotations: { stringAnnos: [{ key: 'k', value: 'a' }], longAnnos: [{ key: 'k', value: 1 }] },
    });
    expect(duplicate.data.reason).toBe('Duplicate annotations found for key: k');
    const badName = await put({
      submissionAnnotations: {
        id: '',
        etag: '',
        annotations: { 'no spaces': { type: 'STRING', value: ['x'] } },
      },
    });
    expect(badName.status).toBe(400);
    expect(badName.data.reason).toContain("Invalid annotation name: 'no spaces'");
  });

  it('hides private v1 annotations from readers without READ_PRIVATE_SUBMISSION', async () => {
    const reader = await t.admin.createUser({ userName: 'leaderboard-reader' });
    const queue = await t.admin.createEvaluation({
      name: 'leaderboard queue',
      ownerId: organizer.ownerId,
      permissions: {
        [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'],
        [reader.ownerId]: ['READ'],
      },
    });
    const submission = await t.admin.createSubmission({
      evaluationId: queue.id,
      userId: participant.ownerId,
      file: { name: 'p.csv', contentBase64: Buffer.from('p').toString('base64') },
    });
    await api.updateStatus(submission.id, {
      set: [
        { key: 'secret_score', type: 'DOUBLE', value: 0.77, isPrivate: true },
        { key: 'public_note', type: 'STRING', value: 'visible', isPrivate: false },
      ],
    });
    const asReader = JSON.stringify(await new EvaluationApi(t.http(reader.token)).getStatus(submission.id));
    expect(asReader).toContain('public_note');
    expect(asReader).not.toContain('secret_score');
    expect(JSON.stringify(await api.getStatus(submission.id))).toContain('secret_score');
  });
});

describe('the merge loop', () => {
  it('a concurrent writer edits the status between our read and our write: our change lands, theirs survives', async () => {
    const submission = await submitFile();
    let interfered = false;
    const racing: StatusStore = {
      getStatus: (id) => api.getStatus(id),
      putStatus: async (status: SubmissionStatus) => {
        if (!interfered) {
          interfered = true;
          await t.admin.editStatus(status.id, {
            submissionAnnotations: { workflow_score: { type: 'DOUBLE', value: ['0.93'] } },
            stringAnnos: [{ key: 'workflow_private', value: 'w', isPrivate: true }],
          });
        }
        return api.putStatus(status);
      },
    };
    const { updateSubmissionStatus } = await import('../../../src/synapse/submission-status.js');
    const result = await updateSubmissionStatus(racing, submission.id, {
      status: 'EVALUATION_IN_PROGRESS',
      canCancel: true,
      set: [
        {
          key: 'orgSagebionetworksSynapseWorkflowOrchestratorWorkflowJobId',
          type: 'STRING',
          value: 'job-9',
          isPrivate: false,
        },
      ],
    });
    expect(interfered).toBe(true);
    expect(result.applied).toBe(true);
    const final = await api.getStatus(submission.id);
    expect(final.status).toBe('EVALUATION_IN_PROGRESS');
    expect(final.canCancel).toBe(true);
    expect(final.submissionAnnotations?.annotations).toMatchObject({
      workflow_score: { type: 'DOUBLE', value: ['0.93'] },
      orgSagebionetworksSynapseWorkflowOrchestratorWorkflowJobId: { type: 'STRING', value: ['job-9'] },
    });
    expect(final.annotations?.stringAnnos?.map((a) => a.key)).toEqual(
      expect.arrayContaining([
        'workflow_private',
        'orgSagebionetworksSynapseWorkflowOrchestratorWorkflowJobId',
      ]),
    );
  });

  it('a precondition stops the write when the status moved on (e.g. someone else claimed it)', async () => {
    const submission = await submitFile();
    const stale = await api.getStatus(submission.id);
    await api.updateStatus(submission.id, { status: 'EVALUATION_IN_PROGRESS' });
    const result = await api.updateStatus(
      submission.id,
      {
        status: 'EVALUATION_IN_PROGRESS',
        set: [{ key: 'owner', type: 'STRING', value: 'instance-b', isPrivate: false }],
      },
      { current: stale, precondition: (s) => s.status === 'RECEIVED' },
    );
    expect(result.applied).toBe(false);
    expect(result.status.status).toBe('EVALUATION_IN_PROGRESS');
    expect((await api.getStatus(submission.id)).submissionAnnotations?.annotations.owner).toBeUndefined();
  });
});

describe('cancellation and submitting', () => {
  it('the submitter may cancel only once the orchestrator allowed it; the etag changes', async () => {
    const submission = await submitFile();
    const asSubmitter = new EvaluationApi(t.http(participant.token));
    const refused = await raw(
      'PUT',
      `/evaluation/submission/${submission.id}/cancellation`,
      participant.token,
    );
    expect([refused.status, refused.data.reason]).toEqual([
      403,
      'This submission is currently noncancellable.',
    ]);
    const before = (await api.updateStatus(submission.id, { canCancel: true })).status;
    const notMine = await raw(
      'PUT',
      `/evaluation/submission/${submission.id}/cancellation`,
      t.orchestrator.token,
    );
    expect([notMine.status, notMine.data.reason]).toEqual([
      403,
      'Only the user who submitted this submission could perform this action.',
    ]);
    await asSubmitter.requestCancel(submission.id);
    const after = await api.getStatus(submission.id);
    expect(after.cancelRequested).toBe(true);
    expect(after.etag).not.toBe(before.etag);
    expect(after.statusVersion).toBe(before.statusVersion + 1);
  });

  it('POST /evaluation/submission creates a RECEIVED submission with a frozen entity bundle', async () => {
    const seeded = await submitFile('again.csv');
    const entity = (await raw('GET', `/entity/${seeded.entityId}`, participant.token)).data as {
      etag: string;
      versionNumber: number;
    };
    const asSubmitter = new EvaluationApi(t.http(participant.token));
    const submission = await asSubmitter.submit({
      evaluationId: evaluation.id,
      entityId: seeded.entityId,
      versionNumber: entity.versionNumber,
      entityEtag: entity.etag,
    });
    expect(submission).toMatchObject({
      evaluationId: evaluation.id,
      userId: participant.ownerId,
      entityId: seeded.entityId,
    });
    const bundle = JSON.parse(submission.entityBundleJSON) as {
      entity: { id: string };
      fileHandles: { fileName: string }[];
    };
    expect(bundle.entity.id).toBe(seeded.entityId);
    expect(bundle.fileHandles[0]?.fileName).toBe('again.csv');
    expect((await api.getStatus(submission.id)).status).toBe('RECEIVED');
  });

  it('records a Docker submission with its repository and digest', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const submission = await t.admin.createSubmission({
      evaluationId: evaluation.id,
      userId: participant.ownerId,
      docker: { repositoryName: 'docker.synapse.org/syn123/model', digest },
    });
    expect(await api.submission(submission.id)).toMatchObject({
      dockerRepositoryName: 'docker.synapse.org/syn123/model',
      dockerDigest: digest,
    });
  });

  it('a team submission names the team', async () => {
    const team = await t.admin.createTeam('Team $1 \\ backslash', [participant.ownerId]);
    const submission = await t.admin.createSubmission({
      evaluationId: evaluation.id,
      userId: participant.ownerId,
      teamId: team.id,
      file: { name: 'team.csv', contentBase64: Buffer.from('x').toString('base64') },
    });
    expect(await api.submission(submission.id)).toMatchObject({
      teamId: team.id,
      submitterAlias: 'Team $1 \\ backslash',
    });
  });
});
