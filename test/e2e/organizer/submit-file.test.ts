/**
 * `synapse-orchestrator submit <file>` as a participant runs it: the built CLI against a local platform.
 * The orchestrator's account then sees a RECEIVED submission whose file downloads with the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import type { Evaluation, Submission, Team } from '../../../src/synapse/types.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

let t: TestPlatform;
let organizer: SeededUser;
let alice: SeededUser;
let bob: SeededUser;
let outsider: SeededUser;
let reader: SeededUser;
let team: Team;
let evaluation: Evaluation;
let bot: SynapseClient;
let dir: string;

function submit(args: string[], user: SeededUser | null = alice): Promise<CliResult> {
  return runCli(['submit', ...args], {
    cwd: dir,
    env: { SYNAPSE_ENDPOINT: t.platform.url, ...(user === null ? {} : { SYNAPSE_PAT: user.token }) },
  });
}

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The submitted file's bytes, fetched as the orchestrator fetches them. */
async function submittedBytes(submission: Submission): Promise<Buffer> {
  const bundle = JSON.parse(submission.entityBundleJSON) as { entity: { dataFileHandleId: string } };
  const url = await bot.evaluations.submissionFileUrl(submission.id, bundle.entity.dataFileHandleId);
  const target = join(mkdtempSync(join(tmpdir(), 'submitted-')), 'file');
  await bot.files.downloadToFile(url, target);
  return readFileSync(target);
}

function expectNoToken(result: CliResult): void {
  for (const token of [
    organizer.token,
    alice.token,
    bob.token,
    outsider.token,
    reader.token,
    t.orchestrator.token,
  ]) {
    expect(result.stdout).not.toContain(token);
    expect(result.stderr).not.toContain(token);
  }
}

interface SubmitJson {
  ok: boolean;
  submissionId: string;
  status: string;
  submission: Submission;
  entity: { id: string; versionNumber: number; parentId: string; parentName: string; action: string };
  team?: { id: string; contributors: string[] };
}

beforeAll(async () => {
  t = await startTestPlatform();
  organizer = await t.admin.createUser({ userName: 'organizer' });
  alice = await t.admin.createUser({ userName: 'alice' });
  bob = await t.admin.createUser({ userName: 'bob' });
  outsider = await t.admin.createUser({ userName: 'outsider' });
  reader = await t.admin.createUser({ userName: 'reader' });
  team = await t.admin.createTeam('Team Alice', [alice.ownerId, bob.ownerId]);
  const project = await t.admin.createProject('Challenge', organizer.ownerId);
  evaluation = await t.admin.createEvaluation({
    name: 'Challenge queue',
    ownerId: organizer.ownerId,
    contentSource: project.id,
    permissions: {
      [alice.ownerId]: ['READ', 'SUBMIT'],
      [bob.ownerId]: ['READ', 'SUBMIT'],
      [reader.ownerId]: ['READ'],
      [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'],
    },
  });
  bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
  dir = mkdtempSync(join(tmpdir(), 'submit-file-e2e-'));
});

afterAll(async () => {
  await t.close();
});

describe('submit a file', () => {
  let first: CliResult;
  let bytes: Buffer;

  beforeAll(async () => {
    bytes = Buffer.concat([Buffer.from('id,score\n'), randomBytes(2048)]);
    first = await submit(['--evaluation', evaluation.id, file('prediction.csv', bytes)]);
  });

  it('prints the submission, and the queue holds it RECEIVED with the same bytes and the file name as its name', async () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const id = /submission +(\d+)/.exec(first.stdout)?.[1] ?? '';
    expect(first.stdout).toContain(`Submitted to evaluation ${evaluation.id} ("Challenge queue") as alice`);
    expect(first.stdout).toMatch(/status +RECEIVED/);
    expect(first.stdout).toMatch(/file +syn\d+ version 1 in syn\d+ \("alice submissions"\), created/);
    const submission = await bot.evaluations.submission(id);
    expect(submission).toMatchObject({
      evaluationId: evaluation.id,
      userId: alice.ownerId,
      name: 'prediction.csv',
    });
    expect((await bot.evaluations.getStatus(id)).status).toBe('RECEIVED');
    expect((await submittedBytes(submission)).equals(bytes)).toBe(true);
    expectNoToken(first);
  });

  it('stores a changed file as a new version of the same entity, under the name given', async () => {
    const changed = Buffer.from('id,score\n1,0.9\n');
    const result = await submit([
      '--evaluation',
      evaluation.id,
      file('prediction.csv', changed),
      '--name',
      'Second try',
      '--json',
    ]);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.ok).toBe(true);
    expect(parsed.status).toBe('RECEIVED');
    expect(parsed.entity).toMatchObject({
      versionNumber: 2,
      parentName: 'alice submissions',
      action: 'updated',
    });
    expect(parsed.submission).not.toHaveProperty('entityBundleJSON');
    const submission = await bot.evaluations.submission(parsed.submissionId);
    expect(submission).toMatchObject({ name: 'Second try', versionNumber: 2, entityId: parsed.entity.id });
    expect((await submittedBytes(submission)).equals(changed)).toBe(true);
    // The first submission still has the first version's bytes.
    const firstId = /submission +(\d+)/.exec(first.stdout)?.[1] ?? '';
    expect((await submittedBytes(await bot.evaluations.submission(firstId))).equals(bytes)).toBe(true);
  });

  it('stores the file in the project given with --project', async () => {
    const alicesClient = new SynapseClient({ endpoint: t.endpoint, token: alice.token, retry: FAST_RETRY });
    const project = await alicesClient.entities.create({
      name: 'Alice lab',
      concreteType: 'org.sagebionetworks.repo.model.Project',
    });
    const result = await submit([
      '--evaluation',
      evaluation.id,
      file('model.txt', 'weights'),
      '--project',
      project.id,
      '--json',
    ]);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.entity).toMatchObject({ parentId: project.id, action: 'created' });
  });

  it('submits for a team, crediting its members', async () => {
    const result = await submit([
      '--evaluation',
      evaluation.id,
      file('team.csv', 'id\n1\n'),
      '--team',
      team.id,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as SubmitJson;
    expect(parsed.team?.contributors.sort()).toEqual([alice.ownerId, bob.ownerId].sort());
    const submission = await bot.evaluations.submission(parsed.submissionId);
    expect(submission).toMatchObject({ teamId: team.id, submitterAlias: 'Team Alice' });
  });
});

