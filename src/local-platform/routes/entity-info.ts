/**
 * Local platform routes: what clients read about an entity besides the entity itself. Its bundle
 * (POST /entity/{id}/bundle2 and /entity/{id}/version/{n}/bundle2, every EntityBundleRequest flag the
 * platform can answer), its header (GET /entity/{id}/type), its path from the root, its versions, the
 * caller's permissions on it, the evaluation queues it is the content source of, and the file versions
 * whose content has a given MD5 (GET /entity/md5/{md5}, how synapseclient's `get(path)` finds a local file).
 */
import { CONCRETE, type EntityHeader, type Evaluation } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import {
  ENTITY_TYPE_OF,
  ROOT_ENTITY_ID,
  childrenOf,
  entityHeader,
  entityVersionView,
  fileHandlesOf,
  normalizeEntityId,
  parseVersion,
  readableEntity,
  requireBody,
  requireEntity,
} from '../entities.js';
import { benefactorOf, canAccessEntity, canAccessEvaluation, userEntityPermissions } from '../permissions.js';
import type { PlatformState, StoredEntity } from '../state.js';
import { paginate, parsePage } from '../submissions.js';

type IdParams = { Params: { id: string } };
type VersionParams = { Params: { id: string; version: string } };

/** The header Synapse puts first in every path: its root folder. */
const ROOT_HEADER: EntityHeader = { id: ROOT_ENTITY_ID, name: 'root', type: CONCRETE.folder };

/** The entity's ancestors from the root down, the entity itself last. */
function pathOf(state: PlatformState, entity: StoredEntity): { path: EntityHeader[] } {
  const chain: StoredEntity[] = [];
  const seen = new Set<string>();
  let current: StoredEntity | undefined = entity;
  while (current !== undefined && !seen.has(current.id)) {
    chain.unshift(current);
    seen.add(current.id);
    current = current.parentId === undefined ? undefined : state.entities[current.parentId];
  }
  return { path: [ROOT_HEADER, ...chain.map((ancestor) => entityHeader(state, ancestor))] };
}

/** Synapse's numeric form of an entity id (restriction information carries it as a number). */
const numericIdOf = (entityId: string) => Number(entityId.replace(/^syn/i, ''));

/**
 * The EntityBundle for one version of an entity. Flags for what the platform does not have (a table
 * bundle, a root wiki, a DOI) leave their field out, as Synapse does for an entity without them.
 */
function bundleOf(
  state: PlatformState,
  entity: StoredEntity,
  version: number | undefined,
  flags: Record<string, unknown>,
  userId: string,
): Record<string, unknown> {
  const wanted = (flag: string) => flags[flag] === true;
  const view =
    version === undefined
      ? entityVersionView(entity, entity.versionNumber ?? 1)
      : entityVersionView(entity, version);
  const handleId = 'dataFileHandleId' in view ? view.dataFileHandleId : undefined;
  const handles =
    handleId === undefined || handleId === entity.dataFileHandleId
      ? fileHandlesOf(state, entity)
      : [state.fileHandles[handleId]].filter((handle) => handle !== undefined);
  const benefactorId = benefactorOf(state, entity.id);
  const benefactorAcl = benefactorId === undefined ? undefined : state.acls[benefactorId];
  const ownAcl = state.acls[entity.id];
  const bundle: Record<string, unknown> = {};
  if (wanted('includeEntity')) {
    bundle.entity = view;
    bundle.entityType = ENTITY_TYPE_OF[entity.concreteType];
  }
  if (wanted('includeAnnotations')) {
    // Earlier versions keep no annotations of their own here: every version shows the current ones.
    bundle.annotations = { id: entity.id, etag: entity.etag, annotations: entity.annotations };
  }
  if (wanted('includePermissions')) bundle.permissions = userEntityPermissions(state, entity.id, userId);
  if (wanted('includeEntityPath')) bundle.path = pathOf(state, entity);
  if (wanted('includeHasChildren')) bundle.hasChildren = childrenOf(state, entity.id).length > 0;
  if (wanted('includeAccessControlList') && ownAcl !== undefined) bundle.accessControlList = ownAcl;
  if (wanted('includeFileHandles')) bundle.fileHandles = handles;
  if (wanted('includeBenefactorACL') && benefactorAcl !== undefined) bundle.benefactorAcl = benefactorAcl;
  if (wanted('includeFileName') && handles[0] !== undefined) bundle.fileName = handles[0].fileName;
  if (wanted('includeThreadCount')) bundle.threadCount = 0;
  if (wanted('includeRestrictionInformation')) {
    // No access requirements here: everything is open.
    bundle.restrictionInformation = {
      objectId: numericIdOf(entity.id),
      restrictionLevel: 'OPEN',
      hasUnmetAccessRequirement: false,
      restrictionDetails: [],
    };
  }
  return bundle;
}

