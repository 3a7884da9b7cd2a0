/**
 * A template shaped like Sage's challenge templates (test/fixtures/workflows/swo-shaped) runs under `try`:
 * its steps have no DockerRequirement and run python3 in the engine container (urllib against the
 * platform with synapseConfig's endpoints; Python's docker module starting a sibling container), and it
 * hard-codes the ids `try` prints: the `--data goldstandard` file's synId and the organizers team's id.
 * Under cwltool (the text output) and under toil-cwl-runner, SWO's engine (the JSON output).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { describeWithDocker } from '../../support/docker.js';
import { ENGINE_IMAGE, TOIL_ENGINE_IMAGE, containersOf } from '../../support/challenge.js';
import { FIXTURES } from '../../support/paths.js';

const TEMPLATE = join(FIXTURES, 'workflows', 'swo-shaped');
const GOLDSTANDARD = join(FIXTURES, 'swo-shaped-trial', 'goldstandard.csv');
const SUBMISSION = join(FIXTURES, 'swo-shaped-trial', 'submission.csv');
/** 4 of the submission's 5 labels match the gold standard's. */
const SCORE = '0.8';

/** The ids the fixture hard-codes, as Sage's templates do. */
function hardCodedIds(): { goldstandard: string; team: string } {
  const workflow = readFileSync(join(TEMPLATE, 'workflow.cwl'), 'utf8');
  const goldstandard = /synapseid:\s*\n\s*valueFrom: "(syn\d+)"/.exec(workflow)?.[1];
  const team = /principalid:\s*\n\s*valueFrom: "(\d+)"/.exec(workflow)?.[1];
  if (goldstandard === undefined || team === undefined)
    throw new Error('workflow.cwl lost its hard-coded ids');
  return { goldstandard, team };
}

let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'try-swo-template-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function envFile(engineCommand: string, image: string): string {
  const path = join(scratch, `${engineCommand}.env`);
  writeFileSync(
    path,
    [
      'SYNAPSE_PAT=not-a-real-token-the-local-platform-replaces-it',
      'EVALUATION_TEMPLATES={"9614045":"syn123"}',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID=syn99',
      'DOCKER_ENGINE_URL=unix:///var/run/docker.sock',
      `WORKFLOW_ENGINE_DOCKER_IMAGE=${image}`,
      `WORKFLOW_ENGINE_COMMAND=${engineCommand}`,
      '',
    ].join('\n'),
  );
  return path;
}

function tryArgs(output: string): string[] {
  return [
    'try',
    '--template',
    TEMPLATE,
    '--root',
    'workflow.cwl',
    '--submission',
    SUBMISSION,
    '--data',
    `goldstandard=${GOLDSTANDARD}`,
    '--output',
    output,
  ];
}

/** The value after `label` on its line of try's text output. */
function line(stdout: string, label: string): string | undefined {
  return new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(stdout)?.[1];
}

describeWithDocker('an SWO-shaped template under try', () => {
  it('cwltool: ACCEPTED, scored against the --data file by the synId try printed, team shared, model container run', async () => {
    const ids = hardCodedIds();
    const output = join(scratch, 'cwltool');
    const run = await runCli(['--env-file', envFile('cwltool', ENGINE_IMAGE), ...tryArgs(output)]);

    // The ids try printed are the ones the template hard-codes (they are the same on every run; if this
    // fails after a change to seeding, put the printed ids in the fixture's workflow.cwl).
    expect(line(run.stdout, 'Data'), run.stdout).toBe(`goldstandard → ${ids.goldstandard}`);
    expect(line(run.stdout, 'Organizers')).toMatch(new RegExp(`^team ${ids.team} \\(`));
    expect(line(run.stdout, 'Result'), run.stderr).toBe('ACCEPTED (DONE)');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Annotation:   score = ${SCORE}`);
    expect(run.stdout).toContain(`Annotation:   goldstandard = ${ids.goldstandard}`);

    const log = readFileSync(line(run.stdout, 'Logs') ?? '', 'utf8');
    // synapseConfig names every endpoint synapseclient reads, so nothing defaults to synapse.org.
    expect(log).toContain(
      'synapseConfig [endpoints]: authendpoint, filehandleendpoint, portalendpoint, repoendpoint',
    );
    expect(log).toMatch(
      new RegExp(
        `synapse_get: ${ids.goldstandard} \\(goldstandard\\) from http://[^ ]+/repo/v1: \\d+ bytes saved as goldstandard\\.csv`,
      ),
    );
    expect(log).toMatch(
      new RegExp(`set_permissions: team ${ids.team} \\(Template trial organizers\\) may download syn\\d+`),
    );
    expect(log).toMatch(/run_model: local\/busybox:1 is sha256:[0-9a-f]{64}/);
    expect(log).toContain('run_model: container said: model: predicted');
    expect(log).toContain('score: 4 of 5 right');
    expect(await containersOf('none', output)).toEqual([]);
  });

  it('toil-cwl-runner (SWO’s engine): ACCEPTED with the score, and the same ids in --json', async () => {
    const ids = hardCodedIds();
    const output = join(scratch, 'toil');
    const run = await runCli([
      '--env-file',
      envFile('toil-cwl-runner', TOIL_ENGINE_IMAGE),
      ...tryArgs(output),
      '--json',
    ]);
    expect(run.stdout, run.stderr).toMatch(/^\{/);
    const result = JSON.parse(run.stdout) as {
      data: Record<string, string>;
      organizersTeamId: string;
      status: string;
      annotations: Record<string, string>;
    };

    expect(result.data).toEqual({ goldstandard: ids.goldstandard });
    expect(result.organizersTeamId).toBe(ids.team);
    expect(result.status).toBe('ACCEPTED');
    expect(run.status).toBe(0);
    expect(result.annotations).toEqual({ score: SCORE, goldstandard: ids.goldstandard });
    expect(await containersOf('none', output)).toEqual([]);
  });
});
