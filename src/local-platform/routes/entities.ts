/**
 * Local platform routes: entities (/repo/v1/entity...): create, get (current or an earlier version),
 * update, delete, child lookup, children, annotations2, filehandles and benefactor, with Synapse's status
 * codes and reasons (synapse-rest.md §4.3, §5.1). Bundles, paths, versions and permissions are in
 * entity-info.ts, provenance in provenance.ts.
 */
import { CONCRETE, type EntityHeader } from '../../synapse/types.js';
import type { PlatformContext, RouteModule } from '../context.js';
import {
  ENTITY_TYPE_NAMES,
  ENTITY_TYPE_OF,
  FILE_HANDLE_REQUIRED,
  ROOT_ENTITY_ID,
  assertNameFree,
  childNamed,
  childrenOf,
  descendantsOf,
  entityHeader,
  isContainer,
  missingEntity,
  needsNewVersion,
  entityVersionView,
  fileHandlesOf,
  normalizeEntityId,
  optionalString,
  deleteVersion,
  parseVersion,
  readableEntity,
  requireBody,
  requireEntity,
  requireEntityAccess,
  staleEntityEtag,
  startNewVersion,
  validateDataFileHandle,
  validateDescription,
  validateName,
} from '../entities.js';
import { validateAnnotations } from '../annotations.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import { benefactorOf, canAccessEntity } from '../permissions.js';
import { entityView, insertEntity } from '../records.js';
import type { PlatformState, StoredEntity } from '../state.js';
import { requireReadableActivity } from '../provenance.js';
import { PlatformStore } from '../store.js';
import { linkActivity } from './provenance.js';

/** Children per page of POST /entity/children. */
const CHILDREN_PAGE_SIZE = 50;

type IdParams = { Params: { id: string } };

const SORT_KEYS: Readonly<Record<string, (entity: StoredEntity) => string>> = {
  NAME: (entity) => entity.name,
  CREATED_ON: (entity) => entity.createdOn,
  MODIFIED_ON: (entity) => entity.modifiedOn,
};

const numericId = (entity: StoredEntity) => Number(entity.id.slice('syn'.length));

/** Sets an optional field, or removes it when the value is absent (Synapse omits nulls). */
function setOrDelete<K extends keyof StoredEntity>(
  entity: StoredEntity,
  key: K,
  value: StoredEntity[K],
): void {
  if (value === undefined) Reflect.deleteProperty(entity, key);
  else entity[key] = value;
}

/** A parent id as sent, or undefined for "no parent" (a project; Synapse's root folder means the same). */
function parentIdOf(body: Record<string, unknown>): string | undefined {
  const raw = optionalString(body, 'parentId');
  if (raw === undefined) return undefined;
  const id = normalizeEntityId(raw);
  return id === ROOT_ENTITY_ID ? undefined : id;
}

/** Checks that `concreteType` may be created (or moved) under `parentId` by `userId`. */
function checkParent(state: PlatformState, parentId: string, concreteType: string, userId: string): void {
  const parent = state.entities[parentId];
  if (parent === undefined) throw notFound(`The parent entity ${parentId} does not exist.`);
  if (!isContainer(parent))
    throw badRequest(`Entity ${parentId} is not a Project or Folder: it cannot hold children.`);
  if (concreteType === CONCRETE.dockerRepository && parent.concreteType !== CONCRETE.project) {
    throw badRequest('The parent of a DockerRepository must be a Project.');
  }
  if (!canAccessEntity(state, parentId, userId, 'CREATE')) {
    throw forbidden(`You lack CREATE permission on the parent entity: ${parentId}.`);
  }
}

/** Name and parent of a new or updated entity, validated as its type requires. */
function placementOf(body: Record<string, unknown>, concreteType: string) {
  const parentId = parentIdOf(body);
  if (concreteType === CONCRETE.project && parentId !== undefined) {
    throw badRequest('A Project cannot have a parent.');
  }
  if (concreteType !== CONCRETE.project && parentId === undefined) throw badRequest('parentId is required.');
  if (concreteType !== CONCRETE.dockerRepository) {
    return { parentId, name: validateName(optionalString(body, 'name')) };
  }
  // A DockerRepository is named after its repository, whose name holds '/' and ':'.
  const repositoryName = optionalString(body, 'repositoryName');
  if (repositoryName === undefined || repositoryName === '') throw badRequest('repositoryName is required.');
  return { parentId, name: optionalString(body, 'name') ?? repositoryName, repositoryName };
}

