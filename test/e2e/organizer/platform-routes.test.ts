/**
 * The local platform routes setup and submit added, answered as Synapse answers them: an evaluation by
 * name (404 also when the caller may not read it), a team's submission eligibility, and the tag/digest
 * commits of an unmanaged Docker repository (refused for docker.synapse.org repositories).
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import { isSynapseError } from '../../../src/synapse/errors.js';
import { CONCRETE, type Evaluation } from '../../../src/synapse/types.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

let t: TestPlatform;
let owner: SeededUser;
let member: SeededUser;
let stranger: SeededUser;
let evaluation: Evaluation;

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function clientOf(user: SeededUser): SynapseClient {
  return new SynapseClient({ endpoint: t.endpoint, token: user.token, retry: FAST_RETRY });
}

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (isSynapseError(error)) return error.status;
    throw error;
  }
}

beforeAll(async () => {
  t = await startTestPlatform();
  owner = await t.admin.createUser({ userName: 'owner' });
  member = await t.admin.createUser({ userName: 'member' });
  stranger = await t.admin.createUser({ userName: 'stranger' });
  const project = await t.admin.createProject('Routes', owner.ownerId);
  evaluation = await t.admin.createEvaluation({
    name: 'Queue / with "odd" name?',
    ownerId: owner.ownerId,
    contentSource: project.id,
    permissions: { [member.ownerId]: ['READ', 'SUBMIT'] },
  });
});

afterAll(async () => {
  await t.close();
});

describe('GET /evaluation/name/{name}', () => {
  it('finds a queue by its exact name, and answers 404 to a name that is missing or not readable', async () => {
    expect(await clientOf(member).evaluations.getByName(evaluation.name)).toMatchObject({
      id: evaluation.id,
    });
    expect(await clientOf(member).evaluations.getByName('nope')).toBeUndefined();
    expect(await clientOf(stranger).evaluations.getByName(evaluation.name)).toBeUndefined();
    const raw = await axios.get<{ reason: string }>(
      `${t.platform.url}/repo/v1/evaluation/name/${encodeURIComponent('nope')}`,
      { headers: { Authorization: `Bearer ${member.token}` }, validateStatus: () => true },
    );
    expect(raw.status).toBe(404);
    expect(raw.data.reason).toBe('No Evaluation found with name nope');
  });
});

describe('GET /evaluation/{id}/team/{teamId}/submissionEligibility', () => {
  it("lists the members' eligibility with a hash, for someone who may submit", async () => {
    const team = await t.admin.createTeam('Crew', [member.ownerId, stranger.ownerId]);
    const eligibility = await clientOf(member).evaluations.teamSubmissionEligibility(evaluation.id, team.id);
    expect(eligibility).toMatchObject({
      teamId: team.id,
      evaluationId: evaluation.id,
      teamEligibility: { isEligible: true },
    });
    expect(eligibility.membersEligibility.map((m) => String(m.principalId)).sort()).toEqual(
      [member.ownerId, stranger.ownerId].sort(),
    );
    expect(typeof eligibility.eligibilityStateHash).toBe('number');
    expect(
      await statusOf(clientOf(stranger).evaluations.teamSubmissionEligibility(evaluation.id, team.id)),
    ).toBe(403);
    expect(
      await statusOf(clientOf(member).evaluations.teamSubmissionEligibility(evaluation.id, '424242')),
    ).toBe(404);
  });
});

describe('POST /entity/{id}/dockerCommit and GET /entity/{id}/dockerTag', () => {
  it('records commits of an unmanaged repository, lists the latest per tag, and changes the etag', async () => {
    const client = clientOf(member);
    const project = await client.entities.create({ name: 'Member models', concreteType: CONCRETE.project });
    const repo = await client.entities.create({
      name: 'ghcr.io/member/model',
      concreteType: CONCRETE.dockerRepository,
      parentId: project.id,
      repositoryName: 'ghcr.io/member/model',
    });
    await client.entities.addDockerCommit(repo.id, { tag: 'v1', digest: digest('a') });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await client.entities.addDockerCommit(repo.id, { tag: 'v2', digest: digest('b') });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await client.entities.addDockerCommit(repo.id, { tag: 'v1', digest: digest('c') });
    const tags = await client.entities.listDockerTags(repo.id);
    expect(tags.map((c) => [c.tag, c.digest])).toEqual([
      ['v1', digest('c')],
      ['v2', digest('b')],
    ]);
    expect((await client.entities.get(repo.id)).etag).not.toBe(repo.etag);
    expect(
      await statusOf(client.entities.addDockerCommit(repo.id, { tag: 'v3', digest: 'sha256:short' })),
    ).toBe(400);
    expect(
      await statusOf(clientOf(stranger).entities.addDockerCommit(repo.id, { digest: digest('d') })),
    ).toBe(403);
  });

  it('refuses commits to a docker.synapse.org repository, which only a push creates', async () => {
    const client = clientOf(member);
    const project = await client.entities.create({ name: 'Managed models', concreteType: CONCRETE.project });
    const repo = await client.entities.create({
      name: `docker.synapse.org/${project.id}/model`,
      concreteType: CONCRETE.dockerRepository,
      parentId: project.id,
      repositoryName: `docker.synapse.org/${project.id}/model`,
    });
    const error = await client.entities
      .addDockerCommit(repo.id, { tag: 'v1', digest: digest('a') })
      .catch((e: unknown) => e);
    expect(isSynapseError(error, 400)).toBe(true);
    expect((error as Error).message).toContain('Commits for managed Docker repositories');
    expect(await statusOf(client.entities.addDockerCommit(project.id, { digest: digest('a') }))).toBe(400);
  });
});
