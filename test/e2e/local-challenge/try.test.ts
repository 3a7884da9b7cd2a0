/**
 * `synapse-orchestrator try`, run as an organizer runs it: the built CLI with their env file, on the demo
 * template shipped in the repository and on broken copies of it.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { describeWithDocker } from '../../support/docker.js';
import { ENGINE_IMAGE, containersOf } from '../../support/challenge.js';
import { REPO_ROOT } from '../../support/paths.js';

const DEMO = join(REPO_ROOT, 'examples', 'demo-challenge');
const TEMPLATE = join(DEMO, 'template');
const GOOD = join(DEMO, 'submissions', 'good.csv');

interface TryJson {
  submissionId: string;
  unfinished?: string;
  status: string;
  statusDescription: string | null;
  failureReason: string | null;
  annotations: Record<string, string>;
  logsPath: string | null;
  messages: { to: string[]; subject: string; body: string }[];
}

let envFile: string;
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'try-e2e-'));
  envFile = join(scratch, 'organizer.env');
  // An organizer's own settings; try replaces only what points at Synapse.
  writeFileSync(
    envFile,
    [
      'SYNAPSE_PAT=not-a-real-token-the-local-platform-replaces-it',
      'EVALUATION_TEMPLATES={"9614045":"syn123"}',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID=syn99',
      'NOTIFICATION_PRINCIPAL_ID=3334444',
      'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
      `WORKFLOW_ENGINE_DOCKER_IMAGE=${ENGINE_IMAGE}`,
      'WORKFLOW_ENGINE_COMMAND=cwltool',
      '',
    ].join('\n'),
  );
});

async function tryJson(
  args: string[],
  output = join(mkdtempSync(join(scratch, 'run-')), 'out'),
): Promise<{ status: number | null; result: TryJson; stderr: string }> {
  const run = await runCli(['--env-file', envFile, 'try', ...args, '--output', output, '--json']);
  expect(run.stdout, run.stderr).toMatch(/^\{/);
  return { status: run.status, result: JSON.parse(run.stdout) as TryJson, stderr: run.stderr };
}

describeWithDocker('try', () => {
  it('accepts a good submission to the demo template and reports the score, the log and the messages (exit 0)', async () => {
    const { status, result } = await tryJson([
      '--template',
      TEMPLATE,
      '--root',
      'score.cwl',
      '--submission',
      GOOD,
    ]);

    expect(result.status).toBe('ACCEPTED');
    expect(status).toBe(0);
    expect(result.statusDescription).toBe('DONE');
    expect(result.failureReason).toBeNull();
    expect(Number(result.annotations.score)).toBeGreaterThan(0);
    expect(result.logsPath).not.toBeNull();
    expect(readFileSync(result.logsPath ?? '', 'utf8')).toContain('Final process status is success');
    expect(result.messages.map((m) => m.subject)).toEqual([
      expect.stringMatching(new RegExp(`^Submission ${result.submissionId} is being evaluated`)),
      expect.stringMatching(new RegExp(`^Submission ${result.submissionId} finished`)),
    ]);
  });

  it('says why a submission the template rejects is INVALID (exit 1)', async () => {
    const invalid = join(DEMO, 'submissions', 'invalid.csv');
    const { status, result } = await tryJson([
      '--template',
      TEMPLATE,
      '--root',
      'score.cwl',
      '--submission',
      invalid,
    ]);

    expect(status).toBe(1);
    expect(result.status).toBe('INVALID');
    expect(result.failureReason).toMatch(/exited with code 1/);
    expect(readFileSync(result.logsPath ?? '', 'utf8')).toMatch(/invalid submission: .*is not a number/);
  });

  it('on a broken copy of the template, ends INVALID and tells the organizer what is broken', async () => {
    const broken = join(scratch, 'broken-template');
    cpSync(TEMPLATE, broken, { recursive: true });
    rmSync(join(broken, 'score.cwl'));

    const { status, result } = await tryJson([
      '--template',
      broken,
      '--root',
      'score.cwl',
      '--submission',
      GOOD,
    ]);

    expect(status).toBe(1);
    expect(result.status).toBe('INVALID');
    expect(result.failureReason).toBe('The workflow template is broken (the organizers have been told).');
    // The organizer's alert (the participant is only told that the template is broken).
    const alert = result.messages.find((m) => m.body.includes('What went wrong'));
    expect(alert?.body).toMatch(/score\.cwl is not in the unzipped archive/);
    expect(alert?.body).toContain('final-round.cwl'); // what the archive does hold
  });

  it('on a copy whose step is broken, ends INVALID with the workflow error in the log', async () => {
    const broken = join(scratch, 'broken-step');
    cpSync(TEMPLATE, broken, { recursive: true });
    const validateStep = join(broken, 'steps', 'validate.cwl');
    writeFileSync(
      validateStep,
      readFileSync(validateStep, 'utf8').replace('local/busybox:1', 'local/no-such-image:1'),
    );

    const { status, result } = await tryJson([
      '--template',
      broken,
      '--root',
      'score.cwl',
      '--submission',
      GOOD,
    ]);

    expect(status).toBe(1);
    expect(result.status).toBe('INVALID');
    expect(result.failureReason).toMatch(/exited with code/);
    expect(readFileSync(result.logsPath ?? '', 'utf8')).toContain('local/no-such-image:1');
  });

  it('gives up after --timeout, says so, and leaves no container behind (exit 1)', async () => {
    const output = join(mkdtempSync(join(scratch, 'timeout-')), 'out');
    const { status, result } = await tryJson(
      ['--template', TEMPLATE, '--root', 'final-round.cwl', '--submission', GOOD, '--timeout', '8'],
      output,
    );

    expect(status).toBe(1);
    expect(result.unfinished).toBe('timed out');
    expect(result.status).toBe('EVALUATION_IN_PROGRESS');
    expect(await containersOf('no-such-orchestrator', output)).toEqual([]);
  });

  it('names the option to fix when the input is wrong (exit 2), without starting anything', async () => {
    const output = join(scratch, 'never-created');
    const attempt = (args: string[]) => runCli(['--env-file', envFile, 'try', ...args, '--output', output]);

    const missing = await attempt([
      '--template',
      TEMPLATE,
      '--root',
      'score.cwl',
      '--submission',
      join(scratch, 'nope.csv'),
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`--submission ${join(scratch, 'nope.csv')}: no such file`);

    const noTemplate = await attempt([
      '--template',
      join(scratch, 'none'),
      '--root',
      'x.cwl',
      '--submission',
      GOOD,
    ]);
    expect(noTemplate.status).toBe(2);
    expect(noTemplate.stderr).toContain(`--template ${join(scratch, 'none')}: no such file or directory`);

    const byTag = await attempt([
      '--template',
      TEMPLATE,
      '--root',
      'score.cwl',
      '--docker-image',
      'busybox:latest',
    ]);
    expect(byTag.status).toBe(2);
    expect(byTag.stderr).toContain('repository@sha256');

    const noRoot = await attempt(['--template', TEMPLATE, '--submission', GOOD]);
    expect(noRoot.status).toBe(2);
    expect(noRoot.stderr).toContain("required option '--root <path>' not specified");

    const withData = (...data: string[]) =>
      attempt([
        '--template',
        TEMPLATE,
        '--root',
        'score.cwl',
        '--submission',
        GOOD,
        ...data.flatMap((value) => ['--data', value]),
      ]);
    const noEquals = await withData('goldstandard');
    expect(noEquals.status).toBe(2);
    expect(noEquals.stderr).toContain('--data goldstandard: give name=file');
    const noData = await withData(`goldstandard=${join(scratch, 'nope.csv')}`);
    expect(noData.status).toBe(2);
    expect(noData.stderr).toContain(`--data goldstandard=${join(scratch, 'nope.csv')}: no such file`);
    const twice = await withData(`gs=${GOOD}`, `gs=${GOOD}`);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toContain(`--data gs=${GOOD}: the name gs is given twice`);

    expect(existsSync(output)).toBe(false);
  });
});
