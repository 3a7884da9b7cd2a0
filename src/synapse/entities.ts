/**
 * The entity part of the Synapse client: entity CRUD, child lookup and listing, v2 annotations and file
 * handles, plus the get-or-create patterns the orchestrator relies on (synapse-rest.md §4.3, §5.1). The
 * patterns are written to survive races with other writers and retried requests that had succeeded.
 */
import { isSynapseError, type SynapseError } from './errors.js';
import type { SynapseHttp } from './http.js';
import { readAllPages } from './paging.js';
import {
  type AccessType,
  CONCRETE,
  type Entity,
  type EntityHeader,
  type FileHandle,
  type NewEntity,
  type PaginatedResults,
  type V2AnnotationValue,
  type V2Annotations,
  ENTITY_TYPES,
  type EntityTypeName,
} from './types.js';

/** Annotation edits to merge into whatever the entity holds when they are applied. */
export interface AnnotationChanges {
  set?: Record<string, V2AnnotationValue>;
  remove?: string[];
}

/** A tag/digest pair of a Docker repository entity (Synapse's DockerCommit). */
export interface DockerCommit {
  tag?: string;
  /** `sha256:<64 hex>` */
  digest: string;
  createdOn?: string;
}

/** How often a read-modify-write is redone after a 412 (someone else wrote in between) before giving up. */
const MAX_WRITE_ATTEMPTS = 5;

interface EntityChildrenResponse {
  page: EntityHeader[];
  nextPageToken?: string | null;
}

function sameAnnotations(
  a: Record<string, V2AnnotationValue>,
  b: Record<string, V2AnnotationValue>,
): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const other = b[key];
    const mine = a[key];
    return (
      mine !== undefined &&
      other !== undefined &&
      mine.type === other.type &&
      mine.value.length === other.value.length &&
      mine.value.every((value, index) => value === other.value[index])
    );
  });
}

export class EntityApi {
  constructor(private readonly http: SynapseHttp) {}

  get(id: string): Promise<Entity> {
    return this.http.request<Entity>({
      api: 'repo',
      method: 'GET',
      path: `/entity/${encodeURIComponent(id)}`,
    });
  }

  /** Whether the caller holds `accessType` on the entity (through its benefactor's ACL); changes nothing. */
  async hasAccess(id: string, accessType: AccessType): Promise<boolean> {
    const answer = await this.http.request<{ result: boolean }>({
      api: 'repo',
      method: 'GET',
      path: `/entity/${encodeURIComponent(id)}/access`,
      query: { accessType },
    });
    return answer.result;
  }

  create(entity: NewEntity): Promise<Entity> {
    return this.http.request<Entity>({ api: 'repo', method: 'POST', path: '/entity', body: entity });
  }

  /** PUT the whole entity (with the etag it was read with). A FileEntity with a new file gets a new version. */
  update(entity: Entity, options: { newVersion?: boolean } = {}): Promise<Entity> {
    return this.http.request<Entity>({
      api: 'repo',
      method: 'PUT',
      path: `/entity/${encodeURIComponent(entity.id)}`,
      ...(options.newVersion === true ? { query: { newVersion: true } } : {}),
      body: entity,
    });
  }

  async delete(id: string): Promise<void> {
    await this.http.request({ api: 'repo', method: 'DELETE', path: `/entity/${encodeURIComponent(id)}` });
  }

  /** The id of the child of `parentId` called `name`, or undefined when there is none (Synapse's 404). */
  async lookupChild(parentId: string, name: string): Promise<string | undefined> {
    try {
      const found = await this.http.request<{ id: string }>({
        api: 'repo',
        method: 'POST',
        path: '/entity/child',
        body: { parentId, entityName: name },
      });
      return found.id;
    } catch (error) {
      if (isSynapseError(error, 404)) return undefined;
      throw error;
    }
  }

  /** The id of the project called `name` (project names are unique on Synapse), or undefined. */
  async lookupProject(name: string): Promise<string | undefined> {
    try {
      const found = await this.http.request<{ id: string }>({
        api: 'repo',
        method: 'POST',
        path: '/entity/child',
        body: { parentId: null, entityName: name },
      });
      return found.id;
    } catch (error) {
      if (isSynapseError(error, 404)) return undefined;
      throw error;
    }
  }

  /** Every child of `parentId` of the given types (all types by default), reading every page. */
  async listChildren(
    parentId: string,
    types: readonly EntityTypeName[] = ENTITY_TYPES,
  ): Promise<EntityHeader[]> {
    const children: EntityHeader[] = [];
    let nextPageToken: string | null = null;
    do {
      const response: EntityChildrenResponse = await this.http.request<EntityChildrenResponse>({
        api: 'repo',
        method: 'POST',
        path: '/entity/children',
        body: { parentId, includeTypes: types, sortBy: 'NAME', sortDirection: 'ASC', nextPageToken },
      });
      children.push(...response.page);
      nextPageToken = response.nextPageToken ?? null;
    } while (nextPageToken !== null);
    return children;
  }

  getAnnotations(id: string): Promise<V2Annotations> {
    return this.http.request<V2Annotations>({
      api: 'repo',
      method: 'GET',
      path: `/entity/${encodeURIComponent(id)}/annotations2`,
    });
  }

