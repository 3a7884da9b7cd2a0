/** The upload synapseclient makes for `syn.store(File(path, parent=...))`, call by call. */
import { expect } from 'vitest';
import type { FileHandle, MultipartUploadStatus, PartPresignedUrl } from '../../../../src/synapse/types.js';
import type { PythonClientShape } from '../../../support/python-client.js';
import { md5 } from './fixture.js';

const PART_SIZE = 8 * 1024 * 1024;

/**
 * Asks where to upload (the parent's upload destination), starts a multipart upload there, PUTs each part
 * to its presigned URL, adds each part and completes with empty JSON bodies, and reads the new file
 * handle; `parentId` undefined uploads as `syn.sendMessage` does (no destination, storageLocationId null).
 */
export async function uploadLikeClient(
  client: PythonClientShape,
  bytes: Buffer,
  fileName: string,
  options: { parentId?: string; contentType?: string } = {},
): Promise<FileHandle> {
  let storageLocationId: number | null = null;
  if (options.parentId !== undefined) {
    const destination = await client.rest<{ concreteType: string; storageLocationId: number }>(
      'GET',
      'file',
      `/entity/${options.parentId}/uploadDestination`,
    );
    expect(destination.status).toBe(200);
    expect(destination.data.concreteType).toBe('org.sagebionetworks.repo.model.file.S3UploadDestination');
    storageLocationId = destination.data.storageLocationId;
  }
  const started = await client.rest<MultipartUploadStatus>(
    'POST',
    'file',
    '/file/multipart?forceRestart=false',
    {
      concreteType: 'org.sagebionetworks.repo.model.file.MultipartUploadRequest',
      contentType: options.contentType ?? 'application/octet-stream',
      contentMD5Hex: md5(bytes),
      fileName,
      fileSizeBytes: bytes.length,
      generatePreview: true,
      partSizeBytes: PART_SIZE,
      storageLocationId,
    },
  );
  expect(started.status).toBe(201);
  const uploadId = started.data.uploadId;
  const partCount = Math.ceil(bytes.length / PART_SIZE);
  const partNumbers = Array.from({ length: partCount }, (_, i) => i + 1);
  const presigned = await client.rest<{ partPresignedUrls: PartPresignedUrl[] }>(
    'POST',
    'file',
    `/file/multipart/${uploadId}/presigned/url/batch`,
    { uploadId, partNumbers },
  );
  expect(presigned.status).toBe(201);
  for (const part of presigned.data.partPresignedUrls) {
    const chunk = bytes.subarray((part.partNumber - 1) * PART_SIZE, part.partNumber * PART_SIZE);
    // A presigned URL is foreign storage to the client: no token goes with it.
    expect(client.sendsTokenTo(part.uploadPresignedUrl)).toBe(false);
    const put = await client.putPart(part.uploadPresignedUrl, chunk, part.signedHeaders);
    expect(put.status).toBe(200);
    const added = await client.rest<{ addPartState: string }>(
      'PUT',
      'file',
      `/file/multipart/${uploadId}/add/${part.partNumber}?partMD5Hex=${md5(chunk)}`,
    );
    expect(added.status).toBe(201);
    expect(added.data.addPartState).toBe('ADD_SUCCESS');
  }
  const completed = await client.rest<MultipartUploadStatus>(
    'PUT',
    'file',
    `/file/multipart/${uploadId}/complete`,
  );
  expect(completed.status).toBe(201);
  expect(completed.data.state).toBe('COMPLETED');
  const handle = await client.rest<FileHandle>(
    'GET',
    'file',
    `/fileHandle/${completed.data.resultFileHandleId ?? ''}`,
  );
  expect(handle.status).toBe(200);
  return handle.data;
}
