/**
 * `synapse-orchestrator setup` as an organizer runs it: the built CLI against a local platform. It makes
 * (then reuses) the project, output folder, template and queue, grants access, and prints the .env lines
 * the orchestrator's configuration loader accepts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import { CONCRETE } from '../../../src/synapse/types.js';
import { resolveTemplate } from '../../../src/templates/resolve.js';
import { zipBytes } from '../../support/archives.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

const TEMPLATE_URL = 'https://example.org/acme/challenge-workflow/archive/refs/heads/main.zip';
const ROOT = 'challenge-workflow-main/workflow.cwl';

let t: TestPlatform;
let organizer: SeededUser;
let rival: SeededUser;
let alice: SeededUser;
let dir: string;

/** Runs setup as `user` (null: with no SYNAPSE_PAT at all). */
function setup(args: string[], user: SeededUser | null = organizer, env: Record<string, string> = {}) {
  return runCli(['setup', ...args], {
    cwd: dir,
    env: {
      SYNAPSE_ENDPOINT: t.platform.url,
      ...(user === null ? {} : { SYNAPSE_PAT: user.token }),
      ...env,
    },
  });
}

function clientOf(user: SeededUser): SynapseClient {
  return new SynapseClient({ endpoint: t.endpoint, token: user.token, retry: FAST_RETRY });
}

/** The two .env lines, which setup prints last. */
function envLines(result: CliResult): {
  lines: string[];
  evaluationId: string;
  templateId: string;
  folderId: string;
} {
  const lines = result.stdout.trimEnd().split('\n').slice(-2);
  const templates = /^EVALUATION_TEMPLATES=(\{.*\})$/.exec(lines[0] ?? '');
  const folder = /^WORKFLOW_OUTPUT_ROOT_ENTITY_ID=(syn\d+)$/.exec(lines[1] ?? '');
  if (templates === null || folder === null)
    throw new Error(`no .env lines at the end of:\n${result.stdout}`);
  const map = JSON.parse(templates[1] ?? '') as Record<string, string>;
  const [evaluationId, templateId] = Object.entries(map)[0] ?? ['', ''];
  return { lines, evaluationId, templateId, folderId: folder[1] ?? '' };
}

function expectNoToken(result: CliResult): void {
  for (const token of [organizer.token, rival.token, alice.token, t.orchestrator.token]) {
    expect(result.stdout).not.toContain(token);
    expect(result.stderr).not.toContain(token);
  }
}

beforeAll(async () => {
  t = await startTestPlatform();
  organizer = await t.admin.createUser({ userName: 'organizer', firstName: 'Orga' });
  rival = await t.admin.createUser({ userName: 'rival' });
  alice = await t.admin.createUser({ userName: 'alice' });
  dir = mkdtempSync(join(tmpdir(), 'setup-e2e-'));
});

afterAll(async () => {
  await t.close();
});