/** An entity the caller may READ, by the id in the path. */

function registerCrud(app: Parameters<RouteModule>[0], { store }: PlatformContext): void {
  app.post<{ Querystring: { generatedBy?: string } }>('/repo/v1/entity', (request, reply) => {
    const state = store.state;
    const userId = request.principalId;
    const body = requireBody(request.body);
    const concreteType = optionalString(body, 'concreteType');
    if (concreteType === undefined) throw badRequest('concreteType is required.');
    if (ENTITY_TYPE_OF[concreteType] === undefined) {
      throw badRequest(`Unsupported entity type: ${concreteType}`);
    }
    const { parentId, name, repositoryName } = placementOf(body, concreteType);
    const description = validateDescription(optionalString(body, 'description'));
    const isFile = concreteType === CONCRETE.fileEntity;
    const dataFileHandleId = optionalString(body, 'dataFileHandleId');
    if (isFile && (dataFileHandleId === undefined || dataFileHandleId === '')) {
      throw badRequest(FILE_HANDLE_REQUIRED);
    }
    if (parentId !== undefined) checkParent(state, parentId, concreteType, userId);
    if (isFile) validateDataFileHandle(state, dataFileHandleId, userId);
    assertNameFree(state, parentId, name);
    const activityId = request.query.generatedBy;
    if (activityId !== undefined) requireReadableActivity(state, activityId, userId);
    const entity = store.change(() => {
      const created = insertEntity(store, userId, {
        name,
        concreteType,
        ...(parentId === undefined ? {} : { parentId }),
        ...(description === undefined ? {} : { description }),
        ...(isFile ? { dataFileHandleId } : {}),
        ...(repositoryName === undefined ? {} : { repositoryName }),
      });
      if (activityId !== undefined) linkActivity(state, created, activityId, userId);
      return created;
    });
    return reply.code(201).send(entityView(entity));
  });

  app.get<IdParams>('/repo/v1/entity/:id', (request) =>
    entityView(readableEntity(store.state, request.params.id, request.principalId)),
  );

  app.get<{ Params: { id: string; version: string } }>('/repo/v1/entity/:id/version/:version', (request) => {
    const entity = readableEntity(store.state, request.params.id, request.principalId);
    return entityVersionView(entity, parseVersion(request.params.version));
  });

  app.put<IdParams & { Querystring: { newVersion?: string; generatedBy?: string } }>(
    '/repo/v1/entity/:id',
    (request) => {
      const state = store.state;
      const userId = request.principalId;
      const id = normalizeEntityId(request.params.id);
      const body = requireBody(request.body);
      const bodyId = optionalString(body, 'id');
      if (bodyId === undefined || normalizeEntityId(bodyId) !== id) {
        throw badRequest(
          `The entity id in the body (${bodyId ?? 'null'}) does not match the id in the path (${id}).`,
        );
      }
      const etag = optionalString(body, 'etag');
      if (etag === undefined || etag === '') throw badRequest('etag is required.');
      const entity = requireEntity(state, id);
      requireEntityAccess(state, id, userId, 'UPDATE');
      if (etag !== entity.etag) throw staleEntityEtag(id);
      const concreteType = optionalString(body, 'concreteType') ?? entity.concreteType;
      if (concreteType !== entity.concreteType) {
        throw badRequest(`The type of entity ${id} cannot change from ${entity.concreteType}.`);
      }
      const { parentId, name, repositoryName } = placementOf(body, concreteType);
      const description = validateDescription(optionalString(body, 'description'));
      if (parentId !== undefined && parentId !== entity.parentId) {
        if (parentId === id || descendantsOf(state, id).includes(parentId)) {
          throw badRequest(`Entity ${id} cannot be moved into itself or one of its descendants.`);
        }
        checkParent(state, parentId, concreteType, userId);
      }
      const isFile = concreteType === CONCRETE.fileEntity;
      const dataFileHandleId = optionalString(body, 'dataFileHandleId');
      let newVersion = false;
      if (isFile) {
        if (dataFileHandleId === undefined || dataFileHandleId === '') throw badRequest(FILE_HANDLE_REQUIRED);
        if (dataFileHandleId !== entity.dataFileHandleId)
          validateDataFileHandle(state, dataFileHandleId, userId);
        newVersion = needsNewVersion(state, entity, dataFileHandleId, request.query.newVersion === 'true');
      }
      assertNameFree(state, parentId, name, id);
      const activityId = request.query.generatedBy;
      if (activityId !== undefined) requireReadableActivity(state, activityId, userId);
      return store.change(() => {
        const versionLabel = optionalString(body, 'versionLabel');
        if (newVersion) startNewVersion(entity, versionLabel);
        else if (isFile && versionLabel !== undefined) entity.versionLabel = versionLabel;
        entity.name = name;
        setOrDelete(entity, 'parentId', parentId);
        setOrDelete(entity, 'description', description);
        if (isFile) {
          entity.dataFileHandleId = dataFileHandleId;
          setOrDelete(entity, 'versionComment', optionalString(body, 'versionComment'));
        }
        if (repositoryName !== undefined) entity.repositoryName = repositoryName;
        entity.etag = PlatformStore.etag();
        entity.modifiedOn = PlatformStore.now();
        entity.modifiedBy = userId;
        if (activityId !== undefined) linkActivity(state, entity, activityId, userId);
        return entityView(entity);
      });
    },
  );

  app.delete<IdParams>('/repo/v1/entity/:id', (request, reply) => {
    const id = normalizeEntityId(request.params.id);
    requireEntity(store.state, id);
    requireEntityAccess(store.state, id, request.principalId, 'DELETE');
    store.change((state) => {
      for (const gone of [id, ...descendantsOf(state, id)]) {
        // Synapse moves them to the trash can; here they are simply gone.
        Reflect.deleteProperty(state.entities, gone);
        Reflect.deleteProperty(state.acls, gone);
      }
    });
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string; version: string } }>(
    '/repo/v1/entity/:id/version/:version',
    (request, reply) => {
      const id = normalizeEntityId(request.params.id);
      const entity = requireEntity(store.state, id);
      requireEntityAccess(store.state, id, request.principalId, 'DELETE');
      const version = parseVersion(request.params.version);
      store.change(() => {
        deleteVersion(entity, version);
      });
      return reply.code(204).send();
    },
  );
}

