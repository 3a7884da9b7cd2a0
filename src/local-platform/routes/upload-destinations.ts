/**
 * Local platform routes: where a client should upload a file for a parent entity. Synapse answers with
 * its default S3 storage (storage location 1), which is all the platform has; synapseclient asks before
 * every upload (GET /file/v1/entity/{id}/uploadDestination, or the per-location form), then uploads with
 * POST /file/multipart naming that storage location.
 */
import type { RouteModule } from '../context.js';
import { readableEntity } from '../entities.js';
import { notFound } from '../errors.js';

/** Synapse's default storage location, the platform's only one. */
export const DEFAULT_STORAGE_LOCATION_ID = 1;

const S3_UPLOAD_DESTINATION = 'org.sagebionetworks.repo.model.file.S3UploadDestination';

function destination() {
  return {
    concreteType: S3_UPLOAD_DESTINATION,
    storageLocationId: DEFAULT_STORAGE_LOCATION_ID,
    uploadType: 'S3',
    stsEnabled: false,
  };
}

export const registerUploadDestinationRoutes: RouteModule = (app, { store }) => {
  app.get<{ Params: { id: string } }>('/file/v1/entity/:id/uploadDestination', (request) => {
    readableEntity(store.state, request.params.id, request.principalId);
    return destination();
  });

  app.get<{ Params: { id: string; storageLocationId: string } }>(
    '/file/v1/entity/:id/uploadDestination/:storageLocationId',
    (request) => {
      readableEntity(store.state, request.params.id, request.principalId);
      if (request.params.storageLocationId !== String(DEFAULT_STORAGE_LOCATION_ID)) {
        throw notFound(`StorageLocation ${request.params.storageLocationId} does not exist.`);
      }
      return destination();
    },
  );

  app.get<{ Params: { id: string } }>('/file/v1/entity/:id/uploadDestinationLocations', (request) => {
    readableEntity(store.state, request.params.id, request.principalId);
    return { list: [{ storageLocationId: DEFAULT_STORAGE_LOCATION_ID }] };
  });
};
