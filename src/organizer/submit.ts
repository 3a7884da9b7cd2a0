/**
 * `submit`'s work (SWO's submit.sh, for participants as well as organizers): put a file or a Docker image
 * into an entity of the submitter's and submit that entity to an evaluation queue.
 *
 * - A file is uploaded and stored as a FileEntity in the submitter's project (`--project`, else a project
 *   named "<userName> submissions", made when missing), then submitted with the entity's version.
 * - A Docker image is resolved to a digest now (a tag moves; the digest is what will run), then submitted
 *   as a DockerRepository entity with that digest, the tag kept in the submission's name. Repositories of
 *   docker.synapse.org/<project>/<name> are Synapse's own: the entity exists once the image is pushed.
 *   For any other registry an unmanaged DockerRepository is made (or reused) in the submitter's project
 *   and the tag/digest pair recorded on it, since Synapse accepts only digests a repository has.
 *
 * `--team` submits for a team: Synapse wants the team's eligibility hash and the contributing members,
 * both read just before submitting.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError } from '../synapse/errors.js';
import type { TeamSubmissionEligibility } from '../synapse/evaluations.js';
import {
  CONCRETE,
  type Entity,
  type Evaluation,
  type Submission,
  type Team,
  type UserProfile,
} from '../synapse/types.js';
import {
  ImageDigestError,
  formatImageReference,
  parseImageReference,
  shortDigest,
  type ImageReference,
  type ResolvedImage,
} from '../engine/docker/image-digest.js';
import { OrganizerError, UsageError, failure, reasonOf, step, whoAmI } from './errors.js';
import { existingProject, findOrCreateProject, safeEntityName, type Action } from './projects.js';

const SYNAPSE_REGISTRY = 'docker.synapse.org';

export interface SubmitCommon {
  /** --evaluation */
  evaluationId: string;
  /** --name: the submission's name. */
  name?: string;
  /** --project: where the entity goes (default: "<userName> submissions", made when missing). */
  projectId?: string;
  /** --team: submit for this team. */
  teamId?: string;
}

export interface SubmitFileOptions extends SubmitCommon {
  file: string;
}

export interface SubmitImageOptions extends SubmitCommon {
  image: string;
  /** Resolves the reference to a digest (the Docker engine's distribution endpoint, in production). */
  resolve: (reference: ImageReference, submitter: UserProfile) => Promise<ResolvedImage>;
}

export interface SubmitResult {
  submission: Submission;
  /** The status right after submitting, when the submitter may read it (RECEIVED). */
  status: string | undefined;
  evaluation: { id: string; name: string };
  submitter: { ownerId: string; userName: string };
  team: { id: string; name: string; contributors: string[] } | undefined;
  entity: {
    id: string;
    kind: 'file' | 'docker';
    versionNumber: number | undefined;
    /** The project (or folder) it is in. */
    parentId: string;
    parentName: string | undefined;
    action: Action;
  };
  /** Docker submissions only. */
  image?: ResolvedImage & { managed: boolean };
}

interface Context {
  me: UserProfile;
  evaluation: Evaluation;
  team: Team | undefined;
}

function checkEvaluationId(id: string): string {
  const trimmed = id.trim();
  if (!/^\d+$/.test(trimmed)) {
    throw new UsageError(
      `--evaluation ${JSON.stringify(id)}: expected a numeric evaluation queue id, like 9614045.`,
    );
  }
  return trimmed;
}

function checkProjectId(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const match = /^(?:syn)?(\d+)$/i.exec(id.trim());
  if (match === null)
    throw new UsageError(`--project ${JSON.stringify(id)}: expected a Synapse id like syn123.`);
  return `syn${match[1] ?? ''}`;
}