/** The VersionInfo of every version of an entity, newest first. */
function versionsOf(state: PlatformState, entity: StoredEntity) {
  const current = entity.versionNumber ?? 1;
  const numbers = [current, ...(entity.previousVersions ?? []).map((v) => v.versionNumber)].sort(
    (a, b) => b - a,
  );
  return numbers.map((number) => {
    const view = entityVersionView(entity, number);
    const handleId = 'dataFileHandleId' in view ? view.dataFileHandleId : undefined;
    const handle = handleId === undefined ? undefined : state.fileHandles[handleId];
    return {
      id: entity.id,
      versionNumber: number,
      versionLabel: view.versionLabel ?? String(number),
      ...(view.versionComment === undefined ? {} : { versionComment: view.versionComment }),
      modifiedBy: view.modifiedBy,
      modifiedByPrincipalId: view.modifiedBy,
      modifiedOn: view.modifiedOn,
      ...(handle?.contentMd5 === undefined ? {} : { contentMd5: handle.contentMd5 }),
      ...(handle?.contentSize === undefined ? {} : { contentSize: String(handle.contentSize) }),
    };
  });
}

/**
 * Headers of every version of every file the user can read whose file handle has this MD5, newest
 * entity first; an empty page when there is none (synapseclient then says the file is not in Synapse).
 */
function headersByMd5(state: PlatformState, md5: string, userId: string): EntityHeader[] {
  const wanted = md5.toLowerCase();
  return Object.values(state.entities)
    .filter((e) => e.concreteType === CONCRETE.fileEntity && canAccessEntity(state, e.id, userId, 'READ'))
    .sort((a, b) => numericIdOf(b.id) - numericIdOf(a.id))
    .flatMap((entity) => {
      const current = entityHeader(state, entity);
      return versionsOf(state, entity)
        .filter((version) => version.contentMd5?.toLowerCase() === wanted)
        .map((version) => ({
          ...current,
          versionNumber: version.versionNumber,
          versionLabel: version.versionLabel,
          isLatestVersion: version.versionNumber === (entity.versionNumber ?? 1),
        }));
    });
}

export const registerEntityInfoRoutes: RouteModule = (app, { store }) => {
  app.post<IdParams>('/repo/v1/entity/:id/bundle2', (request) => {
    const entity = readableEntity(store.state, request.params.id, request.principalId);
    return bundleOf(store.state, entity, undefined, requireBody(request.body), request.principalId);
  });

  app.post<VersionParams>('/repo/v1/entity/:id/version/:version/bundle2', (request) => {
    const entity = readableEntity(store.state, request.params.id, request.principalId);
    const version = parseVersion(request.params.version);
    return bundleOf(store.state, entity, version, requireBody(request.body), request.principalId);
  });

  app.get<IdParams & { Querystring: { limit?: string; offset?: string } }>(
    '/repo/v1/entity/:id/version',
    (request) => {
      const entity = readableEntity(store.state, request.params.id, request.principalId);
      return paginate(versionsOf(store.state, entity), parsePage(request.query));
    },
  );

  // Synapse lists at most 200 and says how many it listed; there is no paging.
  app.get<{ Params: { md5: string } }>('/repo/v1/entity/md5/:md5', (request) => {
    const results = headersByMd5(store.state, request.params.md5, request.principalId).slice(0, 200);
    return { totalNumberOfResults: results.length, results };
  });

  app.get<IdParams>('/repo/v1/entity/:id/type', (request) =>
    entityHeader(store.state, readableEntity(store.state, request.params.id, request.principalId)),
  );

  app.get<IdParams>('/repo/v1/entity/:id/path', (request) =>
    pathOf(store.state, readableEntity(store.state, request.params.id, request.principalId)),
  );

  app.get<IdParams>('/repo/v1/entity/:id/permissions', (request) => {
    // Anyone may ask: the answer says what they may not do.
    const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
    return userEntityPermissions(store.state, entity.id, request.principalId);
  });

  app.get<IdParams & { Querystring: { limit?: string; offset?: string } }>(
    '/repo/v1/entity/:id/evaluation',
    (request) => {
      const state = store.state;
      const entity = readableEntity(state, request.params.id, request.principalId);
      const evaluations: Evaluation[] = Object.values(state.evaluations)
        .filter((e) => e.contentSource === entity.id)
        .filter((e) => canAccessEvaluation(state, e.id, request.principalId, 'READ'))
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map(({ permissions: _permissions, aclEtag: _aclEtag, ...evaluation }) => evaluation);
      return paginate(evaluations, parsePage(request.query));
    },
  );
};
