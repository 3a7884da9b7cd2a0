/**
 * A WES run request (POST /runs, multipart) from the job directory the lifecycle prepared:
 *
 * - `workflow_attachment`, once per file of the template under the entry point's directory, named by its
 *   path relative to that directory (a top-level ROOT_TEMPLATE attaches the whole template; SWO failed on it);
 * - `workflow_url`: the entry point, relative to the attachments;
 * - `workflow_type` CWL and `workflow_type_version` from the entry point's own `cwlVersion` (SWO sent neither,
 *   both of which WES requires);
 * - `workflow_params`: the same inputs as the Docker job file (SWO's four, and `synapseConfig`, the run's own
 *   credentials file in the shared directory);
 * - `tags`: the submission, the evaluation, this instance and the job's name, so that the instance finds its
 *   runs again after a restart, and counts only those.
 */
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, posix, relative, sep } from 'node:path';
import { parse } from 'yaml';
import type { RunRequest } from '../interfaces.js';

/** Tag names on every run (WES tags are string to string). */
export const TAGS = {
  orchestratorId: 'synapse_orchestrator_id',
  workflowJobId: 'synapse_workflow_job_id',
  submissionId: 'synapse_submission_id',
  evaluationId: 'synapse_evaluation_id',
} as const;

/** Thrown when the template cannot be sent as it is; the message says what to fix in it. */
export class TemplateNotSendable extends Error {}

export async function runForm(request: RunRequest): Promise<FormData> {
  const templateRoot = join(request.localDir, request.templateDir);
  const entry = join(templateRoot, request.rootTemplate);
  const entryDir = dirname(entry);
  const version = await cwlVersionOf(entry, request.rootTemplate);

  const form = new FormData();
  for (const file of await filesUnder(entryDir)) {
    const name = relative(entryDir, file).split(sep).join(posix.sep);
    form.append('workflow_attachment', new Blob([await readFile(file)]), name);
  }
  form.append('workflow_url', relative(entryDir, entry).split(sep).join(posix.sep));
  form.append('workflow_type', 'CWL');
  form.append('workflow_type_version', version);
  form.append('workflow_params', JSON.stringify(request.inputs));
  form.append('tags', JSON.stringify(runTags(request)));
  return form;
}

export function runTags(request: Pick<RunRequest, 'name' | 'identity'>): Record<string, string> {
  return {
    [TAGS.orchestratorId]: request.identity.orchestratorId,
    [TAGS.workflowJobId]: request.name,
    [TAGS.submissionId]: request.identity.submissionId,
    [TAGS.evaluationId]: request.identity.evaluationId,
  };
}

/** The tags of a run as the server echoes them back (an object, or a JSON string on some servers). */
export function tagsOf(value: unknown): Record<string, string> {
  let tags = value;
  if (typeof tags === 'string') {
    try {
      tags = JSON.parse(tags) as unknown;
    } catch {
      return {};
    }
  }
  if (tags === null || typeof tags !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(tags)) if (typeof v === 'string') out[key] = v;
  return out;
}

/** `v1.0`, `v1.1`, `v1.2`… as the entry point declares it (WES asks for it with every run). */
export async function cwlVersionOf(path: string, shownAs: string): Promise<string> {
  let document: unknown;
  try {
    document = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new TemplateNotSendable(
      `The workflow's entry point ${shownAs} cannot be read as CWL: ${(error as Error).message}`,
    );
  }
  const version = (document as { cwlVersion?: unknown } | null)?.cwlVersion;
  if (typeof version !== 'string' || !/^v\d+\.\d+/.test(version)) {
    throw new TemplateNotSendable(
      `The workflow's entry point ${shownAs} has no cwlVersion (e.g. "cwlVersion: v1.0"), which a WES server needs to run it.`,
    );
  }
  return version;
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}
