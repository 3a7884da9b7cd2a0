/**
 * `synapse-orchestrator submit --docker-image` against a real registry (docker-registry on 127.0.0.1)
 * and the real Docker engine: the tag is resolved to the digest the registry serves, the submission
 * carries the repository and the digest, and its name keeps the tag. Synapse-managed repositories
 * (docker.synapse.org) are covered in-process with a stand-in resolver, since that registry is not here.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { UsageError } from '../../../src/organizer/errors.js';
import { submitImage } from '../../../src/organizer/submit.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import { CONCRETE, type Evaluation } from '../../../src/synapse/types.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { STEP_IMAGE } from '../../support/challenge.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { describeWithRegistry, startTestRegistry, type TestRegistry } from '../../support/registry.js';

let t: TestPlatform;
let alice: SeededUser;
let evaluation: Evaluation;
let bot: SynapseClient;
let dir: string;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

interface SubmitJson {
  submissionId: string;
  submission: { name: string; dockerRepositoryName: string; dockerDigest: string };
  entity: { id: string; parentName: string; action: string };
  image: { repository: string; tag?: string; digest: string; managed: boolean };
}

function submit(args: string[]): Promise<CliResult> {
  return runCli(['submit', '--evaluation', evaluation.id, ...args], {
    cwd: dir,
    env: { SYNAPSE_ENDPOINT: t.platform.url, SYNAPSE_PAT: alice.token },
  });
}

function expectNoToken(result: CliResult): void {
  for (const token of [alice.token, t.orchestrator.token]) {
    expect(result.stdout).not.toContain(token);
    expect(result.stderr).not.toContain(token);
  }
}

beforeAll(async () => {
  t = await startTestPlatform();
  const organizer = await t.admin.createUser({ userName: 'organizer' });
  alice = await t.admin.createUser({ userName: 'alice' });
  const project = await t.admin.createProject('Docker challenge', organizer.ownerId);
  evaluation = await t.admin.createEvaluation({
    name: 'Docker queue',
    ownerId: organizer.ownerId,
    contentSource: project.id,
    permissions: {
      [alice.ownerId]: ['READ', 'SUBMIT'],
      [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'],
    },
  });
  bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
  dir = mkdtempSync(join(tmpdir(), 'submit-docker-e2e-'));
});

afterAll(async () => {
  await t.close();
});

describeWithRegistry('submit a Docker image from a registry', () => {
  let registry: TestRegistry;
  let v1: string;
  let v2: string;
  const docker = new Docker();

  beforeAll(async () => {
    registry = await startTestRegistry();
    v1 = await registry.push(STEP_IMAGE, 'demo/busybox', 'v1');
    // A second, different image: the same files with one more label (committed, never run).
    const container = await docker.createContainer({ Image: STEP_IMAGE, Cmd: ['true'] });
    try {
      const committed = (await container.commit({ changes: ['LABEL variant=two'] })) as { Id: string };
      v2 = await registry.push(committed.Id, 'demo/busybox', 'v2');
      await docker
        .getImage(committed.Id)
        .remove({ force: true })
        .catch(() => undefined);
    } finally {
      await container.remove({ force: true });
    }
  });

  afterAll(async () => {
    await registry.stop();
  });

  it('resolves the tag to the digest the registry serves and submits repository and digest, the tag in the name', async () => {
    expect(v1).toMatch(DIGEST);
    expect(await registry.manifestDigest('demo/busybox', 'v1')).toBe(v1);
    const image = `${registry.host}/demo/busybox:v1`;
    const result = await submit(['--docker-image', image, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.image).toEqual({
      repository: `${registry.host}/demo/busybox`,
      tag: 'v1',
      digest: v1,
      managed: false,
    });
    const submission = await bot.evaluations.submission(parsed.submissionId);
    expect(submission).toMatchObject({
      dockerRepositoryName: `${registry.host}/demo/busybox`,
      dockerDigest: v1,
      name: image,
    });
    expect((await bot.evaluations.getStatus(parsed.submissionId)).status).toBe('RECEIVED');
    // An unmanaged repository entity in the submitter's project, with the tag/digest pair recorded.
    const alicesClient = new SynapseClient({ endpoint: t.endpoint, token: alice.token, retry: FAST_RETRY });
    const entity = await alicesClient.entities.get(parsed.entity.id);
    expect(entity).toMatchObject({
      concreteType: CONCRETE.dockerRepository,
      repositoryName: `${registry.host}/demo/busybox`,
    });
    expect(parsed.entity).toMatchObject({ parentName: 'alice submissions', action: 'created' });
    expect(await alicesClient.entities.listDockerTags(entity.id)).toEqual([
      expect.objectContaining({ tag: 'v1', digest: v1 }),
    ]);
    expectNoToken(result);
  });

  it('prints repository, tag and digest', async () => {
    const result = await submit(['--docker-image', `${registry.host}/demo/busybox:v2`]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(v2).not.toBe(v1);
    expect(result.stdout).toContain(`Resolved ${registry.host}/demo/busybox:v2 to ${v2}`);
    expect(result.stdout).toMatch(
      new RegExp(`repository +${registry.host.replace(/\./g, '\\.')}/demo/busybox \\(syn\\d+`),
    );
    expect(result.stdout).toMatch(/tag +v2\n/);
    expect(result.stdout).toContain(`digest       ${v2}`);
    expect(result.stdout).toMatch(/name +127\.0\.0\.1:\d+\/demo\/busybox:v2\n/);
    expectNoToken(result);
  });

  it('reuses the repository entity, and follows a tag that moved to another image', async () => {
    await registry.push(STEP_IMAGE, 'demo/busybox', 'v2');
    const result = await submit(['--docker-image', `${registry.host}/demo/busybox:v2`, '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.image.digest).toBe(v1);
    expect(parsed.entity.action).toBe('reused');
    expect((await bot.evaluations.submission(parsed.submissionId)).dockerDigest).toBe(v1);
  });

  it('keeps a digest reference as it is, naming the submission after the short digest', async () => {
    const result = await submit(['--docker-image', `${registry.host}/demo/busybox@${v1}`, '--json']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.image.digest).toBe(v1);
    expect(parsed.image.tag).toBeUndefined();
    const submission = await bot.evaluations.submission(parsed.submissionId);
    expect(submission).toMatchObject({
      dockerDigest: v1,
      name: `${registry.host}/demo/busybox@${v1.slice(0, 'sha256:'.length + 12)}`,
    });
  });

  it('names the image when the tag does not exist, and submits nothing', async () => {
    const before = Object.keys((await t.admin.dump()).submissions).length;
    const image = `${registry.host}/demo/busybox:nope`;
    const result = await submit(['--docker-image', image]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(image);
    expect(result.stderr).toContain('not found');
    expect(result.stderr).toContain('no tag nope');
    const latest = await submit(['--docker-image', `${registry.host}/demo/busybox`]);
    expect(latest.status).toBe(1);
    expect(latest.stderr).toContain('no tag latest');
    expect(Object.keys((await t.admin.dump()).submissions)).toHaveLength(before);
    expectNoToken(result);
  });

  it('says when the registry cannot be reached', async () => {
    const result = await submit(['--docker-image', '127.0.0.1:1/demo/busybox:v1']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('could not reach the registry 127.0.0.1:1');
  });

  it('refuses a malformed reference, naming --docker-image', async () => {
    const result = await submit(['--docker-image', `${registry.host}/Demo/BusyBox:v1`]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--docker-image');
    expect(result.stderr).toContain('lowercase');
  });
});

describe('submit an image of a Synapse-managed repository (docker.synapse.org)', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  let client: SynapseClient;
  let projectId: string;

  beforeAll(async () => {
    client = new SynapseClient({ endpoint: t.endpoint, token: alice.token, retry: FAST_RETRY });
    projectId = (await client.entities.create({ name: 'Alice models', concreteType: CONCRETE.project })).id;
    // What a push to docker.synapse.org leaves behind: a DockerRepository entity in the project.
    await client.entities.create({
      name: `docker.synapse.org/${projectId}/model`,
      concreteType: CONCRETE.dockerRepository,
      parentId: projectId,
      repositoryName: `docker.synapse.org/${projectId}/model`,
    });
  });

  it("submits Synapse's own repository entity with the digest, and records no commit of its own", async () => {
    const image = `docker.synapse.org/${projectId}/model:v3`;
    const result = await submitImage(client, {
      evaluationId: evaluation.id,
      image,
      resolve: (reference) => Promise.resolve({ repository: reference.repository, tag: 'v3', digest }),
    });
    expect(result.image).toMatchObject({ managed: true, tag: 'v3', digest });
    expect(result.submission).toMatchObject({
      dockerRepositoryName: `docker.synapse.org/${projectId}/model`,
      dockerDigest: digest,
      name: image,
    });
    expect(result.entity.parentId).toBe(projectId);
    expect(await client.entities.listDockerTags(result.entity.id)).toEqual([]);
  });

  it('says to push first when Synapse has no such repository, and how managed names look', async () => {
    const resolve = () => Promise.resolve({ repository: 'x', tag: 'v1', digest });
    await expect(
      submitImage(client, {
        evaluationId: evaluation.id,
        image: `docker.synapse.org/${projectId}/other:v1`,
        resolve,
      }),
    ).rejects.toThrow(/has no Docker repository .*Push the image there first/);
    await expect(
      submitImage(client, { evaluationId: evaluation.id, image: 'docker.synapse.org/model:v1', resolve }),
    ).rejects.toBeInstanceOf(UsageError);
  });
});
