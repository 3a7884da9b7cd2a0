/** File-handle records of the local platform, shared by the file routes and the admin routes. */
import { createHash } from 'node:crypto';
import { CONCRETE, type FileHandle } from '../synapse/types.js';
import { PlatformStore } from './store.js';

/** The blob holding a file handle's bytes. */
export const blobNameOf = (fileHandleId: string) => `filehandle-${fileHandleId}`;

/** Stores bytes as a new S3FileHandle created by `createdBy` (the caller persists the state). */
export function storeFileBytes(
  store: PlatformStore,
  createdBy: string,
  bytes: Buffer,
  fileName: string,
  contentType = 'application/octet-stream',
): FileHandle {
  const id = store.nextId();
  store.writeBlob(blobNameOf(id), bytes);
  const now = PlatformStore.now();
  const handle: FileHandle = {
    id,
    etag: PlatformStore.etag(),
    concreteType: CONCRETE.s3FileHandle,
    createdBy,
    createdOn: now,
    modifiedOn: now,
    contentType,
    contentMd5: createHash('md5').update(bytes).digest('hex'),
    contentSize: bytes.length,
    fileName,
    storageLocationId: 1,
    status: 'AVAILABLE',
    bucketName: 'local-platform',
    key: `${createdBy}/${id}/${fileName}`,
  };
  store.state.fileHandles[id] = handle;
  return handle;
}

/** Records a "link to URL" file handle (the caller persists the state). */
export function storeExternalFileHandle(
  store: PlatformStore,
  createdBy: string,
  externalURL: string,
  fileName: string,
  details: { contentType?: string; contentMd5?: string; contentSize?: number } = {},
): FileHandle {
  const id = store.nextId();
  const now = PlatformStore.now();
  const handle: FileHandle = {
    id,
    etag: PlatformStore.etag(),
    concreteType: CONCRETE.externalFileHandle,
    createdBy,
    createdOn: now,
    modifiedOn: now,
    fileName,
    externalURL,
    status: 'AVAILABLE',
    ...(details.contentType === undefined ? {} : { contentType: details.contentType }),
    ...(details.contentMd5 === undefined ? {} : { contentMd5: details.contentMd5 }),
    ...(details.contentSize === undefined ? {} : { contentSize: details.contentSize }),
  };
  store.state.fileHandles[id] = handle;
  return handle;
}
