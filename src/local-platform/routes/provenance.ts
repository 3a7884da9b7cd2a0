/**
 * Local platform routes: provenance. Activities (POST /activity, GET, PUT and DELETE /activity/{id}) and
 * the link from an entity version to the activity that generated it (GET, PUT and DELETE
 * /entity/{id}/generatedBy, GET /entity/{id}/version/{n}/generatedBy). PUT /entity/{id}?generatedBy= and
 * POST /entity?generatedBy= are handled with the entity routes, through `linkActivity`.
 */
import type { RouteModule } from '../context.js';
import { normalizeEntityId, parseVersion, requireEntity, requireEntityAccess } from '../entities.js';
import { badRequest, notFound, preconditionFailed } from '../errors.js';
import {
  activityIdOf,
  requireOwnActivity,
  requireReadableActivity,
  validateActivity,
  type Activity,
} from '../provenance.js';
import type { PlatformState, StoredEntity } from '../state.js';
import { PlatformStore } from '../store.js';

type IdParams = { Params: { id: string } };

/** Makes `activityId` the provenance of the entity's current version (the caller persists the state). */
export function linkActivity(state: PlatformState, entity: StoredEntity, activityId: string, userId: string) {
  const activity = requireReadableActivity(state, activityId, userId);
  entity.activityId = activity.id;
  // Provenance is part of the entity: changing it changes the entity's etag.
  entity.etag = PlatformStore.etag();
  entity.modifiedOn = PlatformStore.now();
  entity.modifiedBy = userId;
  return activity;
}

function generatedBy(
  state: PlatformState,
  entity: StoredEntity,
  version: number | undefined,
  userId: string,
) {
  const activityId = activityIdOf(entity, version);
  if (activityId === undefined) {
    throw notFound(
      `No activity was found for entity ${entity.id}${version === undefined ? '' : `.${version}`}.`,
    );
  }
  return requireReadableActivity(state, activityId, userId);
}

export const registerProvenanceRoutes: RouteModule = (app, { store }) => {
  app.post('/repo/v1/activity', (request, reply) => {
    const fields = validateActivity(request.body);
    const activity = store.change((state) => {
      const now = PlatformStore.now();
      const created: Activity = {
        ...fields,
        id: store.nextId(),
        etag: PlatformStore.etag(),
        createdOn: now,
        createdBy: request.principalId,
        modifiedOn: now,
        modifiedBy: request.principalId,
      };
      state.activities = { ...state.activities, [created.id]: created };
      return created;
    });
    return reply.code(201).send(activity);
  });

  app.get<IdParams>('/repo/v1/activity/:id', (request) =>
    requireReadableActivity(store.state, request.params.id, request.principalId),
  );

  app.put<IdParams>('/repo/v1/activity/:id', (request) => {
    const activity = requireOwnActivity(store.state, request.params.id, request.principalId);
    const body = request.body as { id?: unknown; etag?: unknown } | undefined;
    const bodyId = typeof body?.id === 'string' || typeof body?.id === 'number' ? String(body.id) : undefined;
    if (bodyId !== undefined && bodyId !== activity.id) {
      throw badRequest(`The activity id in the body (${bodyId}) does not match the path.`);
    }
    if (body?.etag !== activity.etag) {
      throw preconditionFailed(
        `Activity ${activity.id} was updated since you last fetched it, retrieve it again and re-apply the update`,
      );
    }
    const fields = validateActivity(request.body);
    return store.change(() => {
      Reflect.deleteProperty(activity, 'name');
      Reflect.deleteProperty(activity, 'description');
      Object.assign(activity, fields, {
        etag: PlatformStore.etag(),
        modifiedOn: PlatformStore.now(),
        modifiedBy: request.principalId,
      });
      return activity;
    });
  });

  app.delete<IdParams>('/repo/v1/activity/:id', (request, reply) => {
    const activity = requireOwnActivity(store.state, request.params.id, request.principalId);
    store.change((state) => {
      Reflect.deleteProperty(state.activities ?? {}, activity.id);
      // Entities it generated are left without provenance.
      for (const entity of Object.values(state.entities)) {
        if (entity.activityId === activity.id) Reflect.deleteProperty(entity, 'activityId');
        for (const version of entity.previousVersions ?? []) {
          if (version.activityId === activity.id) Reflect.deleteProperty(version, 'activityId');
        }
      }
    });
    return reply.code(204).send();
  });

  app.get<IdParams>('/repo/v1/entity/:id/generatedBy', (request) => {
    const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
    requireEntityAccess(store.state, entity.id, request.principalId, 'READ');
    return generatedBy(store.state, entity, undefined, request.principalId);
  });

  app.get<{ Params: { id: string; version: string } }>(
    '/repo/v1/entity/:id/version/:version/generatedBy',
    (request) => {
      const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
      requireEntityAccess(store.state, entity.id, request.principalId, 'READ');
      return generatedBy(store.state, entity, parseVersion(request.params.version), request.principalId);
    },
  );

  app.put<IdParams & { Querystring: { generatedBy?: string } }>(
    '/repo/v1/entity/:id/generatedBy',
    (request) => {
      const activityId = request.query.generatedBy;
      if (activityId === undefined || activityId === '') throw badRequest('generatedBy is required.');
      const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
      requireEntityAccess(store.state, entity.id, request.principalId, 'UPDATE');
      return store.change((state) => linkActivity(state, entity, activityId, request.principalId));
    },
  );

  app.delete<IdParams>('/repo/v1/entity/:id/generatedBy', (request, reply) => {
    const entity = requireEntity(store.state, normalizeEntityId(request.params.id));
    requireEntityAccess(store.state, entity.id, request.principalId, 'UPDATE');
    if (entity.activityId === undefined) throw notFound(`No activity was found for entity ${entity.id}.`);
    store.change(() => {
      Reflect.deleteProperty(entity, 'activityId');
      entity.etag = PlatformStore.etag();
      entity.modifiedOn = PlatformStore.now();
      entity.modifiedBy = request.principalId;
    });
    return reply.code(204).send();
  });
};
