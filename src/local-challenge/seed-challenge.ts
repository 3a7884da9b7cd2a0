/**
 * Seeds a challenge on the local platform as an organizer would set one up on Synapse: an organizer
 * account (the one the orchestrator runs as), a project with an output folder, optionally an organizers
 * team and the organizer's data files, and one evaluation queue per template, each template a file entity
 * with ROOT_TEMPLATE. Accounts and teams are created through the platform's admin routes (Synapse has no
 * API for that); everything else through the Synapse REST API.
 *
 * The order is fixed, and the team and the data come before the templates, so that their ids, which
 * templates hard-code, depend only on what is seeded before them (see organizer-data.ts).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalPlatformAdmin, SeededUser } from '../local-platform/admin-client.js';
import { synapseEndpoint } from '../config/index.js';
import { grantEvaluationAccess, ORCHESTRATOR_QUEUE_ACCESS, SUBMITTER_ACCESS } from '../organizer/access.js';
import { SynapseClient } from '../synapse/client.js';
import { CONCRETE } from '../synapse/types.js';
import { uploadOrganizerData, type DataFile } from './organizer-data.js';

/** A template archive as bytes (uploaded) or as a URL (an external file handle, SWO's way). */
export type TemplateArchive = { bytes: Buffer; fileName: string } | { url: string };

export interface QueueSeed {
  name: string;
  archive: TemplateArchive;
  /** ROOT_TEMPLATE: the workflow's path inside the archive. */
  rootTemplate: string;
}

export interface SeededQueue {
  name: string;
  evaluationId: string;
  templateId: string;
}

export interface SeededChallenge {
  organizer: SeededUser;
  projectId: string;
  outputRootId: string;
  /** The organizers team (the organizer its member), when one was asked for. */
  organizersTeamId?: string;
  /** The organizer's data files: name → synId. */
  data: Record<string, string>;
  queues: SeededQueue[];
}

export interface ChallengeSeed {
  organizerUserName: string;
  projectName: string;
  /** The name of a team to create with the organizer as its member (Sage's templates share results with one). */
  organizersTeamName?: string;
  /** Files the organizer uploads into the project's Data folder before the templates. */
  data?: readonly DataFile[];
  queues: QueueSeed[];
}

/** A client acting as `user` on the local platform at `url`. */
export function clientAs(url: string, user: SeededUser): SynapseClient {
  return new SynapseClient({ endpoint: synapseEndpoint(url), token: user.token });
}

/**
 * Stores (or replaces, as a new version) the template file entity `name` in `parentId`, with ROOT_TEMPLATE.
 * Unlike `setup`, it does not check that ROOT_TEMPLATE is in the archive: `try` must be able to seed a
 * broken template to see what the orchestrator makes of it.
 */
export async function storeTemplateArchive(
  client: SynapseClient,
  parentId: string,
  name: string,
  archive: TemplateArchive,
  rootTemplate: string,
): Promise<string> {
  let handleId: string;
  if ('url' in archive) {
    handleId = (await client.files.createExternalFileHandle(archive.url, name)).id;
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'template-upload-'));
    try {
      const path = join(dir, archive.fileName);
      await writeFile(path, archive.bytes);
      handleId = (await client.files.uploadFile(path)).id;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const entity = await client.entities.createOrUpdateFile(parentId, name, handleId);
  await client.entities.setAnnotations(entity.id, {
    set: { ROOT_TEMPLATE: { type: 'STRING', value: [rootTemplate] } },
  });
  return entity.id;
}

export async function seedChallenge(
  admin: LocalPlatformAdmin,
  url: string,
  spec: ChallengeSeed,
): Promise<SeededChallenge> {
  const organizer = await admin.createUser({
    userName: spec.organizerUserName,
    firstName: 'Challenge',
    lastName: 'Organizer',
  });
  const client = clientAs(url, organizer);
  const project = await client.entities.create({ name: spec.projectName, concreteType: CONCRETE.project });
  const outputRootId = await client.entities.getOrCreateFolder(project.id, 'Logs');
  const organizersTeamId =
    spec.organizersTeamName === undefined
      ? undefined
      : (await admin.createTeam(spec.organizersTeamName, [organizer.ownerId])).id;
  const data = await uploadOrganizerData(client, project.id, spec.data ?? []);
  const templates = await client.entities.getOrCreateFolder(project.id, 'Templates');
  const queues: SeededQueue[] = [];
  for (const queue of spec.queues) {
    const fileName = 'url' in queue.archive ? `${queue.name} template` : queue.archive.fileName;
    const templateId = await storeTemplateArchive(
      client,
      templates,
      `${queue.name} - ${fileName}`,
      queue.archive,
      queue.rootTemplate,
    );
    const evaluation = await client.evaluations.create({
      name: `${spec.projectName}: ${queue.name}`,
      contentSource: project.id,
    });
    // The organizer owns the queue; the grant makes the orchestrator's rights explicit, as on Synapse.
    await grantEvaluationAccess(client, evaluation.id, [
      { principalId: organizer.ownerId, access: ORCHESTRATOR_QUEUE_ACCESS },
    ]);
    queues.push({ name: queue.name, evaluationId: evaluation.id, templateId });
  }
  return {
    organizer,
    projectId: project.id,
    outputRootId,
    ...(organizersTeamId === undefined ? {} : { organizersTeamId }),
    data,
    queues,
  };
}

/** Lets `principalIds` (participants, a team) submit to the queue. */
export async function allowSubmissions(
  client: SynapseClient,
  evaluationId: string,
  principalIds: readonly string[],
): Promise<void> {
  await grantEvaluationAccess(
    client,
    evaluationId,
    principalIds.map((principalId) => ({ principalId, access: SUBMITTER_ACCESS })),
  );
}
