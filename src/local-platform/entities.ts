/**
 * Entity rules of the local platform, as Synapse applies them (synapse-rest.md §4.1, §5.1): which types
 * exist, what a valid name is, that names are unique within a parent, how a FileEntity gets a new version,
 * and what a valid v2 annotation map is. The route modules do the HTTP; this module decides.
 */
import {
  CONCRETE,
  ENTITY_TYPES,
  type AccessType,
  type EntityHeader,
  type FileHandle,
} from '../synapse/types.js';
import { badRequest, conflict, forbidden, notFound, preconditionFailed } from './errors.js';
import { benefactorOf, canAccessEntity } from './permissions.js';
import { entityView } from './records.js';
import type { PlatformState, StoredEntity } from './state.js';
import { PlatformStore } from './store.js';

/** Synapse's root folder: the parent of every project, named in reasons about projects. */
export const ROOT_ENTITY_ID = 'syn4489';

/** The EntityType name (as used by includeTypes and bundles) of each concrete type the platform stores. */
export const ENTITY_TYPE_OF: Readonly<Record<string, string>> = {
  [CONCRETE.project]: 'project',
  [CONCRETE.folder]: 'folder',
  [CONCRETE.fileEntity]: 'file',
  [CONCRETE.dockerRepository]: 'dockerrepo',
};

/** Every EntityType Synapse knows; a filter may name types this platform never stores. */
export const ENTITY_TYPE_NAMES: ReadonlySet<string> = new Set(ENTITY_TYPES);

/** Types that may hold children. */
const CONTAINER_TYPES: ReadonlySet<string> = new Set([CONCRETE.project, CONCRETE.folder]);

const MAX_NAME_LENGTH = 256;
const MAX_DESCRIPTION_LENGTH = 1000;
const NAME_PATTERN = /^[A-Za-z0-9 _\-.+'()]+$/;

// --- request bodies

/** A JSON request body as an object, or 400. */
export function requireBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

/** An optional string field: undefined when absent or null, 400 when it holds something else. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string.`);
  return value;
}

// --- ids and lookups

/** Synapse accepts "syn123", "SYN123" and "123" for the same entity. */
export function normalizeEntityId(id: string): string {
  const match = /^(?:syn)?(\d+)$/i.exec(id.trim());
  return match === null ? id : `syn${match[1] ?? ''}`;
}

export const missingEntity = (id: string) => notFound(`Entity ${id} does not exist.`);

export function requireEntity(state: PlatformState, id: string): StoredEntity {
  const entity = state.entities[id];
  if (entity === undefined) throw missingEntity(id);
  return entity;
}

export function requireEntityAccess(
  state: PlatformState,
  entityId: string,
  userId: string,
  access: AccessType,
): void {
  if (!canAccessEntity(state, entityId, userId, access)) {
    throw forbidden(`You lack ${access} permission on the requested entity: ${entityId}.`);
  }
}

/** Synapse's answer to a write carrying an outdated etag. */
export const staleEntityEtag = (id: string) =>
  preconditionFailed(
    `Object: ${id} was updated since you last fetched it, retrieve it again and re-apply the update`,
  );

export function isContainer(entity: StoredEntity): boolean {
  return CONTAINER_TYPES.has(entity.concreteType);
}

/** The direct children of `parentId`; undefined lists the projects (the children of the root). */
export function childrenOf(state: PlatformState, parentId: string | undefined): StoredEntity[] {
  return Object.values(state.entities).filter((entity) => entity.parentId === parentId);
}

export function childNamed(
  state: PlatformState,
  parentId: string | undefined,
  name: string,
): StoredEntity | undefined {
  return childrenOf(state, parentId).find((entity) => entity.name === name);
}

/** Every entity below `id` (children, their children, ...), not the entity itself. */
export function descendantsOf(state: PlatformState, id: string): string[] {
  const found: string[] = [];
  const pending = [id];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    for (const child of childrenOf(state, current)) {
      found.push(child.id);
      pending.push(child.id);
    }
  }
  return found;
}

