/**
 * Local platform routes: entity ACLs (/repo/v1/entity/{id}/acl), per synapse-rest.md §6. An entity
 * without an ACL inherits its benefactor's, and GET answers that with a 404 naming the benefactor; a
 * second create is a 403, not a 409; ACL content is validated as Synapse validates it.
 */
import {
  PRINCIPALS,
  type AccessControlList,
  type AccessType,
  type ResourceAccess,
  CONCRETE,
} from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { missingEntity, normalizeEntityId, optionalString, requireBody, requireEntity } from '../entities.js';
import { badRequest, forbidden, notFound, preconditionFailed } from '../errors.js';
import { benefactorOf, canAccessEntity, principalsOf } from '../permissions.js';
import type { PlatformState, StoredEntity } from '../state.js';
import { PlatformStore } from '../store.js';

/** Synapse's complete ACCESS_TYPE enum. */
export const ACCESS_TYPES: ReadonlySet<string> = new Set<AccessType>([
  'CREATE',
  'READ',
  'UPDATE',
  'DELETE',
  'CHANGE_PERMISSIONS',
  'DOWNLOAD',
  'UPLOAD',
  'PARTICIPATE',
  'SUBMIT',
  'READ_PRIVATE_SUBMISSION',
  'UPDATE_SUBMISSION',
  'DELETE_SUBMISSION',
  'TEAM_MEMBERSHIP_UPDATE',
  'SEND_MESSAGE',
  'CHANGE_SETTINGS',
  'MODERATE',
  'REVIEW_SUBMISSIONS',
  'EXEMPTION_ELIGIBLE',
]);

type IdParams = { Params: { id: string } };

export function validateEntry(raw: unknown): ResourceAccess {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest('Each resourceAccess entry must be a JSON object.');
  }
  const { principalId, accessType } = raw as { principalId?: unknown; accessType?: unknown };
  if (principalId === undefined || principalId === null)
    throw badRequest('ResourceAccess.principalId is required.');
  // Unlike every other principal id, this one is a JSON number.
  if (typeof principalId !== 'number' || !Number.isSafeInteger(principalId)) {
    throw badRequest(
      `ResourceAccess.principalId must be a JSON integer, not ${JSON.stringify(principalId)}.`,
    );
  }
  if (!Array.isArray(accessType) || accessType.length === 0) throw badRequest('No access types specified.');
  const access = new Set<AccessType>();
  for (const type of accessType as unknown[]) {
    if (typeof type !== 'string' || !ACCESS_TYPES.has(type)) {
      throw badRequest(`Unknown access type: ${String(type)}`);
    }
    access.add(type as AccessType);
  }
  if (principalId === PRINCIPALS.anonymous) {
    throw badRequest(`The anonymous user (${PRINCIPALS.anonymous}) cannot be given access to an entity.`);
  }
  if (principalId === PRINCIPALS.public && [...access].some((type) => type !== 'READ')) {
    throw badRequest(`PUBLIC (${PRINCIPALS.public}) may only be given READ access.`);
  }
  return { principalId, accessType: [...access] };
}

/**
 * The resourceAccess list of an ACL the caller wants to store on `entity`: every entry valid (entries for
 * the same principal merged), and the caller still able to edit the ACL afterwards unless they created
 * the entity.
 */
function validateResourceAccess(
  state: PlatformState,
  raw: unknown,
  entity: StoredEntity,
  userId: string,
): ResourceAccess[] {
  if (!Array.isArray(raw)) throw badRequest('resourceAccess is required.');
  const merged = new Map<number, Set<AccessType>>();
  for (const item of raw as unknown[]) {
    const entry = validateEntry(item);
    const access = merged.get(entry.principalId) ?? new Set<AccessType>();
    for (const type of entry.accessType) access.add(type);
    merged.set(entry.principalId, access);
  }
  const entries = [...merged].map(([principalId, access]) => ({ principalId, accessType: [...access] }));
  const caller = principalsOf(state, userId);
  const keepsControl = entries.some(
    (entry) => caller.has(String(entry.principalId)) && entry.accessType.includes('CHANGE_PERMISSIONS'),
  );
  if (!keepsControl && entity.createdBy !== userId) {
    throw badRequest('Caller is trying to revoke their own ACL editing permissions.');
  }
  return entries;
}

