/** The POST /runs request built from a job directory: attachments, entry point, CWL version, inputs, tags. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../../src/engine/interfaces.js';
import { runForm, tagsOf, TemplateNotSendable } from '../../../../src/engine/wes/run-form.js';

const INPUTS = {
  submissionId: '9731234',
  workflowSynapseId: 'syn51234567',
  submitterUploadSynId: 'syn51000001',
  adminUploadSynId: 'syn51000002',
  synapseConfig: { class: 'File', path: '/shared/jobs/workflow_job.1/.synapseConfig' },
};

const workflow = (version: string | undefined, extra = '') =>
  `#!/usr/bin/env cwl-runner\n${version === undefined ? '' : `cwlVersion: ${version}\n`}class: Workflow\n` +
  `inputs: []\noutputs: []\nsteps: []\n${extra}`;

let root: string;
let jobDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wes-form-'));
  jobDir = join(root, 'workflow_job.6c2f1e0a');
  // The job directory the lifecycle prepares for WES: the template in workflow/, the job files beside it.
  write('job.json', JSON.stringify(INPUTS));
  write('.synapseConfig', '[authentication]\nauthtoken = secret\n');
  write('workflow/main.cwl', workflow('v1.0'));
  write('workflow/README.md', 'about the template\n');
  write('workflow/tools/score.cwl', 'cwlVersion: v1.0\nclass: CommandLineTool\n');
  write('workflow/tools/data/labels.csv', 'id,label\n1,a\n');
  write('workflow/sub/wf.cwl', workflow('v1.2'));
  write('workflow/sub/lib/step.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\n');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(relative: string, content: string): void {
  const path = join(jobDir, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function request(rootTemplate: string): RunRequest {
  return {
    name: 'workflow_job.6c2f1e0a',
    localDir: jobDir,
    hostDir: `/shared/jobs/workflow_job.6c2f1e0a`,
    templateDir: 'workflow',
    rootTemplate,
    jobFile: 'job.json',
    inputs: INPUTS,
    identity: { orchestratorId: 'orchestrator-a', submissionId: '9731234', evaluationId: '9615001' },
  };
}

/** The attachments as name → text. */
async function attachments(form: FormData): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const value of form.getAll('workflow_attachment')) {
    if (!(value instanceof File)) throw new Error('an attachment that is not a file');
    out[value.name] = await value.text();
  }
  return out;
}

function field(form: FormData, name: string): string {
  const values = form.getAll(name);
  expect(values, name).toHaveLength(1);
  const [value] = values;
  if (typeof value !== 'string') throw new Error(`${name} is not a text field`);
  return value;
}

describe('runForm', () => {
  it('attaches every file of the template for a top-level entry point, by relative name', async () => {
    const form = await runForm(request('main.cwl'));
    expect(await attachments(form)).toEqual({
      'README.md': 'about the template\n',
      'main.cwl': workflow('v1.0'),
      'sub/lib/step.cwl': 'cwlVersion: v1.2\nclass: CommandLineTool\n',
      'sub/wf.cwl': workflow('v1.2'),
      'tools/data/labels.csv': 'id,label\n1,a\n',
      'tools/score.cwl': 'cwlVersion: v1.0\nclass: CommandLineTool\n',
    });
    expect(field(form, 'workflow_url')).toBe('main.cwl');
    expect(field(form, 'workflow_type')).toBe('CWL');
    expect(field(form, 'workflow_type_version')).toBe('v1.0');
  });

  it('never attaches the job file or the credentials beside the template', async () => {
    const form = await runForm(request('main.cwl'));
    const texts = Object.values(await attachments(form)).join('\n');
    expect(texts).not.toContain('authtoken');
    expect(texts).not.toContain('syn51000002');
  });

  it('attaches only the files under the directory of an entry point in a subdirectory, named from there', async () => {
    const form = await runForm(request('sub/wf.cwl'));
    expect(await attachments(form)).toEqual({
      'lib/step.cwl': 'cwlVersion: v1.2\nclass: CommandLineTool\n',
      'wf.cwl': workflow('v1.2'),
    });
    expect(field(form, 'workflow_url')).toBe('wf.cwl');
    expect(field(form, 'workflow_type')).toBe('CWL');
    expect(field(form, 'workflow_type_version')).toBe('v1.2');
  });

  it('sends the inputs as workflow_params and the four ids as tags', async () => {
    const form = await runForm(request('main.cwl'));
    expect(JSON.parse(field(form, 'workflow_params'))).toEqual(INPUTS);
    const tags: unknown = JSON.parse(field(form, 'tags'));
    expect(tags).toEqual({
      synapse_orchestrator_id: 'orchestrator-a',
      synapse_workflow_job_id: 'workflow_job.6c2f1e0a',
      synapse_submission_id: '9731234',
      synapse_evaluation_id: '9615001',
    });
    // WES tags are string to string, and read back the same way.
    expect(tagsOf(tags)).toEqual(tags);
    expect(tagsOf(field(form, 'tags'))).toEqual(tags);
  });

  it('refuses an entry point without cwlVersion, naming it', async () => {
    write('workflow/main.cwl', workflow(undefined));
    const error = await runForm(request('main.cwl')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateNotSendable);
    expect((error as Error).message).toContain('main.cwl');
    expect((error as Error).message).toContain('cwlVersion');
  });

  it('refuses an entry point that is not YAML, naming it', async () => {
    write('workflow/sub/wf.cwl', 'cwlVersion: v1.0\nclass: Workflow\n  inputs: [unclosed\n');
    const error = await runForm(request('sub/wf.cwl')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateNotSendable);
    expect((error as Error).message).toContain('sub/wf.cwl');
    expect((error as Error).message).toContain('cannot be read as CWL');
  });

  it('refuses an entry point whose cwlVersion is not a version, or that is not a mapping', async () => {
    write('workflow/main.cwl', workflow('draft-3'));
    await expect(runForm(request('main.cwl'))).rejects.toThrow(TemplateNotSendable);
    write('workflow/main.cwl', 'just some text\n');
    await expect(runForm(request('main.cwl'))).rejects.toThrow(/main\.cwl has no cwlVersion/);
  });

  it('refuses a missing entry point, naming it', async () => {
    const error = await runForm(request('nowhere.cwl')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateNotSendable);
    expect((error as Error).message).toContain('nowhere.cwl');
  });
});

describe('tagsOf', () => {
  it('reads tags as an object or a JSON string, keeping only strings', () => {
    expect(tagsOf({ a: 'x', b: 2, c: null })).toEqual({ a: 'x' });
    expect(tagsOf('{"a":"x"}')).toEqual({ a: 'x' });
    expect(tagsOf('not json')).toEqual({});
    expect(tagsOf(undefined)).toEqual({});
    expect(tagsOf(null)).toEqual({});
    expect(tagsOf('"text"')).toEqual({});
  });
});