/** An entity the caller may READ, by the id in a path (404 when unknown, 403 when not readable). */
export function readableEntity(state: PlatformState, rawId: string, userId: string): StoredEntity {
  const entity = requireEntity(state, normalizeEntityId(rawId));
  requireEntityAccess(state, entity.id, userId, 'READ');
  return entity;
}

/** The file handle of a FileEntity's current version (none for other types). */
export function fileHandlesOf(state: PlatformState, entity: StoredEntity): FileHandle[] {
  if (entity.concreteType !== CONCRETE.fileEntity || entity.dataFileHandleId === undefined) return [];
  const handle = state.fileHandles[entity.dataFileHandleId];
  return handle === undefined ? [] : [handle];
}

// --- names and fields

/** Names are unique within a parent, across all entity types (409 otherwise). */
export function assertNameFree(
  state: PlatformState,
  parentId: string | undefined,
  name: string,
  exceptId?: string,
): void {
  const taken = childNamed(state, parentId, name);
  if (taken !== undefined && taken.id !== exceptId) {
    throw conflict(
      `An entity with the name: ${name} already exists with a parentId: ${parentId ?? ROOT_ENTITY_ID}`,
    );
  }
}

export function validateName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') throw badRequest('Entity name is required.');
  if (name.length > MAX_NAME_LENGTH) {
    throw badRequest(`Entity names can be at most ${MAX_NAME_LENGTH} characters long.`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw badRequest(
      `Invalid entity name: '${name}'. Names may only contain letters, numbers, spaces, underscores, hyphens, periods, plus signs, apostrophes and parentheses.`,
    );
  }
  return name;
}

export function validateDescription(description: string | undefined): string | undefined {
  if (description !== undefined && description.length > MAX_DESCRIPTION_LENGTH) {
    throw badRequest(`Entity descriptions can be at most ${MAX_DESCRIPTION_LENGTH} characters long.`);
  }
  return description;
}

/** Synapse's exact reason for a FileEntity without a file. */
export const FILE_HANDLE_REQUIRED = 'FileEntity.dataFileHandleId cannot be null';

/** The file handle a FileEntity may point at: it must exist, and the caller must have created it. */
export function validateDataFileHandle(state: PlatformState, handleId: string | undefined, userId: string) {
  if (handleId === undefined || handleId === '') throw badRequest(FILE_HANDLE_REQUIRED);
  const handle = state.fileHandles[handleId];
  if (handle === undefined) throw badRequest(`FileHandle ${handleId} does not exist.`);
  if (handle.createdBy !== userId) {
    throw forbidden(`Only the creator of FileHandle ${handleId} may link it to an entity.`);
  }
  return handle;
}

// --- versions

/**
 * Whether replacing the file of a FileEntity makes a new version: Synapse does when asked to, or when the
 * new file's MD5 differs from the current one's. Re-sending the same handle (a retried PUT) never does.
 */
export function needsNewVersion(
  state: PlatformState,
  entity: StoredEntity,
  newHandleId: string,
  requested: boolean,
): boolean {
  if (requested) return true;
  if (newHandleId === entity.dataFileHandleId) return false;
  const oldMd5 =
    entity.dataFileHandleId === undefined
      ? undefined
      : state.fileHandles[entity.dataFileHandleId]?.contentMd5;
  const newMd5 = state.fileHandles[newHandleId]?.contentMd5;
  return oldMd5 === undefined || newMd5 === undefined || oldMd5 !== newMd5;
}