function registerNavigation(app: Parameters<RouteModule>[0], { store }: PlatformContext): void {
  app.post('/repo/v1/entity/child', (request) => {
    const state = store.state;
    const userId = request.principalId;
    const body = requireBody(request.body);
    const parentId = parentIdOf(body);
    const entityName = optionalString(body, 'entityName');
    if (entityName === undefined || entityName === '') throw badRequest('entityName is required.');
    if (parentId !== undefined) {
      if (state.entities[parentId] === undefined) throw missingEntity(parentId);
      if (!canAccessEntity(state, parentId, userId, 'READ')) {
        throw forbidden('Lack of READ permission on the parent entity.');
      }
    }
    const child = childNamed(state, parentId, entityName);
    if (child === undefined) {
      throw notFound(
        `Child not found for parent: '${parentId ?? ROOT_ENTITY_ID}' with name: '${entityName}'`,
      );
    }
    if (!canAccessEntity(state, child.id, userId, 'READ')) {
      throw forbidden('Lack of READ permission on the requested entity.');
    }
    return { id: child.id };
  });

  app.post('/repo/v1/entity/children', (request) => {
    const state = store.state;
    const userId = request.principalId;
    const body = requireBody(request.body);
    const parentId = parentIdOf(body);
    const includeTypes = body.includeTypes;
    if (includeTypes === undefined || includeTypes === null) {
      throw badRequest('EntityChildrenRequest.includeTypes is required.');
    }
    if (!Array.isArray(includeTypes) || includeTypes.length === 0) {
      throw badRequest('EntityChildrenRequest.includeTypes must name at least one type.');
    }
    const types = new Set<string>();
    for (const type of includeTypes as unknown[]) {
      if (typeof type !== 'string' || !ENTITY_TYPE_NAMES.has(type)) {
        throw badRequest(`Unknown entity type in includeTypes: ${String(type)}`);
      }
      types.add(type);
    }
    const sortBy = optionalString(body, 'sortBy') ?? 'NAME';
    const sortKey = SORT_KEYS[sortBy];
    if (sortKey === undefined) throw badRequest(`Unknown sortBy: ${sortBy}`);
    const sortDirection = optionalString(body, 'sortDirection') ?? 'ASC';
    if (sortDirection !== 'ASC' && sortDirection !== 'DESC') {
      throw badRequest(`Unknown sortDirection: ${sortDirection}`);
    }
    const { limit, offset } = pageOf(optionalString(body, 'nextPageToken'));
    if (parentId !== undefined) {
      requireEntity(state, parentId);
      if (!canAccessEntity(state, parentId, userId, 'READ')) {
        throw forbidden('Lack of READ permission on the parent entity.');
      }
    }
    const direction = sortDirection === 'ASC' ? 1 : -1;
    const children = childrenOf(state, parentId)
      .filter((child) => types.has(ENTITY_TYPE_OF[child.concreteType] ?? ''))
      .filter((child) => canAccessEntity(state, child.id, userId, 'READ'))
      .sort((a, b) => {
        const keyA = sortKey(a);
        const keyB = sortKey(b);
        const byKey = keyA < keyB ? -1 : keyA > keyB ? 1 : 0;
        return direction * (byKey === 0 ? numericId(a) - numericId(b) : byKey);
      });
    const page: EntityHeader[] = children
      .slice(offset, offset + limit)
      .map((child) => entityHeader(state, child));
    const more = offset + limit < children.length;
    return {
      page,
      ...(more ? { nextPageToken: `${limit}a${offset + limit}` } : {}),
      ...(body.includeTotalChildCount === true ? { totalChildCount: children.length } : {}),
      ...(body.includeSumFileSizes === true
        ? {
            sumFileSizesBytes: children
              .flatMap((child) => fileHandlesOf(state, child))
              .reduce((sum, handle) => sum + (handle.contentSize ?? 0), 0),
          }
        : {}),
    };
  });

  app.get<IdParams>('/repo/v1/entity/:id/benefactor', (request) => {
    const state = store.state;
    const entity = readableEntity(state, request.params.id, request.principalId);
    const benefactorId = benefactorOf(state, entity.id);
    const benefactor = benefactorId === undefined ? undefined : state.entities[benefactorId];
    if (benefactor === undefined) throw notFound(`Entity ${entity.id} has no benefactor.`);
    return entityHeader(state, benefactor);
  });
}

