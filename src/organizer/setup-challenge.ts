/**
 * `setup`'s work (SWO's set_up.sh, done so it can be run again): as the token's account, make or reuse a
 * project, an output folder in it, a template entity (the workflow archive, linked by URL or uploaded,
 * with its ROOT_TEMPLATE annotation) and an evaluation queue whose content source is the project; grant
 * submitters and (optionally) a separate orchestrator account what they need; and give the `.env` lines
 * that point the orchestrator at it all.
 *
 * Nothing is created before every name has been checked, so a name taken elsewhere stops the run early.
 * Running it again with the same names reuses everything, updating only what changed (a new template URL
 * or archive becomes a new version of the same template entity).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError } from '../synapse/errors.js';
import {
  CONCRETE,
  type Entity,
  type Evaluation,
  type FileHandle,
  type UserProfile,
} from '../synapse/types.js';
import { detectFormat, extractArchive } from '../templates/index.js';
import { DEFAULT_TEMPLATE_LIMITS } from '../templates/limits.js';
import { joinInside, safeRelativePath } from '../templates/paths.js';
import { ROOT_TEMPLATE } from '../templates/resolve.js';
import { displayUrl } from '../templates/url.js';
import {
  ORCHESTRATOR_OUTPUT_ACCESS,
  ORCHESTRATOR_PROJECT_ACCESS,
  ORCHESTRATOR_QUEUE_ACCESS,
  SUBMITTER_ACCESS,
  describePrincipal,
  grantEntityAccess,
  grantEvaluationAccess,
  type Principal,
} from './access.js';
import { UsageError, failure, step, whoAmI } from './errors.js';
import {
  checkEntityName,
  findOrCreateProject,
  lookupProject,
  safeEntityName,
  type Action,
  type ProjectOutcome,
} from './projects.js';

export const DEFAULT_OUTPUT_FOLDER = 'Output';

const RECEIPT_MESSAGE =
  'Your workflow submission has been received. Further notifications will be sent by email.';

export interface SetupOptions {
  /** --name: the project's name (default: "Orchestrator challenge <userName> <date>"). */
  name?: string;
  /** --queue-name (default: "<project name> queue"). */
  queueName?: string;
  /** --template-url: the archive's URL (stored as an external file handle, like SWO). */
  templateUrl?: string;
  /** --template-file: an archive on disk, uploaded. Exactly one of this and templateUrl. */
  templateFile?: string;
  /** --root: ROOT_TEMPLATE, the workflow's path inside the archive. */
  root: string;
  /** --template-name (default: "<queue name> template"). */
  templateName?: string;
  /** --output-folder (default: Output). */
  outputFolder?: string;
  /** --submitter: users or teams allowed to submit (READ, SUBMIT on the queue). */
  submitters?: readonly string[];
  /** --orchestrator: the account the orchestrator runs as, when it is not this one. */
  orchestrator?: string;
  /** For the default project name (tests). */
  now?: Date;
}

export interface Outcome {
  id: string;
  name: string;
  action: Action;
}

export interface TemplateOutcome extends Outcome {
  versionNumber: number | undefined;
  rootTemplate: string;
  /** The URL (without query string) or the uploaded file's name. */
  source: string;
}

export interface GrantOutcome {
  principal: Principal;
  /** Where, and what. */
  on: { kind: 'evaluation' | 'entity'; id: string; access: string[] }[];
  changed: boolean;
}

export interface SetupResult {
  account: { ownerId: string; userName: string };
  project: ProjectOutcome;
  outputFolder: Outcome;
  template: TemplateOutcome;
  evaluation: Outcome;
  submitters: GrantOutcome[];
  orchestrator: GrantOutcome | undefined;
  /** Exactly what to add to the orchestrator's .env. */
  envLines: string[];
}

function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** The .env lines SWO's set_up.sh leads to: the queue → template map, and the output root. */
export function envLinesFor(evaluationId: string, templateId: string, outputFolderId: string): string[] {
  return [
    `EVALUATION_TEMPLATES=${JSON.stringify({ [evaluationId]: templateId })}`,
    `WORKFLOW_OUTPUT_ROOT_ENTITY_ID=${outputFolderId}`,
  ];
}

interface TemplateSource {
  kind: 'url' | 'file';
  /** The URL or the path. */
  location: string;
  /** The file name the handle gets. */
  fileName: string;
}