describe('setup with a template URL, a submitter and a separate orchestrator account', () => {
  const args = () => [
    '--name',
    'Acme challenge',
    '--template-url',
    TEMPLATE_URL,
    '--root',
    ROOT,
    '--submitter',
    alice.ownerId,
    '--orchestrator',
    t.orchestrator.ownerId,
  ];
  let first: CliResult;
  let ids: ReturnType<typeof envLines>;

  beforeAll(async () => {
    first = await setup(args());
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    ids = envLines(first);
  });

  it('says what it created and ends with exactly the two .env lines', () => {
    expect(first.stdout).toMatch(/project +syn\d+ +"Acme challenge" +created/);
    expect(first.stdout).toMatch(/output folder +syn\d+ +"Output" +created/);
    expect(first.stdout).toMatch(/template +syn\d+ +"Acme challenge queue template" \(version 1\) +created/);
    expect(first.stdout).toMatch(/queue +\d+ +"Acme challenge queue" +created/);
    expect(first.stdout).toContain(`ROOT_TEMPLATE=${ROOT}`);
    expect(ids.lines).toEqual([
      `EVALUATION_TEMPLATES={"${ids.evaluationId}":"${ids.templateId}"}`,
      `WORKFLOW_OUTPUT_ROOT_ENTITY_ID=${ids.folderId}`,
    ]);
    expectNoToken(first);
  });

  it('made a project holding the output folder and the template, and a queue on that project', async () => {
    const client = clientOf(organizer);
    const folder = await client.entities.get(ids.folderId);
    expect(folder.concreteType).toBe(CONCRETE.folder);
    const project = await client.entities.get(folder.parentId ?? '');
    expect(project).toMatchObject({ name: 'Acme challenge', concreteType: CONCRETE.project });
    const template = await client.entities.get(ids.templateId);
    expect(template).toMatchObject({ concreteType: CONCRETE.fileEntity, parentId: project.id });
    const annotations = await client.entities.getAnnotations(ids.templateId);
    expect(annotations.annotations.ROOT_TEMPLATE).toEqual({ type: 'STRING', value: [ROOT] });
    const evaluation = await client.evaluations.get(ids.evaluationId);
    expect(evaluation).toMatchObject({ name: 'Acme challenge queue', contentSource: project.id });
  });

  it('lets the orchestrator account read the template as the orchestrator does, and use the queue and folder', async () => {
    const bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
    const template = await resolveTemplate(bot, ids.templateId);
    expect(template.rootTemplate).toBe(ROOT);
    expect(template.archive).toEqual({ kind: 'url', url: TEMPLATE_URL });
    for (const access of ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] as const) {
      expect(await bot.evaluations.hasAccess(ids.evaluationId, access)).toBe(true);
    }
    for (const access of ['CREATE', 'READ', 'UPDATE', 'DOWNLOAD', 'CHANGE_PERMISSIONS'] as const) {
      expect(await bot.entities.hasAccess(ids.folderId, access)).toBe(true);
    }
    // The grant on the folder takes nothing from the organizer.
    expect(await clientOf(organizer).entities.hasAccess(ids.folderId, 'CHANGE_PERMISSIONS')).toBe(true);
  });

  it('lets the participant given with --submitter submit, and nobody else', async () => {
    expect(await clientOf(alice).evaluations.hasAccess(ids.evaluationId, 'SUBMIT')).toBe(true);
    expect(await clientOf(rival).evaluations.hasAccess(ids.evaluationId, 'SUBMIT')).toBe(false);
    const file = join(dir, 'prediction.csv');
    writeFileSync(file, 'id,score\n1,0.5\n');
    const submitted = await runCli(['submit', '--evaluation', ids.evaluationId, file, '--json'], {
      cwd: dir,
      env: { SYNAPSE_ENDPOINT: t.platform.url, SYNAPSE_PAT: alice.token },
    });
    expect(submitted.stderr).toBe('');
    expect(submitted.status).toBe(0);
    const { submissionId } = JSON.parse(submitted.stdout) as { submissionId: string };
    const bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
    expect((await bot.evaluations.getStatus(submissionId)).status).toBe('RECEIVED');
  });

  it('prints lines the orchestrator configuration loader accepts as they are', () => {
    const envFile = join(dir, 'orchestrator.env');
    writeFileSync(
      envFile,
      [
        `SYNAPSE_ENDPOINT=${t.platform.url}`,
        `SYNAPSE_PAT=${t.orchestrator.token}`,
        'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
        ...ids.lines,
        '',
      ].join('\n'),
    );
    const { config } = loadConfig({ envFile, envFileMustExist: true, env: {} });
    expect(config.queues).toEqual([{ evaluationId: ids.evaluationId, templateEntityId: ids.templateId }]);
    expect(config.outputRootEntityId).toBe(ids.folderId);
  });

  it('reuses everything when run again, and makes no duplicates', async () => {
    const again = await setup(args());
    expect(again.stderr).toBe('');
    expect(again.status).toBe(0);
    expect(envLines(again).lines).toEqual(ids.lines);
    for (const what of ['project', 'output folder', 'queue']) {
      expect(again.stdout).toMatch(new RegExp(`${what} +\\S+ +"[^"]+" +reused`));
    }
    expect(again.stdout).toMatch(/template +syn\d+ +"[^"]+" \(version 1\) +reused/);
    expect(again.stdout).toContain('(already)');
    const state = await t.admin.dump();
    expect(Object.values(state.entities).filter((e) => e.name === 'Acme challenge')).toHaveLength(1);
    expect(Object.values(state.evaluations).filter((e) => e.name === 'Acme challenge queue')).toHaveLength(1);
    const projectId = (await clientOf(organizer).entities.get(ids.folderId)).parentId;
    expect(Object.values(state.entities).filter((e) => e.parentId === projectId)).toHaveLength(2);
    expectNoToken(again);
  });

  it('turns a new template URL into a new version of the same template entity', async () => {
    const url = 'https://example.org/acme/challenge-workflow/archive/refs/tags/v2.zip';
    const updated = await setup(args().map((arg) => (arg === TEMPLATE_URL ? url : arg)));
    expect(updated.status).toBe(0);
    expect(updated.stdout).toMatch(/template +syn\d+ +"[^"]+" \(version 2\) +updated/);
    expect(envLines(updated).lines).toEqual(ids.lines);
    const bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
    expect((await resolveTemplate(bot, ids.templateId)).archive).toEqual({ kind: 'url', url });
  });
});