/** The position a nextPageToken stands for: Synapse's tokens read "<limit>a<offset>". */
function pageOf(token: string | undefined): { limit: number; offset: number } {
  if (token === undefined) return { limit: CHILDREN_PAGE_SIZE, offset: 0 };
  const match = /^(\d+)a(\d+)$/.exec(token);
  if (match === null) throw badRequest(`Invalid nextPageToken: ${token}`);
  const limit = Number(match[1]);
  if (limit < 1) throw badRequest(`Invalid nextPageToken: ${token}`);
  return { limit: Math.min(limit, CHILDREN_PAGE_SIZE), offset: Number(match[2]) };
}

function registerContent(app: Parameters<RouteModule>[0], { store }: PlatformContext): void {
  app.get<IdParams>('/repo/v1/entity/:id/annotations2', (request) => {
    const entity = readableEntity(store.state, request.params.id, request.principalId);
    return { id: entity.id, etag: entity.etag, annotations: entity.annotations };
  });

  app.put<IdParams>('/repo/v1/entity/:id/annotations2', (request) => {
    const state = store.state;
    const userId = request.principalId;
    const id = normalizeEntityId(request.params.id);
    const body = requireBody(request.body);
    const bodyId = optionalString(body, 'id');
    if (bodyId !== undefined && normalizeEntityId(bodyId) !== id) {
      throw badRequest(`The annotations' id (${bodyId}) does not match the id in the path (${id}).`);
    }
    const etag = optionalString(body, 'etag');
    if (etag === undefined || etag === '') throw badRequest('etag is required.');
    const entity = requireEntity(state, id);
    requireEntityAccess(state, id, userId, 'UPDATE');
    if (etag !== entity.etag) throw staleEntityEtag(id);
    const annotations = validateAnnotations(body.annotations);
    return store.change(() => {
      entity.annotations = annotations;
      // Annotations are part of the entity: changing them changes the entity's etag.
      entity.etag = PlatformStore.etag();
      entity.modifiedOn = PlatformStore.now();
      entity.modifiedBy = userId;
      return { id, etag: entity.etag, annotations };
    });
  });

  app.get<IdParams>('/repo/v1/entity/:id/filehandles', (request) => {
    const entity = readableEntity(store.state, request.params.id, request.principalId);
    return { list: fileHandlesOf(store.state, entity) };
  });
}

export const registerEntityRoutes: RouteModule = (app, context) => {
  registerCrud(app, context);
  registerNavigation(app, context);
  registerContent(app, context);
};
