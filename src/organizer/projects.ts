/**
 * Projects and names for the organizer commands: Synapse's rule for entity names, and finding a project
 * by its name (project names are unique across Synapse) or creating it, reusing one only when the
 * account may add to it.
 */
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError } from '../synapse/errors.js';
import { CONCRETE, type Entity } from '../synapse/types.js';
import { UsageError, failure, step } from './errors.js';

/** Synapse's entity names: at most 256 letters, digits, spaces and `_ - . + ' ( )`. */
const ENTITY_NAME = /^[A-Za-z0-9 _\-.+'()]+$/;
const MAX_ENTITY_NAME = 256;

/** Why `name` cannot name an entity, or undefined when it can. */
export function entityNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'it is empty';
  if (name.length > MAX_ENTITY_NAME) return `it is longer than ${MAX_ENTITY_NAME} characters`;
  if (!ENTITY_NAME.test(name)) {
    const bad = [...new Set(name.match(/[^A-Za-z0-9 _\-.+'()]/gu) ?? [])].join(' ');
    return `Synapse names may only hold letters, digits, spaces and _ - . + ' ( ), not ${bad}`;
  }
  return undefined;
}

/** `text` made into a valid entity name: other characters become '_'. */
export function safeEntityName(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9 _\-.+'()]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_ENTITY_NAME);
  return cleaned === '' ? 'unnamed' : cleaned;
}

export function checkEntityName(name: string, option: string): string {
  const problem = entityNameProblem(name);
  if (problem !== undefined) throw new UsageError(`${option} ${JSON.stringify(name)}: ${problem}.`);
  return name;
}

export type Action = 'created' | 'reused' | 'updated';

export interface ProjectOutcome {
  id: string;
  name: string;
  action: Action;
}

/**
 * Reads a project the account may add to (CREATE), for `option`: a missing one, or one the account
 * may not use, is a UsageError naming the option.
 */
async function usableProject(
  client: SynapseClient,
  id: string,
  option: string,
  userName: string,
): Promise<Entity> {
  let entity: Entity;
  try {
    entity = await client.entities.get(id);
  } catch (error) {
    if (isSynapseError(error, 404) || isSynapseError(error, 403)) {
      throw new UsageError(
        `${option} ${id}: ${isSynapseError(error, 404) ? 'there is no such project' : `${userName} may not read it`} (${error.reason}).`,
      );
    }
    throw failure(`Reading project ${id}`, error);
  }
  const canCreate = await step(`Checking ${userName}'s access to ${id}`, () =>
    client.entities.hasAccess(id, 'CREATE'),
  );
  if (!canCreate) {
    throw new UsageError(
      `${option}: ${id} (${JSON.stringify(entity.name)}) exists, but ${userName} may not add to it (no CREATE permission); choose another ${option}, or ask its owner for access.`,
    );
  }
  return entity;
}

/** An existing project the account may add to, by id (for --project). */
export async function existingProject(
  client: SynapseClient,
  id: string,
  option: string,
  userName: string,
  kinds: readonly string[] = [CONCRETE.project],
): Promise<{ id: string; name: string }> {
  const entity = await usableProject(client, id, option, userName);
  if (!kinds.includes(entity.concreteType)) {
    const kind = entity.concreteType.split('.').pop() ?? entity.concreteType;
    const wanted = kinds.map((k) => k.split('.').pop() ?? k).join(' or ');
    throw new UsageError(`${option} ${id}: it is a ${kind}, and a ${wanted} is needed here.`);
  }
  return { id: entity.id, name: entity.name };
}

/** The id of the project called `name`, if there is one; a project the account may not read is a UsageError. */
export async function lookupProject(
  client: SynapseClient,
  name: string,
  option: string,
  userName: string,
): Promise<string | undefined> {
  try {
    return await client.entities.lookupProject(name);
  } catch (error) {
    if (isSynapseError(error, 403)) {
      throw new UsageError(
        `${option}: a project named ${JSON.stringify(name)} already exists and ${userName} may not read it (project names are unique on the whole platform); choose another ${option}.`,
      );
    }
    throw failure(`Looking up the project ${JSON.stringify(name)}`, error);
  }
}

/**
 * The project called `name`: reused when it exists and the account may add to it, created otherwise.
 * A project of that name the account may not use is a UsageError naming `option`.
 */
export async function findOrCreateProject(
  client: SynapseClient,
  name: string,
  option: string,
  userName: string,
): Promise<ProjectOutcome> {
  const found = await lookupProject(client, name, option, userName);
  if (found !== undefined) {
    const entity = await usableProject(client, found, option, userName);
    return { id: entity.id, name: entity.name, action: 'reused' };
  }
  try {
    const created = await client.entities.create({ name, concreteType: CONCRETE.project });
    return { id: created.id, name: created.name, action: 'created' };
  } catch (error) {
    // Made meanwhile (another run, or a retried request that had succeeded).
    if (isSynapseError(error, 409)) {
      const raced = await lookupProject(client, name, option, userName);
      if (raced !== undefined) {
        const entity = await usableProject(client, raced, option, userName);
        return { id: entity.id, name: entity.name, action: 'reused' };
      }
    }
    throw failure(`Creating the project ${JSON.stringify(name)}`, error);
  }
}