describe('setup run by the orchestrator account itself, with an uploaded archive', () => {
  it('needs no grants, names the account that must run the orchestrator, and gives the same JSON', async () => {
    const archive = join(dir, 'workflow.zip');
    writeFileSync(
      archive,
      await zipBytes([{ name: 'wf-main/' }, { name: 'wf-main/workflow.cwl', data: 'cwlVersion: v1.0\n' }]),
    );
    const args = ['--name', 'Bot challenge', '--template-file', archive, '--root', 'wf-main/workflow.cwl'];
    const text = await setup(args, t.orchestrator);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('The orchestrator must run as orchestrator-bot');
    const json = await setup([...args, '--json'], t.orchestrator);
    expect(json.status).toBe(0);
    const result = JSON.parse(json.stdout) as {
      ok: boolean;
      envLines: string[];
      project: { action: string };
      template: { id: string; action: string };
      evaluation: { id: string; action: string };
    };
    expect(result.ok).toBe(true);
    expect(result.envLines).toEqual(envLines(text).lines);
    expect([result.project.action, result.template.action, result.evaluation.action]).toEqual([
      'reused',
      'reused',
      'reused',
    ]);
    const bot = new SynapseClient({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
    const template = await resolveTemplate(bot, result.template.id);
    expect(template.archive.kind).toBe('synapse-file');
    expect(await bot.evaluations.hasAccess(result.evaluation.id, 'UPDATE_SUBMISSION')).toBe(true);
    expectNoToken(text);
    expectNoToken(json);
  });

  it('names the project after the account and the day when --name is not given', async () => {
    const result = await setup(['--template-url', TEMPLATE_URL, '--root', ROOT, '--json'], rival);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as { project: { name: string }; evaluation: { name: string } };
    const day = new Date().toISOString().slice(0, 10);
    expect(parsed.project.name).toBe(`Orchestrator challenge rival ${day}`);
    expect(parsed.evaluation.name).toBe(`Orchestrator challenge rival ${day} queue`);
  });
});

describe('setup refuses what it cannot do, naming what to change', () => {
  it('refuses a queue name another project owns, and leaves no project behind', async () => {
    const project = await t.admin.createProject('Rival project', rival.ownerId);
    await t.admin.createEvaluation({
      name: 'Popular queue',
      ownerId: rival.ownerId,
      contentSource: project.id,
      permissions: {},
    });
    const result = await setup([
      '--name',
      'Fresh',
      '--queue-name',
      'Popular queue',
      '--template-url',
      TEMPLATE_URL,
      '--root',
      ROOT,
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--queue-name');
    expect(result.stderr).toContain('Popular queue');
    const state = await t.admin.dump();
    expect(Object.values(state.entities).some((e) => e.name === 'Fresh')).toBe(false);
  });

  it('refuses a project name taken by a project the account may not use', async () => {
    const result = await setup(['--name', 'Rival project', '--template-url', TEMPLATE_URL, '--root', ROOT]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--name');
    expect(result.stderr).toContain('Rival project');
  });

  it('checks an uploaded archive holds --root', async () => {
    const archive = join(dir, 'other.zip');
    writeFileSync(archive, await zipBytes([{ name: 'repo-main/main.cwl', data: 'cwlVersion: v1.0\n' }]));
    const result = await setup(['--name', 'Fresh', '--template-file', archive, '--root', 'main.cwl']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--root "main.cwl" is not a file in');
    const notZip = join(dir, 'notes.txt');
    writeFileSync(notZip, 'hello\n');
    const text = await setup(['--name', 'Fresh', '--template-file', notZip, '--root', 'main.cwl']);
    expect(text.status).toBe(2);
    expect(text.stderr).toContain('--template-file');
  });

  it.each([
    [[], '--template-url <URL of a zip> or --template-file'],
    [['--template-url', TEMPLATE_URL, '--template-file', 'x.zip'], 'not both'],
    [['--template-url', 'ftp://example.org/x.zip'], '--template-url'],
    [['--template-url', TEMPLATE_URL, '--root', '../up.cwl'], '--root'],
    [['--template-url', TEMPLATE_URL, '--root', ROOT, '--name', 'Bad/name'], '--name'],
    [['--template-url', TEMPLATE_URL, '--root', ROOT, '--submitter', '424242'], '--submitter 424242'],
  ])('refuses %j, naming %s', async (args, named) => {
    const result = await setup(args.includes('--root') ? args : [...args, '--root', ROOT]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(named);
  });

  it('asks for --root', async () => {
    const result = await setup(['--template-url', TEMPLATE_URL]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--root is required');
  });

  it('asks for SYNAPSE_PAT, naming the variable, without needing any orchestrator variable', async () => {
    const result = await setup(['--template-url', TEMPLATE_URL, '--root', ROOT], null);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('SYNAPSE_PAT: not set');
    expect(result.stderr).not.toContain('EVALUATION_TEMPLATES');
  });

  it('reads the account from --env-file, and says so when the file is missing', async () => {
    const envFile = join(dir, 'organizer.env');
    writeFileSync(envFile, `SYNAPSE_ENDPOINT=${t.platform.url}\nSYNAPSE_PAT=${organizer.token}\n`);
    const ok = await runCli(
      [
        '--env-file',
        envFile,
        'setup',
        '--name',
        'From env file',
        '--template-url',
        TEMPLATE_URL,
        '--root',
        ROOT,
      ],
      { cwd: dir },
    );
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('as organizer');
    const missing = await runCli(
      ['--env-file', join(dir, 'nope.env'), 'setup', '--template-url', TEMPLATE_URL, '--root', ROOT],
      {
        cwd: dir,
      },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--env-file');
    expect(missing.stderr).toContain('no such file');
    expectNoToken(ok);
  });
});
