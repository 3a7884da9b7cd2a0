/**
 * Low-level record makers shared by the Synapse routes and the admin routes. They build well-formed
 * records (ids, etags, timestamps) and insert them; permission and validation checks belong to callers.
 */
import { CONCRETE, ENTITY_ADMIN_ACCESS, type NewEntity } from '../synapse/types.js';
import type { StoredEntity } from './state.js';
import { PlatformStore } from './store.js';

export function insertEntity(store: PlatformStore, createdBy: string, fields: NewEntity): StoredEntity {
  const now = PlatformStore.now();
  const entity: StoredEntity = {
    ...fields,
    id: store.nextEntityId(),
    etag: PlatformStore.etag(),
    createdOn: now,
    modifiedOn: now,
    createdBy,
    modifiedBy: createdBy,
    annotations: {},
  };
  if (fields.concreteType === CONCRETE.fileEntity) {
    entity.versionNumber = 1;
    entity.versionLabel = '1';
    entity.isLatestVersion = true;
  }
  store.state.entities[entity.id] = entity;
  // A project is always its own benefactor; its creator administers it.
  if (fields.concreteType === CONCRETE.project) {
    store.state.acls[entity.id] = {
      id: entity.id,
      etag: PlatformStore.etag(),
      creationDate: now,
      resourceAccess: [{ principalId: Number(createdBy), accessType: [...ENTITY_ADMIN_ACCESS] }],
    };
  }
  return entity;
}

/** The entity as Synapse returns it: without the stored annotations, version history and provenance. */
export function entityView(
  entity: StoredEntity,
): Omit<StoredEntity, 'annotations' | 'previousVersions' | 'activityId'> {
  const { annotations: _annotations, previousVersions: _versions, activityId: _activity, ...view } = entity;
  return view;
}