describe('submit refuses, naming what to fix', () => {
  it.each([
    [['--evaluation', '999999', 'FILE'], 2, '--evaluation 999999'],
    [['--evaluation', 'abc', 'FILE'], 2, '--evaluation "abc"'],
    [['--evaluation', 'EVAL', 'missing.csv'], 2, 'missing.csv: no such file'],
    [['--evaluation', 'EVAL'], 2, 'Give what to submit'],
    [['--evaluation', 'EVAL', 'FILE', '--docker-image', 'x/y:1'], 2, 'not both'],
    [['FILE'], 2, '--evaluation <id> is required'],
    [['--evaluation', 'EVAL', 'FILE', '--team', '424242'], 2, '--team 424242'],
    [['--evaluation', 'EVAL', 'FILE', '--project', 'syn999999'], 2, '--project syn999999'],
  ])('%j exits %i naming %s', async (args, status, named) => {
    const path = file('ok.csv', 'id\n1\n');
    const result = await submit(args.map((a) => (a === 'FILE' ? path : a === 'EVAL' ? evaluation.id : a)));
    expect(result.status).toBe(status);
    expect(result.stderr).toContain(named);
    expectNoToken(result);
  });

  it('refuses an empty file', async () => {
    const result = await submit(['--evaluation', evaluation.id, file('empty.csv', '')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('empty.csv: the file is empty');
  });

  it('says whom to ask when the account may not submit to the queue, or not even see it', async () => {
    const path = file('x.csv', 'id\n1\n');
    const readOnly = await submit(['--evaluation', evaluation.id, path], reader);
    expect(readOnly.status).toBe(1);
    expect(readOnly.stderr).toContain(
      `reader (${reader.ownerId}) may not submit to evaluation ${evaluation.id}`,
    );
    expect(readOnly.stderr).toContain(`--submitter ${reader.ownerId}`);
    const stranger = await submit(['--evaluation', evaluation.id, path], outsider);
    expect(stranger.status).toBe(1);
    expect(stranger.stderr).toContain(
      `outsider (${outsider.ownerId}) may not see evaluation ${evaluation.id}`,
    );
    expect(stranger.stderr).toContain(`--submitter ${outsider.ownerId}`);
  });

  it('asks for SYNAPSE_PAT', async () => {
    const result = await submit(['--evaluation', evaluation.id, file('x.csv', 'id\n1\n')], null);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('SYNAPSE_PAT: not set');
  });

  it('says when the platform refuses the token, or does not answer', async () => {
    const path = file('x.csv', 'id\n1\n');
    const refused = await runCli(['submit', '--evaluation', evaluation.id, path], {
      cwd: dir,
      env: { SYNAPSE_ENDPOINT: t.platform.url, SYNAPSE_PAT: 'not-a-token-the-platform-knows' },
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('SYNAPSE_PAT was refused');
    expect(refused.stderr).not.toContain('not-a-token-the-platform-knows');
    const silent = await runCli(['submit', '--evaluation', evaluation.id, path], {
      cwd: dir,
      env: { SYNAPSE_ENDPOINT: 'http://127.0.0.1:1', SYNAPSE_PAT: alice.token },
    });
    expect(silent.status).toBe(2);
    expect(silent.stderr).toContain('SYNAPSE_ENDPOINT did not answer');
  });

  it('reports errors as JSON with --json', async () => {
    const result = await submit(['--evaluation', '999999', file('x.csv', 'id\n1\n'), '--json']);
    expect(result.status).toBe(2);
    const parsed = JSON.parse(result.stdout) as { ok: boolean; error: string };
    expect(parsed.ok).toBe(false);
    expect(parsed.error).toContain('--evaluation 999999');
  });
});