/** What the archive's name says it is (Synapse shows it; the orchestrator sniffs the bytes anyway). */
function contentTypeOf(fileName: string): string {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'application/gzip';
  if (lower.endsWith('.tar')) return 'application/x-tar';
  return 'application/zip';
}

function templateSource(options: SetupOptions): TemplateSource {
  const { templateUrl, templateFile } = options;
  if ((templateUrl === undefined) === (templateFile === undefined)) {
    throw new UsageError(
      templateUrl === undefined
        ? 'Give the workflow archive: --template-url <URL of a zip> or --template-file <zip>.'
        : 'Give --template-url or --template-file, not both.',
    );
  }
  if (templateUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(templateUrl);
    } catch {
      throw new UsageError(
        `--template-url ${JSON.stringify(templateUrl)}: not a URL; expected https://…/archive.zip.`,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new UsageError(
        `--template-url ${JSON.stringify(displayUrl(templateUrl))}: expected an http:// or https:// URL.`,
      );
    }
    const segment =
      url.pathname
        .split('/')
        .filter((s) => s !== '')
        .pop() ?? '';
    let last = segment;
    try {
      last = decodeURIComponent(segment);
    } catch {
      // not percent-encoded after all: keep it as it is
    }
    return { kind: 'url', location: templateUrl, fileName: last === '' ? 'template.zip' : last };
  }
  return { kind: 'file', location: templateFile ?? '', fileName: basename(templateFile ?? '') };
}

function checkRoot(root: string): string {
  const safe = safeRelativePath(root);
  if (!safe.ok)
    throw new UsageError(
      `--root ${JSON.stringify(root)}: ${safe.reason}; give the workflow's path inside the archive, e.g. my-repo-main/workflow.cwl.`,
    );
  if (safe.relative === '')
    throw new UsageError(
      "--root is empty: give the workflow's path inside the archive, e.g. my-repo-main/workflow.cwl.",
    );
  return root;
}