/** The submitter, the queue (which they may submit to) and the team, checked before anything is stored. */
async function context(client: SynapseClient, options: SubmitCommon): Promise<Context> {
  const evaluationId = checkEvaluationId(options.evaluationId);
  if (options.teamId !== undefined && !/^\d+$/.test(options.teamId.trim())) {
    throw new UsageError(`--team ${JSON.stringify(options.teamId)}: expected a numeric team id.`);
  }
  const me = await whoAmI(client);
  let evaluation: Evaluation;
  try {
    evaluation = await client.evaluations.get(evaluationId);
  } catch (error) {
    if (isSynapseError(error, 404)) {
      throw new UsageError(
        `--evaluation ${evaluationId}: there is no evaluation queue ${evaluationId} (${error.reason}).`,
      );
    }
    if (isSynapseError(error, 403)) {
      throw new OrganizerError(
        `${me.userName} (${me.ownerId}) may not see evaluation ${evaluationId} (${error.reason}): ask the organizer to let this account submit (synapse-orchestrator setup … --submitter ${me.ownerId}).`,
      );
    }
    throw failure(`Reading evaluation ${evaluationId}`, error);
  }
  const maySubmit = await step(`Checking ${me.userName}'s access to evaluation ${evaluationId}`, () =>
    client.evaluations.hasAccess(evaluationId, 'SUBMIT'),
  );
  if (!maySubmit) {
    throw new OrganizerError(
      `${me.userName} (${me.ownerId}) may not submit to evaluation ${evaluationId} (${JSON.stringify(evaluation.name)}): ask the organizer to grant SUBMIT (synapse-orchestrator setup … --submitter ${me.ownerId}).`,
    );
  }
  let team: Team | undefined;
  if (options.teamId !== undefined) {
    const teamId = options.teamId.trim();
    try {
      team = await client.profiles.team(teamId);
    } catch (error) {
      if (isSynapseError(error, 404)) throw new UsageError(`--team ${teamId}: there is no such team.`);
      throw failure(`Reading team ${teamId}`, error);
    }
  }
  return { me, evaluation: { ...evaluation, id: evaluationId }, team };
}

/** Where the submitter's entities go: --project, or their "<userName> submissions" project. */
async function submitterProject(
  client: SynapseClient,
  me: UserProfile,
  projectId: string | undefined,
  kinds: readonly string[],
): Promise<{ id: string; name: string; action: Action }> {
  const id = checkProjectId(projectId);
  if (id !== undefined) {
    const project = await existingProject(client, id, '--project', me.userName, kinds);
    return { ...project, action: 'reused' };
  }
  return findOrCreateProject(client, safeEntityName(`${me.userName} submissions`), '--project', me.userName);
}

/** The team's eligibility, or an OrganizerError listing why it may not submit now. */
async function teamContributors(
  client: SynapseClient,
  evaluationId: string,
  team: Team,
): Promise<{
  hash: string;
  contributors: string[];
}> {
  const eligibility: TeamSubmissionEligibility = await step(
    `Reading team ${team.id}'s eligibility for evaluation ${evaluationId}`,
    () => client.evaluations.teamSubmissionEligibility(evaluationId, team.id),
  );
  const standing = eligibility.teamEligibility;
  if (standing.isEligible !== true) {
    const why = [
      ...(standing.isRegistered === false ? ['the team is not registered for the challenge'] : []),
      ...(standing.isQuotaFilled === true ? ["the team's submission quota is used up"] : []),
    ];
    throw new OrganizerError(
      `Team ${JSON.stringify(team.name)} (${team.id}) may not submit to evaluation ${evaluationId} now${why.length > 0 ? `: ${why.join('; ')}` : ''}.`,
    );
  }
  const contributors = eligibility.membersEligibility
    .filter((member) => member.isEligible === true && member.hasConflictingSubmission !== true)
    .map((member) => String(member.principalId));
  return { hash: String(eligibility.eligibilityStateHash), contributors };
}

/** Submits the entity (for the team when there is one) and says what became of it. */
async function submitEntity(
  client: SynapseClient,
  ctx: Context,
  entity: Entity,
  name: string,
  dockerDigest?: string,
): Promise<Omit<SubmitResult, 'entity' | 'image'>> {
  const request = {
    evaluationId: ctx.evaluation.id,
    entityId: entity.id,
    versionNumber: entity.versionNumber ?? 1,
    entityEtag: entity.etag,
    name,
    ...(dockerDigest === undefined ? {} : { dockerDigest }),
  };
  const what = `Submitting ${entity.id} to evaluation ${ctx.evaluation.id}`;
  let submission: Submission;
  let team: SubmitResult['team'];
  if (ctx.team === undefined) {
    submission = await step(what, () => client.evaluations.submit(request));
  } else {
    const { id, name: teamName } = ctx.team;
    const { hash, contributors } = await teamContributors(client, ctx.evaluation.id, ctx.team);
    submission = await step(what, () =>
      client.evaluations.submitAsTeam({
        ...request,
        teamId: id,
        submissionEligibilityHash: hash,
        contributors: contributors.map((principalId) => ({ principalId })),
        submitterAlias: teamName,
      }),
    );
    team = { id, name: teamName, contributors };
  }
  return {
    submission,
    status: await statusOf(client, submission.id),
    evaluation: { id: ctx.evaluation.id, name: ctx.evaluation.name },
    submitter: { ownerId: ctx.me.ownerId, userName: ctx.me.userName },
    team,
  };
}