function requireChangePermissions(state: PlatformState, entityId: string, userId: string): void {
  // Checked through the benefactor's ACL, which for an entity with its own ACL is that ACL.
  if (!canAccessEntity(state, entityId, userId, 'CHANGE_PERMISSIONS')) {
    throw forbidden(`You lack CHANGE_PERMISSIONS permission on the requested entity: ${entityId}.`);
  }
}

export const registerAclRoutes: RouteModule = (app, { store, baseUrl }) => {
  app.get<IdParams>('/repo/v1/entity/:id/acl', (request) => {
    const state = store.state;
    const id = normalizeEntityId(request.params.id);
    requireEntity(state, id);
    if (!canAccessEntity(state, id, request.principalId, 'READ')) {
      throw forbidden(`You lack READ permission on the requested entity: ${id}.`);
    }
    const acl = state.acls[id];
    if (acl !== undefined) return acl;
    const benefactorId = benefactorOf(state, id);
    if (benefactorId === undefined) throw missingEntity(id);
    throw notFound(
      `The requested ACL does not exist. This entity inherits its permissions from: ${baseUrl()}/repo/v1/entity/${benefactorId}/acl`,
    );
  });

  app.post<IdParams>('/repo/v1/entity/:id/acl', (request, reply) => {
    const state = store.state;
    const userId = request.principalId;
    const id = normalizeEntityId(request.params.id);
    const body = requireBody(request.body);
    const entity = requireEntity(state, id);
    if (state.acls[id] !== undefined) throw forbidden('Resource already has an ACL.');
    requireChangePermissions(state, id, userId);
    const resourceAccess = validateResourceAccess(state, body.resourceAccess, entity, userId);
    const acl = store.change((changed) => {
      // Whatever id the body carried (a copy of the benefactor's ACL, say), the ACL is this entity's.
      const created: AccessControlList = {
        id,
        etag: PlatformStore.etag(),
        creationDate: PlatformStore.now(),
        resourceAccess,
      };
      changed.acls[id] = created;
      return created;
    });
    return reply.code(201).send(acl);
  });

  app.put<IdParams>('/repo/v1/entity/:id/acl', (request) => {
    const state = store.state;
    const userId = request.principalId;
    const id = normalizeEntityId(request.params.id);
    const body = requireBody(request.body);
    const bodyId = optionalString(body, 'id');
    if (bodyId === undefined || normalizeEntityId(bodyId) !== id) {
      throw badRequest(`The path ID: ${request.params.id} does not match the ACL's ID: ${bodyId ?? 'null'}`);
    }
    const entity = requireEntity(state, id);
    const current = state.acls[id];
    if (current === undefined)
      throw forbidden('Cannot update ACL for a resource which inherits its permissions.');
    requireChangePermissions(state, id, userId);
    if (optionalString(body, 'etag') !== current.etag) throw preconditionFailed('E-tags do not match.');
    const resourceAccess = validateResourceAccess(state, body.resourceAccess, entity, userId);
    return store.change(() => {
      current.resourceAccess = resourceAccess;
      current.etag = PlatformStore.etag();
      return current;
    });
  });

  app.delete<IdParams>('/repo/v1/entity/:id/acl', (request, reply) => {
    const state = store.state;
    const id = normalizeEntityId(request.params.id);
    const entity = requireEntity(state, id);
    if (state.acls[id] === undefined) throw forbidden('Resource already inherits its permissions.');
    if (entity.concreteType === CONCRETE.project || entity.parentId === undefined) {
      throw forbidden(`${id} is a Project: it has nothing to inherit from and must keep its ACL.`);
    }
    requireChangePermissions(state, id, request.principalId);
    store.change((changed) => {
      Reflect.deleteProperty(changed.acls, id);
    });
    return reply.code(204).send();
  });
};