/** Keeps the current version of a FileEntity in its history and makes the entity the next version. */
export function startNewVersion(entity: StoredEntity, label: string | undefined): void {
  const current = entity.versionNumber ?? 1;
  if (entity.dataFileHandleId !== undefined) {
    entity.previousVersions = [
      ...(entity.previousVersions ?? []),
      {
        versionNumber: current,
        dataFileHandleId: entity.dataFileHandleId,
        modifiedOn: entity.modifiedOn,
        modifiedBy: entity.modifiedBy,
        ...(entity.versionLabel === undefined ? {} : { versionLabel: entity.versionLabel }),
        ...(entity.activityId === undefined ? {} : { activityId: entity.activityId }),
      },
    ];
  }
  // A new version starts without provenance, unless the same request names one (generatedBy).
  Reflect.deleteProperty(entity, 'activityId');
  entity.versionNumber = current + 1;
  // An unchanged label means "no label of my own": Synapse then labels the version with its number.
  entity.versionLabel = label !== undefined && label !== entity.versionLabel ? label : String(current + 1);
  entity.isLatestVersion = true;
}

/**
 * Deletes one version of a FileEntity (syn.delete(entity, version=n)). Deleting the current version makes
 * the previous one current; the only version cannot be deleted (the entity itself is deleted instead).
 */
export function deleteVersion(entity: StoredEntity, version: number): void {
  const earlier = entity.previousVersions ?? [];
  const current = entity.versionNumber ?? 1;
  if (version !== current && !earlier.some((v) => v.versionNumber === version)) {
    throw notFound(`Entity ${entity.id} has no version ${version}.`);
  }
  if (earlier.length === 0) {
    throw badRequest(`Cannot delete the only version of entity ${entity.id}; delete the entity instead.`);
  }
  // The entity changed, so whoever still holds the old etag gets a 412 on their next write, as on Synapse.
  entity.etag = PlatformStore.etag();
  if (version !== current) {
    entity.previousVersions = earlier.filter((v) => v.versionNumber !== version);
    return;
  }
  const previous = earlier[earlier.length - 1] as (typeof earlier)[number];
  entity.previousVersions = earlier.slice(0, -1);
  entity.versionNumber = previous.versionNumber;
  entity.versionLabel = previous.versionLabel ?? String(previous.versionNumber);
  entity.dataFileHandleId = previous.dataFileHandleId;
  entity.modifiedOn = previous.modifiedOn;
  if (previous.modifiedBy !== undefined) entity.modifiedBy = previous.modifiedBy;
  if (previous.activityId === undefined) Reflect.deleteProperty(entity, 'activityId');
  else entity.activityId = previous.activityId;
  Reflect.deleteProperty(entity, 'versionComment');
}

/** A version number from a path, or 400. */
export function parseVersion(raw: string): number {
  if (!/^\d+$/.test(raw)) throw badRequest(`Invalid version number: ${raw}`);
  return Number(raw);
}

/** One version of an entity as Synapse shows it (the current one, or an earlier version of a file). */
export function entityVersionView(entity: StoredEntity, version: number) {
  if (version === (entity.versionNumber ?? 1)) return entityView(entity);
  const earlier = entity.previousVersions?.find((candidate) => candidate.versionNumber === version);
  if (earlier === undefined) throw notFound(`Entity ${entity.id} has no version ${version}.`);
  const { versionComment: _comment, ...current } = entityView(entity);
  return {
    ...current,
    dataFileHandleId: earlier.dataFileHandleId,
    modifiedOn: earlier.modifiedOn,
    ...(earlier.modifiedBy === undefined ? {} : { modifiedBy: earlier.modifiedBy }),
    versionNumber: version,
    versionLabel: earlier.versionLabel ?? String(version),
    isLatestVersion: false,
  };
}

// --- headers

export function entityHeader(state: PlatformState, entity: StoredEntity): EntityHeader {
  const benefactor = benefactorOf(state, entity.id);
  return {
    name: entity.name,
    id: entity.id,
    type: entity.concreteType,
    versionNumber: entity.versionNumber ?? 1,
    versionLabel: entity.versionLabel ?? String(entity.versionNumber ?? 1),
    isLatestVersion: true,
    // A JSON number, unlike the entity id itself.
    ...(benefactor === undefined ? {} : { benefactorId: Number(benefactor.slice('syn'.length)) }),
    createdOn: entity.createdOn,
    modifiedOn: entity.modifiedOn,
    createdBy: entity.createdBy,
    modifiedBy: entity.modifiedBy,
  };
}