async function statusOf(client: SynapseClient, submissionId: string): Promise<string | undefined> {
  try {
    return (await client.evaluations.getStatus(submissionId)).status;
  } catch {
    return undefined;
  }
}

async function checkFile(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path}: not a file; give the file to submit.`);
    if (info.size === 0)
      throw new UsageError(`${path}: the file is empty, and Synapse stores only files of at least one byte.`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}; give the file to submit.`,
    );
  }
}

export async function submitFile(client: SynapseClient, options: SubmitFileOptions): Promise<SubmitResult> {
  await checkFile(options.file);
  checkProjectId(options.projectId);
  const ctx = await context(client, options);
  const project = await submitterProject(client, ctx.me, options.projectId, [
    CONCRETE.project,
    CONCRETE.folder,
  ]);
  const fileName = safeEntityName(basename(options.file));
  const handle = await step(`Uploading ${options.file}`, () => client.files.uploadFile(options.file));
  const existingId = await step(`Looking up ${fileName} in ${project.id}`, () =>
    client.entities.lookupChild(project.id, fileName),
  );
  const before =
    existingId === undefined
      ? undefined
      : await step(`Reading ${existingId}`, () => client.entities.get(existingId));
  const entity = await step(`Storing ${fileName} in ${project.id}`, () =>
    client.entities.createOrUpdateFile(project.id, fileName, handle.id),
  );
  const action: Action =
    before === undefined ? 'created' : before.dataFileHandleId === handle.id ? 'reused' : 'updated';
  return {
    ...(await submitEntity(client, ctx, entity, options.name ?? basename(options.file))),
    entity: {
      id: entity.id,
      kind: 'file',
      versionNumber: entity.versionNumber,
      parentId: project.id,
      parentName: project.name,
      action,
    },
  };
}

/** The DockerRepository entity of a docker.synapse.org repository: Synapse made it when the image was pushed. */
async function managedRepository(
  client: SynapseClient,
  reference: ImageReference,
): Promise<{ entity: Entity; projectId: string }> {
  const match = /^(syn\d+)\/./.exec(reference.path);
  if (match === null) {
    throw new UsageError(
      `--docker-image ${reference.original}: repositories on ${SYNAPSE_REGISTRY} are named ${SYNAPSE_REGISTRY}/<project synId>/<name>, e.g. ${SYNAPSE_REGISTRY}/syn123/my-model.`,
    );
  }
  const projectId = match[1] ?? '';
  const repositoryName = `${SYNAPSE_REGISTRY}/${reference.path}`;
  let id: string | undefined;
  try {
    id = await client.entities.lookupChild(projectId, repositoryName);
  } catch (error) {
    if (isSynapseError(error, 404) || isSynapseError(error, 403)) {
      throw new UsageError(
        `--docker-image ${reference.original}: project ${projectId} ${isSynapseError(error, 404) ? 'does not exist' : 'may not be read by this account'} (${error.reason}).`,
      );
    }
    throw failure(`Looking up ${repositoryName} in ${projectId}`, error);
  }
  if (id === undefined) {
    throw new UsageError(
      `--docker-image ${reference.original}: Synapse has no Docker repository ${repositoryName} in ${projectId}. Push the image there first (docker login ${SYNAPSE_REGISTRY}; docker push ${formatImageReference({ repository: repositoryName, tag: reference.tag ?? 'latest' })}).`,
    );
  }
  const entityId = id;
  const entity = await step(`Reading ${entityId}`, () => client.entities.get(entityId));
  if (entity.concreteType !== CONCRETE.dockerRepository) {
    throw new UsageError(
      `--docker-image ${reference.original}: ${entityId} in ${projectId} is not a Docker repository.`,
    );
  }
  return { entity, projectId };
}