  /**
   * Applies `changes` to the entity's annotations without losing anyone else's: read, merge, write with the
   * etag that was read, and on a 412 start again from a fresh read. Writes nothing when nothing changes.
   */
  async setAnnotations(id: string, changes: AnnotationChanges): Promise<V2Annotations> {
    const removed = new Set(changes.remove ?? []);
    let conflict: SynapseError | undefined;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.getAnnotations(id);
      const annotations = Object.fromEntries(
        Object.entries({ ...current.annotations, ...changes.set }).filter(([key]) => !removed.has(key)),
      );
      if (sameAnnotations(annotations, current.annotations)) return current;
      try {
        return await this.http.request<V2Annotations>({
          api: 'repo',
          method: 'PUT',
          path: `/entity/${encodeURIComponent(id)}/annotations2`,
          body: { id, etag: current.etag, annotations },
        });
      } catch (error) {
        if (!isSynapseError(error, 412)) throw error;
        conflict = error;
      }
    }
    throw conflict as SynapseError;
  }

  /** The file handles of the entity's current version (none for a folder or project). */
  async getFileHandles(id: string): Promise<FileHandle[]> {
    const response = await this.http.request<{ list: FileHandle[] }>({
      api: 'repo',
      method: 'GET',
      path: `/entity/${encodeURIComponent(id)}/filehandles`,
    });
    return response.list;
  }

  /**
   * The id of the folder `name` under `parentId`, created when missing. Looks first, so an existing folder
   * costs one request; a 409 on create means another writer (or an earlier attempt) made it meanwhile.
   */
  async getOrCreateFolder(parentId: string, name: string): Promise<string> {
    const existing = await this.lookupChild(parentId, name);
    if (existing !== undefined) return existing;
    try {
      return (await this.create({ name, parentId, concreteType: CONCRETE.folder })).id;
    } catch (error) {
      if (!isSynapseError(error, 409)) throw error;
      const raced = await this.lookupChild(parentId, name);
      if (raced === undefined) throw error;
      return raced;
    }
  }

  /**
   * Stores `dataFileHandleId` as the file `name` under `parentId`: creates the FileEntity, or when the name
   * is taken, points the existing one at the new file (Synapse then makes a new version). Calling it again
   * with the same handle changes nothing, so a retry never adds a version. `knownId`: the entity an earlier
   * call returned for this name (a job's log file), which saves the create that would be refused and the
   * lookup; used only while it is still `name` under `parentId`, else found as without it.
   */
  async createOrUpdateFile(
    parentId: string,
    name: string,
    dataFileHandleId: string,
    options: { knownId?: string } = {},
  ): Promise<Entity> {
    const known =
      options.knownId === undefined ? undefined : await this.stillNamed(options.knownId, parentId, name);
    if (known !== undefined) return this.pointFileAt(known, parentId, name, dataFileHandleId);
    let conflict: SynapseError;
    try {
      return await this.create({ name, parentId, concreteType: CONCRETE.fileEntity, dataFileHandleId });
    } catch (error) {
      if (!isSynapseError(error, 409)) throw error;
      conflict = error;
    }
    const id = await this.lookupChild(parentId, name);
    if (id === undefined) throw conflict;
    return this.pointFileAt(await this.get(id), parentId, name, dataFileHandleId);
  }

  /** The entity `id`, while it is still called `name` under `parentId`; undefined once moved, renamed or gone. */
  private async stillNamed(id: string, parentId: string, name: string): Promise<Entity | undefined> {
    try {
      const entity = await this.get(id);
      return entity.parentId === parentId && entity.name === name ? entity : undefined;
    } catch (error) {
      if (isSynapseError(error, 404)) return undefined;
      throw error;
    }
  }

  /** Points the FileEntity `first` (as just read) at a new file: a new version; re-read on 412. */
  private async pointFileAt(
    first: Entity,
    parentId: string,
    name: string,
    dataFileHandleId: string,
  ): Promise<Entity> {
    let entity = first;
    let conflict: SynapseError | undefined;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      if (attempt > 1) entity = await this.get(entity.id);
      if (entity.concreteType !== CONCRETE.fileEntity) {
        throw new Error(
          `Cannot store file '${name}' in ${parentId}: that name belongs to ${entity.id}, a ${entity.concreteType}.`,
        );
      }
      if (entity.dataFileHandleId === dataFileHandleId) return entity;
      try {
        return await this.update({ ...entity, dataFileHandleId });
      } catch (error) {
        if (!isSynapseError(error, 412)) throw error;
        conflict = error;
      }
    }
    throw conflict ?? new Error(`Cannot store file '${name}' in ${parentId}.`);
  }

  /**
   * Records that `tag` pointed at `digest` in an unmanaged (external) Docker repository entity. Synapse
   * accepts a Docker submission only for a digest the repository has a commit for; managed repositories
   * (docker.synapse.org) get theirs from the registry when an image is pushed, and refuse this call.
   */
  async addDockerCommit(id: string, commit: DockerCommit): Promise<void> {
    await this.http.request({
      api: 'repo',
      method: 'POST',
      path: `/entity/${encodeURIComponent(id)}/dockerCommit`,
      body: commit,
    });
  }

  /** The repository's tags, each with the latest digest recorded for it. */
  async listDockerTags(id: string): Promise<DockerCommit[]> {
    const pages = await readAllPages(
      (offset, limit) =>
        this.http.request<PaginatedResults<DockerCommit>>({
          api: 'repo',
          method: 'GET',
          path: `/entity/${encodeURIComponent(id)}/dockerTag`,
          query: { offset, limit },
        }),
      (commit) => `${commit.tag ?? ''}@${commit.digest}`,
      50,
    );
    return pages.items;
  }
}
