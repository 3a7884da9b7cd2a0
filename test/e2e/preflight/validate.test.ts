/**
 * `synapse-orchestrator validate` as a preflight: the built CLI against a real local platform and the real
 * Docker engine. A good setup passes every check; a misconfigured one names each problem and what to fix;
 * nothing on the platform changes; nothing is left behind.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PREFLIGHT_LABEL } from '../../../src/preflight/engine-checks.js';
import type { CheckResult, PreflightJson } from '../../../src/preflight/report.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import { ENGINE_IMAGE, STEP_IMAGE, shellTool, zipFiles } from '../../support/challenge.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { describeWithDocker } from '../../support/docker.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { describeWithRegistry, startTestRegistry, type TestRegistry } from '../../support/registry.js';

const ROOT = 'wf-main/workflow.cwl';

/** The lines of the human output, by check name. */
function lineOf(result: CliResult, name: string): string {
  const line = result.stdout.split('\n').find((l) => l.slice(2).startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no line for ${name} in:\n${result.stdout}`);
  return line;
}

/** The fix printed under a check's line. */
function fixOf(result: CliResult, name: string): string {
  const lines = result.stdout.split('\n');
  const at = lines.indexOf(lineOf(result, name));
  const next = lines[at + 1] ?? '';
  return next.startsWith('    → ') ? next.slice(6) : '';
}

function scratchDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('synapse-orchestrator-validate-'));
}

async function preflightContainers(): Promise<number> {
  const all = await new Docker().listContainers({ all: true, filters: { label: [PREFLIGHT_LABEL] } });
  return all.length;
}

describeWithDocker('validate: the preflight against the local platform and Docker', () => {
  let tp: TestPlatform;
  let goodEnv: Record<string, string>;
  let badEnv: Record<string, string>;
  let workDir: string;
  const cwd = mkdtempSync(join(tmpdir(), 'validate-preflight-cwd-'));
  const ids = {
    goodQueue: '',
    goodTemplate: '',
    output: '',
    noUpdateQueue: '',
    extraInputTemplate: '',
    noRootQueue: '',
    noRootTemplate: '',
    wrongRootQueue: '',
    wrongRootTemplate: '',
    lockedOutput: '',
  };

  const validate = (env: Record<string, string>, ...args: string[]) =>
    runCli(['validate', ...args], { env, cwd });

  beforeAll(async () => {
    tp = await startTestPlatform();
    const orchestrator = tp.orchestrator.ownerId;
    const organizer = await tp.admin.createUser({
      userName: 'organizer',
      firstName: 'Org',
      lastName: 'Anizer',
    });
    const project = await tp.admin.createProject('Preflight challenge', orchestrator);
    const output = await tp.admin.createFolder('Output', project.id, orchestrator);
    ids.output = output.id;

    const template = async (name: string, files: Record<string, string>, rootTemplate?: string) => {
      const archive = await zipFiles(files);
      const created = await tp.admin.createTemplate({
        name,
        parentId: project.id,
        ownerId: orchestrator,
        ...(rootTemplate === undefined ? {} : { rootTemplate }),
        archiveBase64: archive.toString('base64'),
        fileName: name,
      });
      return created.id;
    };
    const queue = async (name: string, rights: string[]) => {
      const created = await tp.admin.createEvaluation({
        name,
        ownerId: organizer.ownerId,
        contentSource: project.id,
        permissions: { [orchestrator]: rights as never[] },
      });
      return created.id;
    };
    const allRights = ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'];

    ids.goodTemplate = await template(
      'good.zip',
      { [ROOT]: shellTool('true'), 'wf-main/README.md': 'hi' },
      ROOT,
    );
    ids.goodQueue = await queue('Good queue', allRights);

    const extraInput = `${shellTool('true').replace('outputs: []', '')}  threshold: float\noutputs: []\n`;
    ids.extraInputTemplate = await template('extra.zip', { [ROOT]: extraInput }, ROOT);
    ids.noUpdateQueue = await queue('Queue without UPDATE_SUBMISSION', ['READ', 'READ_PRIVATE_SUBMISSION']);
    ids.noRootTemplate = await template('no-root.zip', { [ROOT]: shellTool('true') });
    ids.noRootQueue = await queue('Queue with a template without ROOT_TEMPLATE', allRights);
    ids.wrongRootTemplate = await template('wrong-root.zip', { [ROOT]: shellTool('true') }, 'workflow.cwl');
    ids.wrongRootQueue = await queue('Queue whose ROOT_TEMPLATE is not in the archive', allRights);

    // An output root the orchestrator may only read: the organizer's project, shared with READ.
    const lockedProject = await tp.admin.createProject('Organizer only', organizer.ownerId);
    const organizerClient = new SynapseClient({
      endpoint: tp.endpoint,
      token: organizer.token,
      retry: FAST_RETRY,
    });
    const acl = await organizerClient.acl.get(lockedProject.id);
    if (acl === undefined) throw new Error('a project has its own ACL');
    await organizerClient.acl.update({
      ...acl,
      resourceAccess: [...acl.resourceAccess, { principalId: Number(orchestrator), accessType: ['READ'] }],
    });
    ids.lockedOutput = lockedProject.id;

    workDir = mkdtempSync(join(tmpdir(), 'validate-preflight-work-'));
    goodEnv = {
      SYNAPSE_ENDPOINT: tp.platform.url,
      SYNAPSE_PAT: tp.orchestrator.token,
      EVALUATION_TEMPLATES: JSON.stringify({ [ids.goodQueue]: ids.goodTemplate }),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: ids.output,
      DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
      WORKFLOW_ENGINE_DOCKER_IMAGE: ENGINE_IMAGE,
      WORKFLOW_ENGINE_COMMAND: 'cwltool',
      ORCHESTRATOR_WORK_DIR: workDir,
      ORCHESTRATOR_ID: 'preflight-test',
      NOTIFICATION_PRINCIPAL_ID: organizer.ownerId,
    };
    badEnv = {
      ...goodEnv,
      EVALUATION_TEMPLATES: JSON.stringify({
        [ids.goodQueue]: ids.goodTemplate,
        [ids.noUpdateQueue]: ids.extraInputTemplate,
        [ids.noRootQueue]: ids.noRootTemplate,
        [ids.wrongRootQueue]: ids.wrongRootTemplate,
      }),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: ids.lockedOutput,
      WORKFLOW_ENGINE_DOCKER_IMAGE: 'local/absent-engine-image:0',
      IMAGE_PULL_POLICY: 'never',
    };
  });

  afterAll(async () => {
    await tp.close();
  });

  it('passes every check of a good setup, exit 0, and leaves nothing behind', async () => {
    const scratchBefore = scratchDirs().length;
    const result = await validate(goodEnv);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    const checks = lines.slice(0, -2);
    expect(checks.every((line) => line.startsWith('✔ '))).toBe(true);
    expect(lines.at(-1)).toBe(`All ${checks.length} checks passed.`);
    expect(lineOf(result, 'Synapse account')).toContain(
      `signed in as orchestrator-bot (${tp.orchestrator.ownerId})`,
    );
    expect(lineOf(result, `Queue ${ids.goodQueue}`)).toContain('"Good queue"');
    expect(lineOf(result, `Output folder ${ids.output}`)).toContain('"Output"');
    expect(lineOf(result, 'NOTIFICATION_PRINCIPAL_ID')).toContain('the user organizer');
    expect(lineOf(result, `Template ${ids.goodTemplate} (queue ${ids.goodQueue})`)).toContain(
      `${ROOT} (CommandLineTool, from synapse file good.zip) declares the 5 inputs`,
    );
    expect(lineOf(result, 'Docker engine')).toContain('unix:///var/run/docker.sock answers');
    expect(lineOf(result, 'Engine image')).toContain(`${ENGINE_IMAGE} is on the engine`);
    expect(lineOf(result, 'Job directory')).toContain('at the same path');
    expect(lineOf(result, 'Engine command')).toContain(`${ENGINE_IMAGE} has cwltool`);
    expect(result.stdout).not.toContain(tp.orchestrator.token);

    expect(readdirSync(workDir)).toEqual([]);
    expect(scratchDirs()).toHaveLength(scratchBefore);
    expect(await preflightContainers()).toBe(0);
  });

  it('gives the same as one JSON object with --json', async () => {
    const result = await validate(goodEnv, '--json');
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as PreflightJson;
    expect(parsed.ok).toBe(true);
    expect(parsed.offline).toBe(false);
    expect(parsed.checks.map((c) => c.name)).toEqual([
      'Configuration',
      'Synapse account',
      `Queue ${ids.goodQueue}`,
      `Output folder ${ids.output}`,
      'NOTIFICATION_PRINCIPAL_ID',
      `Template ${ids.goodTemplate} (queue ${ids.goodQueue})`,
      'Docker engine',
      'Engine image',
      'Job directory',
      'Engine command',
    ]);
    for (const check of parsed.checks) {
      expect(check.status).toBe('ok');
      expect(Object.keys(check).sort()).toEqual(['detail', 'name', 'status']);
      expect(check.detail).not.toBe('');
    }
  });

  it('names every problem of a misconfigured setup with what to fix, exit 1', async () => {
    const result = await validate(badEnv);
    expect(result.status).toBe(1);
    const account = `orchestrator-bot (${tp.orchestrator.ownerId})`;

    // The queue without UPDATE_SUBMISSION: the right, the queue and the account are named.
    const noUpdate = `Queue ${ids.noUpdateQueue}`;
    expect(lineOf(result, noUpdate)).toMatch(/^✖ /);
    expect(lineOf(result, noUpdate)).toContain(`${account} lacks UPDATE_SUBMISSION`);
    expect(fixOf(result, noUpdate)).toBe(
      `Grant ${account} UPDATE_SUBMISSION in the sharing settings of queue ${ids.noUpdateQueue} "Queue without UPDATE_SUBMISSION" (it needs READ, READ_PRIVATE_SUBMISSION and UPDATE_SUBMISSION).`,
    );
    expect(lineOf(result, `Queue ${ids.goodQueue}`)).toMatch(/^✔ /);

    // The output root the account may only read.
    const output = `Output folder ${ids.lockedOutput}`;
    expect(lineOf(result, output)).toContain(
      `${account} lacks CREATE, UPDATE, DOWNLOAD and CHANGE_PERMISSIONS`,
    );
    expect(fixOf(result, output)).toContain(
      `Grant ${account} CREATE, UPDATE, DOWNLOAD and CHANGE_PERMISSIONS on ${ids.lockedOutput}`,
    );

    // The workflow with an extra required input.
    const extra = `Template ${ids.extraInputTemplate} (queue ${ids.noUpdateQueue})`;
    expect(lineOf(result, extra)).toMatch(/^✖ /);
    expect(lineOf(result, extra)).toContain(`${ROOT} requires the input threshold (float)`);
    expect(fixOf(result, extra)).toBe(`Give threshold a default or make it optional (float?) in ${ROOT}.`);

    // The template without ROOT_TEMPLATE.
    const noRoot = `Template ${ids.noRootTemplate} (queue ${ids.noRootQueue})`;
    expect(lineOf(result, noRoot)).toContain('Expected annotation called ROOT_TEMPLATE');
    expect(fixOf(result, noRoot)).toContain(`Add a STRING annotation ROOT_TEMPLATE to ${ids.noRootTemplate}`);

    // ROOT_TEMPLATE not in the archive: the cache's message, with its guess.
    const wrongRoot = `Template ${ids.wrongRootTemplate} (queue ${ids.wrongRootQueue})`;
    expect(lineOf(result, wrongRoot)).toContain('workflow.cwl is not in the unzipped archive');
    expect(lineOf(result, wrongRoot)).toContain(`Did you mean ROOT_TEMPLATE '${ROOT}'?`);
    expect(fixOf(result, wrongRoot)).toBe(
      `Set ROOT_TEMPLATE on ${ids.wrongRootTemplate} to the workflow's path inside the archive.`,
    );

    // The absent engine image with IMAGE_PULL_POLICY=never; what needs it is not checked, not passed.
    expect(lineOf(result, 'Engine image')).toContain(
      'local/absent-engine-image:0 is not on the engine, and IMAGE_PULL_POLICY=never forbids pulling it',
    );
    expect(fixOf(result, 'Engine image')).toContain('change IMAGE_PULL_POLICY');
    expect(lineOf(result, 'Job directory')).toMatch(/^○ /);
    expect(lineOf(result, 'Engine command')).toMatch(/^○ /);

    expect(result.stdout.trim().split('\n').at(-1)).toBe(
      '6 problems: fix them and run validate again. (2 checks could not run until then.)',
    );
    expect(await preflightContainers()).toBe(0);
  });

  it('says when the Docker engine does not answer, and checks nothing that needs it', async () => {
    for (const url of ['unix:///nonexistent.sock', 'tcp://127.0.0.1:1']) {
      const result = await validate({ ...goodEnv, DOCKER_ENGINE_URL: url }, '--json');
      expect(result.status).toBe(1);
      const { ok, checks } = JSON.parse(result.stdout) as PreflightJson;
      expect(ok).toBe(false);
      const byName = new Map(checks.map((c): [string, CheckResult] => [c.name, c]));
      const engine = byName.get('Docker engine');
      expect(engine?.status).toBe('problem');
      expect(engine?.detail).toContain(`The Docker engine at ${url} does not answer`);
      expect(engine?.fix).toContain('DOCKER_ENGINE_URL');
      expect(byName.get('Engine image')?.status).toBe('not checked');
      expect(byName.get('Job directory')?.status).toBe('not checked');
      expect(byName.get('Engine command')?.status).toBe('not checked');
      expect(byName.get('Synapse account')?.status).toBe('ok');
      expect(byName.get(`Template ${ids.goodTemplate} (queue ${ids.goodQueue})`)?.status).toBe('ok');
    }
  });

  it('says a bad token is invalid or expired, without printing it', async () => {
    const badToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"1"}').toString('base64url')}.not-a-real-signature`;
    const result = await validate({ ...goodEnv, SYNAPSE_PAT: badToken });
    expect(result.status).toBe(1);
    expect(lineOf(result, 'Synapse account')).toMatch(
      /^✖ .*refused the token \(401\): SYNAPSE_PAT is invalid or expired$/,
    );
    expect(fixOf(result, 'Synapse account')).toContain('put it in SYNAPSE_PAT');
    expect(lineOf(result, `Queue ${ids.goodQueue}`)).toMatch(/^○ .*needs a working Synapse account/);
    expect(result.stdout + result.stderr).not.toContain(badToken);
  });

  it('gives up quickly on a platform that does not answer', async () => {
    const started = Date.now();
    const result = await validate({ ...goodEnv, SYNAPSE_ENDPOINT: 'http://127.0.0.1:1' });
    expect(result.status).toBe(1);
    expect(lineOf(result, 'Synapse account')).toContain('cannot reach Synapse at http://127.0.0.1:1');
    expect(fixOf(result, 'Synapse account')).toContain('SYNAPSE_ENDPOINT');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('--offline only checks the configuration, as before', async () => {
    const result = await validate({ ...goodEnv, SYNAPSE_ENDPOINT: 'http://127.0.0.1:1' }, '--offline');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Configuration is valid\.\n\n/);
    expect(result.stdout).not.toContain('✔');
    const json = await validate(
      { ...goodEnv, SYNAPSE_ENDPOINT: 'http://127.0.0.1:1' },
      '--offline',
      '--json',
    );
    expect(json.status).toBe(0);
    expect(Object.keys(JSON.parse(json.stdout) as object)).toEqual(['ok', 'config', 'sources', 'warnings']);
  });

  it('stops at an invalid configuration with exit 2, as before', async () => {
    const result = await validate({ ...goodEnv, MAX_CONCURRENT_WORKFLOWS: 'ten' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('MAX_CONCURRENT_WORKFLOWS = ten');
  });

  it('changes nothing on the platform', async () => {
    const before = await tp.admin.dump();
    expect((await validate(goodEnv)).status).toBe(0);
    expect((await validate(badEnv)).status).toBe(1);
    expect(await tp.admin.dump()).toEqual(before);
  });
  describeWithRegistry('an engine image that is not on the engine', () => {
    let registry: TestRegistry;
    let digest: string;

    beforeAll(async () => {
      registry = await startTestRegistry();
      digest = await registry.push(STEP_IMAGE, 'preflight/engine', '1');
      // Only in the registry now: the engine keeps no tag of that name.
      await new Docker().getImage(`${registry.host}/preflight/engine:1`).remove();
    });

    afterAll(async () => {
      await registry.stop();
    });

    const checksOf = async (env: Record<string, string>) => {
      const result = await validate(env, '--json');
      const parsed = JSON.parse(result.stdout) as PreflightJson;
      return {
        status: result.status,
        byName: new Map(parsed.checks.map((c): [string, CheckResult] => [c.name, c])),
      };
    };

    it('passes when its registry has it (pulled before the first job), with the container checks left as warnings', async () => {
      const image = `${registry.host}/preflight/engine:1`;
      const { status, byName } = await checksOf({ ...goodEnv, WORKFLOW_ENGINE_DOCKER_IMAGE: image });
      expect(byName.get('Engine image')).toEqual({
        name: 'Engine image',
        status: 'ok',
        detail: `${image} is not on the engine yet; its registry has it (${digest.slice(0, 19)}), so it is pulled before the first job`,
      });
      expect(byName.get('Job directory')?.status).toBe('warning');
      expect(byName.get('Job directory')?.fix).toBe(
        `Pull the engine image (docker pull ${image}) and run validate again to check it.`,
      );
      expect(byName.get('Engine command')?.status).toBe('warning');
      expect(status).toBe(0);
    });

    it('fails when its registry does not have it', async () => {
      const image = `${registry.host}/preflight/engine:2`;
      const { status, byName } = await checksOf({ ...goodEnv, WORKFLOW_ENGINE_DOCKER_IMAGE: image });
      expect(status).toBe(1);
      const check = byName.get('Engine image');
      expect(check?.status).toBe('problem');
      expect(check?.detail).toContain(
        `${image} is not on the engine and cannot be pulled: Image ${image} was not found`,
      );
      expect(check?.fix).toContain('WORKFLOW_ENGINE_DOCKER_IMAGE');
      expect(byName.get('Job directory')?.status).toBe('not checked');
    });

    it('with IMAGE_PULL_POLICY=always, a local image must be pullable too', async () => {
      const { status, byName } = await checksOf({ ...goodEnv, IMAGE_PULL_POLICY: 'always' });
      expect(status).toBe(1);
      const check = byName.get('Engine image');
      expect(check?.detail).toContain(
        `${ENGINE_IMAGE} is on the engine, but IMAGE_PULL_POLICY=always pulls it before every job`,
      );
      expect(check?.fix).toContain('IMAGE_PULL_POLICY=missing');
    });
  });
});
