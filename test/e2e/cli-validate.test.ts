/** `synapse-orchestrator validate` as an operator runs it: the built CLI, real files, real exit codes. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/paths.js';
import { fillSwoTemplate } from '../support/swo-env.js';

const token = inject('synapseToken');
const dir = mkdtempSync(join(tmpdir(), 'validate-e2e-'));

function envFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('synapse-orchestrator --help and --version', () => {
  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runCli(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('describes the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('validate');
    expect(result.stdout).toContain('--env-file');
  });
});

// These files point at Sage's Synapse with placeholder ids, so the tests that expect success pass --offline.
describe('synapse-orchestrator validate', () => {
  it("accepts SWO's own .envTemplate filled in, and prints what it means with the token masked", async () => {
    const file = envFile('swo.env', fillSwoTemplate({ token }));
    const result = await runCli(['validate', '--offline', '--env-file', file], {
      env: { LOG_LEVEL: 'debug' },
    });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Configuration is valid.');
    expect(result.stdout).toContain(`[secret, ${token.length} characters]`);
    expect(result.stdout).toContain('Docker engine at unix:///var/run/docker.sock');
    expect(result.stdout).toContain('evaluation 9614045 runs template syn123');
    expect(result.stdout).toContain('evaluation 9614046 runs template syn456');
    expect(result.stdout).toContain('sagebionetworks/synapse-workflow-orchestrator-toil:1.0');
    expect(result.stdout).toContain('accepting new submissions');
    expect(result.stdout).not.toContain(token);
  });

  it('gives the JSON form with the same meaning and no secret', async () => {
    const file = envFile(
      'swo-json.env',
      fillSwoTemplate({ token, optional: { SHARE_RESULTS_IMMEDIATELY: 'false' } }),
    );
    const result = await runCli(['validate', '--offline', '--json', '--env-file', file]);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      ok: boolean;
      config: { workflow: { toilCliOptions: string[] }; results: { shareImmediately: boolean } };
    };
    expect(parsed.ok).toBe(true);
    expect(parsed.config.workflow.toilCliOptions).toEqual([
      '--defaultMemory',
      '100M',
      '--retryCount',
      '0',
      '--defaultDisk',
      '1G',
    ]);
    expect(parsed.config.results.shareImmediately).toBe(false);
    expect(result.stdout).not.toContain(token);
  });

  it('lets a real environment variable override the file', async () => {
    const file = envFile(
      'override.env',
      fillSwoTemplate({ token, optional: { MAX_CONCURRENT_WORKFLOWS: '4' } }),
    );
    const result = await runCli(['validate', '--offline', '--env-file', file], {
      env: { MAX_CONCURRENT_WORKFLOWS: '2' },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/MAX_CONCURRENT_WORKFLOWS\s+2\s+\[environment\]/);
    expect(result.stdout).toContain('at most 2 at once');
  });

  it('lists every problem of a broken file at once and exits 2, secrets masked', async () => {
    const broken = [
      `SYNAPSE_PAT=${token}`,
      'DOCKERHUB_USERNAME=someone',
      `DOCKERHUB_PASSWORD=${token}-hub`,
      'EVALUATION_TEMPLATES={"9614045": syn123}',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID=folder-7',
      'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
      'WES_ENDPOINT=http://localhost:8082/ga4gh/wes/v1',
      'TOIL_CLI_OPTIONS=--workDir /tmp --retryCount 0',
      'MAX_CONCURRENT_WORKFLOWS=ten',
      'SUBMITTER_NOTIFICATION_MASK=32',
      'SHARE_RESULTS_IMMEDIATELY=yes',
      'MAX_CONCURENT_WORKFLOWS=3',
    ].join('\n');
    const result = await runCli(['validate', '--env-file', envFile('broken.env', broken)]);

    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
    const named = (variable: string) => problems.filter((line) => line.startsWith(`  - ${variable}`));
    expect(named('EVALUATION_TEMPLATES')[0]).toContain('not valid JSON');
    expect(named('WORKFLOW_OUTPUT_ROOT_ENTITY_ID')[0]).toContain('= folder-7: expected a Synapse entity id');
    expect(named('DOCKER_ENGINE_URL / WES_ENDPOINT')[0]).toContain('both are set');
    expect(named('TOIL_CLI_OPTIONS')[0]).toContain('--workDir');
    expect(named('MAX_CONCURRENT_WORKFLOWS')[0]).toContain('= ten: expected a whole number of 1 or more');
    expect(named('SUBMITTER_NOTIFICATION_MASK')[0]).toContain('= 32: expected a whole number from 0 to 31');
    expect(named('SHARE_RESULTS_IMMEDIATELY')[0]).toContain('= yes: expected true or false');
    expect(problems).toHaveLength(7);
    expect(result.stderr).toContain('has 7 problems');
    expect(result.stderr).not.toContain(token);
  });

  it('run and drain exit 2 on a configuration to fix, naming the variable, as validate does', async () => {
    const bad = envFile(
      'run-broken.env',
      [
        `SYNAPSE_PAT=${token}`,
        'EVALUATION_TEMPLATES={"9614045": "syn123"}',
        'MAX_CONCURRENT_WORKFLOWS=ten',
      ].join('\n'),
    );
    for (const command of ['run', 'drain']) {
      const result = await runCli([command, '--env-file', bad]);
      expect(result.status, command).toBe(2);
      expect(result.stderr, command).toContain('MAX_CONCURRENT_WORKFLOWS = ten');
      expect(result.stderr, command).not.toContain(token);
    }
  });

  it('names a missing --env-file', async () => {
    const result = await runCli(['validate', '--env-file', join(dir, 'nope.env')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--env-file');
    expect(result.stderr).toContain('no such file');
  });

  it('reads .env from the working directory when no file is named, and warns about a deprecated name', async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'validate-cwd-'));
    const text = fillSwoTemplate({ token }).replace(/^SYNAPSE_PAT=.*$/m, `SYNAPSE_PASSWORD=${token}`);
    writeFileSync(join(workdir, '.env'), text);
    const result = await runCli(['validate', '--offline'], { cwd: workdir });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('SYNAPSE_PASSWORD is deprecated');
    expect(result.stdout).toContain('(token set)');
    expect(result.stdout).not.toContain(token);
  });
});