/** Checks an archive on disk: readable, an archive, holding `root`. */
async function checkArchiveFile(path: string, root: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`--template-file ${path}: not a file.`);
    size = info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `--template-file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`,
    );
  }
  if (size === 0) throw new UsageError(`--template-file ${path}: the file is empty.`);
  const scratch = await mkdtemp(join(tmpdir(), 'setup-template-'));
  try {
    let format;
    try {
      format = await detectFormat(path, path, '--template-file');
      await extractArchive(path, format, join(scratch, 'x'), {
        entityId: '--template-file',
        limits: DEFAULT_TEMPLATE_LIMITS,
        source: path,
      });
    } catch (error) {
      throw new UsageError(
        `--template-file ${path}: ${(error as Error).message.replace(/^Template --template-file: /, '')}`,
      );
    }
    const target = joinInside(join(scratch, 'x'), root);
    const isFile =
      target === undefined
        ? false
        : await stat(target).then(
            (s) => s.isFile(),
            () => false,
          );
    if (!isFile) {
      throw new UsageError(
        `--root ${JSON.stringify(root)} is not a file in ${path}. ROOT_TEMPLATE is the workflow's path from the top of the archive (GitHub's zips put everything under <repo>-<branch>/).`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The queue called `name`, when it already exists and belongs to `projectId`; a UsageError when it belongs elsewhere. */
async function existingQueue(
  client: SynapseClient,
  name: string,
  projectId: string | undefined,
): Promise<Evaluation | undefined> {
  const found = await step(`Looking up the evaluation queue ${JSON.stringify(name)}`, () =>
    client.evaluations.getByName(name),
  );
  if (found === undefined) return undefined;
  if (projectId !== undefined && found.contentSource === projectId) return found;
  throw new UsageError(
    `--queue-name: an evaluation queue named ${JSON.stringify(name)} already exists (evaluation ${found.id}) and belongs to ${found.contentSource}, not to ${projectId ?? "this challenge's project"}; queue names are unique on the whole platform, so choose another --queue-name.`,
  );
}

async function createQueue(
  client: SynapseClient,
  name: string,
  projectId: string,
  projectName: string,
): Promise<Outcome> {
  try {
    const created = await client.evaluations.create({
      name,
      contentSource: projectId,
      description: `Workflow submissions for ${projectName} (${projectId}), run by synapse-orchestrator.`,
      submissionReceiptMessage: RECEIPT_MESSAGE,
    });
    return { id: created.id, name: created.name, action: 'created' };
  } catch (error) {
    if (isSynapseError(error, 409)) {
      // Someone made it meanwhile: reuse it if it is ours, else the name is taken by a queue we cannot see.
      const raced = await existingQueue(client, name, projectId);
      if (raced !== undefined) return { id: raced.id, name: raced.name, action: 'reused' };
      throw new UsageError(
        `--queue-name: an evaluation queue named ${JSON.stringify(name)} already exists, one this account may not see; queue names are unique on the whole platform, so choose another --queue-name.`,
      );
    }
    throw failure(`Creating the evaluation queue ${JSON.stringify(name)}`, error);
  }
}

async function outputFolder(client: SynapseClient, projectId: string, name: string): Promise<Outcome> {
  const existing = await step(`Looking up ${name} in ${projectId}`, () =>
    client.entities.lookupChild(projectId, name),
  );
  if (existing !== undefined) {
    const entity = await step(`Reading ${existing}`, () => client.entities.get(existing));
    if (entity.concreteType !== CONCRETE.folder) {
      throw new UsageError(
        `--output-folder ${JSON.stringify(name)}: ${existing} in ${projectId} has that name and is not a Folder; choose another --output-folder.`,
      );
    }
    return { id: existing, name, action: 'reused' };
  }
  const id = await step(`Creating the folder ${name} in ${projectId}`, () =>
    client.entities.getOrCreateFolder(projectId, name),
  );
  return { id, name, action: 'created' };
}

/** The handle to store: for a URL, the entity's current one when it already points there. */
async function templateHandle(
  client: SynapseClient,
  source: TemplateSource,
  current: FileHandle[],
): Promise<FileHandle> {
  if (source.kind === 'url') {
    const same = current.find(
      (handle) =>
        handle.concreteType === CONCRETE.externalFileHandle && handle.externalURL === source.location,
    );
    if (same !== undefined) return same;
    return step(`Linking ${displayUrl(source.location)}`, () =>
      client.files.createExternalFileHandle(source.location, source.fileName, contentTypeOf(source.fileName)),
    );
  }
  // Synapse keys uploads on their content: the same archive again gives the same handle.
  return step(`Uploading ${source.location}`, () =>
    client.files.uploadFile(source.location, {
      fileName: source.fileName,
      contentType: contentTypeOf(source.fileName),
    }),
  );
}

async function storeTemplate(
  client: SynapseClient,
  projectId: string,
  name: string,
  source: TemplateSource,
  root: string,
): Promise<TemplateOutcome> {
  const what = source.kind === 'url' ? displayUrl(source.location) : source.fileName;
  const existingId = await step(`Looking up ${name} in ${projectId}`, () =>
    client.entities.lookupChild(projectId, name),
  );
  let entity: Entity;
  let action: Action;
  if (existingId === undefined) {
    const handle = await templateHandle(client, source, []);
    entity = await step(`Creating the template ${JSON.stringify(name)}`, () =>
      client.entities.createOrUpdateFile(projectId, name, handle.id),
    );
    action = 'created';
  } else {
    const found = await step(`Reading ${existingId}`, () => client.entities.get(existingId));
    if (found.concreteType !== CONCRETE.fileEntity) {
      throw new UsageError(
        `--template-name ${JSON.stringify(name)}: ${existingId} in ${projectId} has that name and is not a File; choose another --template-name.`,
      );
    }
    const handles = await step(`Reading the files of ${existingId}`, () =>
      client.entities.getFileHandles(existingId),
    );
    const handle = await templateHandle(client, source, handles);
    if (found.dataFileHandleId === handle.id) {
      entity = found;
      action = 'reused';
    } else {
      entity = await step(`Updating the template ${existingId}`, () =>
        client.entities.update({ ...found, dataFileHandleId: handle.id }),
      );
      action = 'updated';
    }
  }
  const annotations = await step(`Reading the annotations of ${entity.id}`, () =>
    client.entities.getAnnotations(entity.id),
  );
  const currentRoot = annotations.annotations[ROOT_TEMPLATE];
  if (currentRoot?.type !== 'STRING' || currentRoot.value.length !== 1 || currentRoot.value[0] !== root) {
    await step(`Setting ${ROOT_TEMPLATE} on ${entity.id}`, () =>
      client.entities.setAnnotations(entity.id, {
        set: { [ROOT_TEMPLATE]: { type: 'STRING', value: [root] } },
      }),
    );
    if (action === 'reused') action = 'updated';
  }
  return {
    id: entity.id,
    name: entity.name,
    action,
    versionNumber: entity.versionNumber,
    rootTemplate: root,
    source: what,
  };
}

export async function setUpChallenge(client: SynapseClient, options: SetupOptions): Promise<SetupResult> {
  // Everything that can be checked without the platform comes first.
  const source = templateSource(options);
  const root = checkRoot(options.root);
  if (options.name !== undefined) checkEntityName(options.name, '--name');
  if (options.outputFolder !== undefined) checkEntityName(options.outputFolder, '--output-folder');
  if (options.templateName !== undefined) checkEntityName(options.templateName, '--template-name');
  if (options.queueName?.trim() === '') throw new UsageError('--queue-name is empty.');
  if (source.kind === 'file') await checkArchiveFile(source.location, root);

  const me: UserProfile = await whoAmI(client);
  const projectName =
    options.name ??
    safeEntityName(`Orchestrator challenge ${me.userName} ${today(options.now ?? new Date())}`);
  const queueName = options.queueName?.trim() ?? `${projectName} queue`;
  const templateName = options.templateName ?? safeEntityName(`${queueName} template`);
  const folderName = options.outputFolder ?? DEFAULT_OUTPUT_FOLDER;

  const submitters: Principal[] = [];
  for (const id of new Set(options.submitters ?? []))
    submitters.push(await describePrincipal(client, id, '--submitter'));
  const orchestrator =
    options.orchestrator === undefined || options.orchestrator === me.ownerId
      ? undefined
      : await describePrincipal(client, options.orchestrator, '--orchestrator', false);

  // Names taken elsewhere stop the run before anything is made.
  const existingProjectId = await lookupProject(client, projectName, '--name', me.userName);
  await existingQueue(client, queueName, existingProjectId);

  const project = await findOrCreateProject(client, projectName, '--name', me.userName);
  // The queue comes next: its name may be taken by a queue this account cannot see, which only creating
  // it reveals. A project made by this run for it is then removed again.
  let evaluation: Outcome;
  try {
    const queue = await existingQueue(client, queueName, project.id);
    evaluation =
      queue === undefined
        ? await createQueue(client, queueName, project.id, project.name)
        : { id: queue.id, name: queue.name, action: 'reused' };
  } catch (error) {
    if (project.action === 'created') {
      const removed = await client.entities.delete(project.id).then(
        () => true,
        () => false,
      );
      if (removed && error instanceof Error) {
        error.message += ` (The project ${project.id} made for it was removed again.)`;
      }
    }
    throw error;
  }
  const folder = await outputFolder(client, project.id, folderName);
  const template = await storeTemplate(client, project.id, templateName, source, root);

  const submitterGrants: GrantOutcome[] = [];
  if (submitters.length > 0) {
    const changed = await grantEvaluationAccess(
      client,
      evaluation.id,
      submitters.map((principal) => ({ principalId: principal.id, access: SUBMITTER_ACCESS })),
    );
    for (const principal of submitters) {
      submitterGrants.push({
        principal,
        on: [{ kind: 'evaluation', id: evaluation.id, access: [...SUBMITTER_ACCESS] }],
        changed,
      });
    }
  }

  let orchestratorGrant: GrantOutcome | undefined;
  if (orchestrator !== undefined) {
    const queueChanged = await grantEvaluationAccess(client, evaluation.id, [
      { principalId: orchestrator.id, access: ORCHESTRATOR_QUEUE_ACCESS },
    ]);
    const projectChanged = await grantEntityAccess(
      client,
      project.id,
      orchestrator.id,
      ORCHESTRATOR_PROJECT_ACCESS,
    );
    const folderChanged = await grantEntityAccess(
      client,
      folder.id,
      orchestrator.id,
      ORCHESTRATOR_OUTPUT_ACCESS,
    );
    orchestratorGrant = {
      principal: orchestrator,
      on: [
        { kind: 'evaluation', id: evaluation.id, access: [...ORCHESTRATOR_QUEUE_ACCESS] },
        { kind: 'entity', id: project.id, access: [...ORCHESTRATOR_PROJECT_ACCESS] },
        { kind: 'entity', id: folder.id, access: [...ORCHESTRATOR_OUTPUT_ACCESS] },
      ],
      changed: queueChanged || projectChanged || folderChanged,
    };
  }

  return {
    account: { ownerId: me.ownerId, userName: me.userName },
    project,
    outputFolder: folder,
    template,
    evaluation,
    submitters: submitterGrants,
    orchestrator: orchestratorGrant,
    envLines: envLinesFor(evaluation.id, template.id, folder.id),
  };
}