/** An unmanaged DockerRepository for the repository in the submitter's project, made when missing. */
async function externalRepository(
  client: SynapseClient,
  projectId: string,
  repositoryName: string,
): Promise<{ entity: Entity; action: Action }> {
  const lookup = () =>
    step(`Looking up ${repositoryName} in ${projectId}`, () =>
      client.entities.lookupChild(projectId, repositoryName),
    );
  let id = await lookup();
  let action: Action = 'reused';
  if (id === undefined) {
    try {
      id = (
        await client.entities.create({
          name: repositoryName,
          concreteType: CONCRETE.dockerRepository,
          parentId: projectId,
          repositoryName,
        })
      ).id;
      action = 'created';
    } catch (error) {
      if (!isSynapseError(error, 409))
        throw failure(`Creating the Docker repository entity ${repositoryName} in ${projectId}`, error);
      id = await lookup();
      if (id === undefined)
        throw failure(`Creating the Docker repository entity ${repositoryName} in ${projectId}`, error);
    }
  }
  const entityId = id;
  const entity = await step(`Reading ${entityId}`, () => client.entities.get(entityId));
  if (entity.concreteType !== CONCRETE.dockerRepository) {
    throw new UsageError(
      `--project ${projectId}: ${entityId} there is named ${repositoryName} and is not a Docker repository; give another --project.`,
    );
  }
  return { entity, action };
}

export async function submitImage(client: SynapseClient, options: SubmitImageOptions): Promise<SubmitResult> {
  let reference: ImageReference;
  try {
    reference = parseImageReference(options.image);
  } catch (error) {
    throw new UsageError(`--docker-image: ${(error as Error).message}`);
  }
  checkProjectId(options.projectId);
  const ctx = await context(client, options);
  let resolved: ResolvedImage;
  try {
    resolved = await options.resolve(reference, ctx.me);
  } catch (error) {
    if (error instanceof ImageDigestError && error.problem === 'invalid-reference') {
      throw new UsageError(`--docker-image: ${error.message}`);
    }
    throw new OrganizerError(
      `Cannot resolve --docker-image ${options.image} to a digest: ${reasonOf(error)}`,
      { cause: error },
    );
  }

  const managed = reference.host === SYNAPSE_REGISTRY;
  let entity: Entity;
  let parent: { id: string; name: string | undefined };
  let action: Action = 'reused';
  if (managed) {
    const found = await managedRepository(client, reference);
    entity = found.entity;
    parent = { id: found.projectId, name: undefined };
  } else {
    const project = await submitterProject(client, ctx.me, options.projectId, [CONCRETE.project]);
    parent = project;
    const repository = await externalRepository(client, project.id, reference.repository);
    entity = repository.entity;
    action = repository.action;
    const commits = await step(`Reading the tags of ${entity.id}`, () =>
      client.entities.listDockerTags(entity.id),
    );
    const recorded = commits.some((c) => c.digest === resolved.digest && c.tag === resolved.tag);
    if (!recorded) {
      const id = entity.id;
      await step(`Recording ${formatImageReference(resolved)} on ${id}`, () =>
        client.entities.addDockerCommit(id, {
          ...(resolved.tag === undefined ? {} : { tag: resolved.tag }),
          digest: resolved.digest,
        }),
      );
      // The commit changes the entity's etag, which the submission must carry.
      entity = await step(`Reading ${id}`, () => client.entities.get(id));
    }
  }

  const name =
    options.name ??
    (reference.tag !== undefined && reference.digest !== undefined
      ? `${resolved.repository}:${reference.tag}@${shortDigest(resolved.digest)}`
      : reference.digest !== undefined
        ? `${resolved.repository}@${shortDigest(resolved.digest)}`
        : `${resolved.repository}:${resolved.tag ?? 'latest'}`);
  return {
    ...(await submitEntity(client, ctx, entity, name, resolved.digest)),
    entity: {
      id: entity.id,
      kind: 'docker',
      versionNumber: entity.versionNumber,
      parentId: parent.id,
      parentName: parent.name,
      action,
    },
    image: { ...resolved, managed },
  };
}
