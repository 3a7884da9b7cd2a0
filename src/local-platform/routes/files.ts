/**
 * Local platform routes: file handles and multipart uploads (/file/v1/...), as synapse-rest.md §5.2-5.5
 * describe them, plus two admin helpers that create file handles directly (/__local/files,
 * /__local/external-files). The bytes themselves travel through the fake object store (object-store.ts).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply } from 'fastify';
import {
  CONCRETE,
  type AddPartResponse,
  type BatchFileRequest,
  type BatchFileResult,
  type FileHandle,
  type MultipartUploadRequest,
  type MultipartUploadStatus,
  type PartPresignedUrl,
} from '../../synapse/types.js';
import type { PlatformContext, RouteModule } from '../context.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import { blobNameOf, storeExternalFileHandle, storeFileBytes } from '../files.js';
import { canAccessEntity, canAccessEvaluation, principalsOf } from '../permissions.js';
import { presignedDownloadUrl, presignedPartUrl } from '../presign.js';
import type { PlatformState, StoredUpload } from '../state.js';
import { PlatformStore } from '../store.js';
import { partBlobName } from './object-store.js';

const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_FILE_SIZE = 5 * 1024 ** 4;

/** Every FileHandleAssociateType Synapse knows; the local platform authorizes only the first three. */
const ASSOCIATE_TYPES = new Set([
  'FileEntity',
  'SubmissionAttachment',
  'MessageAttachment',
  'TableEntity',
  'WikiAttachment',
  'WikiMarkdown',
  'UserProfileAttachment',
  'TeamAttachment',
  'VerificationSubmission',
  'AccessRequirementAttachment',
  'DataAccessRequestAttachment',
  'DataAccessSubmissionAttachment',
  'FormData',
]);

type BatchItem = BatchFileResult['requestedFiles'][number];
type RequestedFile = BatchFileRequest['requestedFiles'][number];

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function requiredString(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined || value === null || value === '') throw badRequest(`${name} is required.`);
  if (typeof value !== 'string') throw badRequest(`${name} must be a string.`);
  return value;
}

function requiredInteger(body: Record<string, unknown>, name: string): number {
  const value = body[name];
  if (value === undefined || value === null) throw badRequest(`${name} is required.`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw badRequest(`${name} must be an integer.`);
  return value;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be a string.`);
  return value;
}

/** An id sent as a JSON string or number, as a string; undefined when absent or of another type. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** The JSON with its keys sorted, so that the same request always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function validateUploadRequest(body: unknown): MultipartUploadRequest {
  if (!isRecord(body)) throw badRequest('The body must be a MultipartUploadRequest.');
  const concreteType = optionalString(body, 'concreteType');
  if (concreteType !== undefined && concreteType !== CONCRETE.multipartUploadRequest) {
    throw badRequest(`Unsupported concreteType: ${concreteType}`);
  }
  const fileName = requiredString(body, 'fileName');
  const fileSizeBytes = requiredInteger(body, 'fileSizeBytes');
  const contentMD5Hex = requiredString(body, 'contentMD5Hex');
  const partSizeBytes = requiredInteger(body, 'partSizeBytes');
  const contentType = optionalString(body, 'contentType');
  if (!/^[0-9a-fA-F]{32}$/.test(contentMD5Hex)) throw badRequest(`Invalid contentMD5Hex: ${contentMD5Hex}`);
  if (fileSizeBytes < 1) throw badRequest('File size must be at least one byte');
  if (fileSizeBytes > MAX_FILE_SIZE) throw badRequest(`File size may be at most ${MAX_FILE_SIZE} bytes.`);
  if (partSizeBytes < MIN_PART_SIZE) {
    throw badRequest(`The part size must be at least ${MIN_PART_SIZE} bytes (${partSizeBytes} given).`);
  }
  if (partSizeBytes > MAX_PART_SIZE) throw badRequest(`The part size may be at most ${MAX_PART_SIZE} bytes.`);
  if (Math.ceil(fileSizeBytes / partSizeBytes) > MAX_PARTS) {
    throw badRequest(
      `A file of ${fileSizeBytes} bytes would need more than ${MAX_PARTS} parts of ${partSizeBytes} bytes; use larger parts.`,
    );
  }
  const storageLocationId = body.storageLocationId;
  if (storageLocationId !== undefined && storageLocationId !== null && storageLocationId !== 1) {
    throw badRequest(`Unknown storageLocationId: ${JSON.stringify(storageLocationId)}`);
  }
  return {
    concreteType: CONCRETE.multipartUploadRequest,
    fileName,
    ...(contentType === undefined ? {} : { contentType }),
    contentMD5Hex: contentMD5Hex.toLowerCase(),
    fileSizeBytes,
    partSizeBytes,
    ...(typeof body.generatePreview === 'boolean' ? { generatePreview: body.generatePreview } : {}),
  };
}

function partsStateOf(upload: StoredUpload): string {
  let state = '';
  for (let n = 1; n <= upload.numberOfParts; n++) state += upload.added.includes(n) ? '1' : '0';
  return state;
}

function statusOf(upload: StoredUpload): MultipartUploadStatus {
  return {
    uploadId: upload.uploadId,
    startedBy: upload.startedBy,
    startedOn: upload.startedOn,
    updatedOn: upload.updatedOn,
    partsState: partsStateOf(upload),
    state: upload.state,
    ...(upload.resultFileHandleId === undefined ? {} : { resultFileHandleId: upload.resultFileHandleId }),
  };
}

/** The caller's own upload: 404 when unknown, 403 when someone else started it. */
function ownUpload(state: PlatformState, uploadId: string, caller: string): StoredUpload {
  const upload = state.uploads[uploadId];
  if (upload === undefined) throw notFound(`Cannot find a multipart upload with id: ${uploadId}`);
  if (upload.startedBy !== caller) {
    throw forbidden(
      'Only the user that started a multipart upload can get part upload pre-signed URLs and add parts.',
    );
  }
  return upload;
}

function partNumberOf(upload: StoredUpload, value: unknown): number {
  const partNumber = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > upload.numberOfParts) {
    throw badRequest(
      `Part number cannot be less than one or greater than the number of parts: ${upload.numberOfParts}`,
    );
  }
  return partNumber;
}

function deletePartBlobs(store: PlatformStore, upload: StoredUpload): void {
  for (let n = 1; n <= upload.numberOfParts; n++) store.deleteBlob(partBlobName(upload.uploadId, n));
}

/** The file handle, visible to its creator only. */
function ownFileHandle(state: PlatformState, id: string, caller: string): FileHandle {
  const handle = state.fileHandles[id];
  if (handle === undefined) throw notFound(`FileHandle does not exist for id: ${id}`);
  if (handle.createdBy !== caller) {
    throw forbidden(
      `Only the creator of a FileHandle can access it directly by its ID. FileHandleId = '${id}'`,
    );
  }
  return handle;
}

function downloadUrlOf(context: PlatformContext, handle: FileHandle): string {
  return handle.externalURL ?? presignedDownloadUrl(context, handle.id);
}

function sendUrl(reply: FastifyReply, url: string, redirect: string | undefined): FastifyReply {
  if (redirect === 'false') return reply.code(200).type('text/plain; charset=utf-8').send(url);
  return reply.code(307).header('Location', url).send();
}

/** Concatenates the parts into one new blob, returning its temporary path, MD5 and size. */
async function assembleParts(
  store: PlatformStore,
  upload: StoredUpload,
): Promise<{ path: string; md5: string; size: number }> {
  const path = store.temporaryBlobPath();
  const hash = createHash('md5');
  let size = 0;
  const uploadId = upload.uploadId;
  const numberOfParts = upload.numberOfParts;
  async function* partBytes(): AsyncGenerator<Buffer> {
    for (let n = 1; n <= numberOfParts; n++) {
      for await (const chunk of store.streamBlob(partBlobName(uploadId, n))) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        size += bytes.length;
        yield bytes;
      }
    }
  }
  try {
    await pipeline(partBytes, createWriteStream(path));
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  }
  return { path, md5: hash.digest('hex'), size };
}

function isExternalUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The last path segment of a URL, as a file name when none was given. */
function fileNameOfUrl(value: string): string {
  const segments = new URL(value).pathname.split('/').filter((s) => s.length > 0);
  const last = segments[segments.length - 1];
  return last === undefined ? 'NOT_SET' : decodeURIComponent(last);
}

function createExternalHandle(
  store: PlatformStore,
  createdBy: string,
  body: Record<string, unknown>,
): FileHandle {
  const externalURL = optionalString(body, 'externalURL');
  if (externalURL === undefined || externalURL === '') throw badRequest('ExternalURL is required.');
  if (!isExternalUrl(externalURL)) throw badRequest(`The ExternalURL is not a valid url: ${externalURL}`);
  const fileName = optionalString(body, 'fileName') ?? fileNameOfUrl(externalURL);
  const contentType = optionalString(body, 'contentType');
  const contentMd5 = optionalString(body, 'contentMd5');
  const contentSize = body.contentSize;
  return store.change(() =>
    storeExternalFileHandle(store, createdBy, externalURL, fileName, {
      ...(contentType === undefined ? {} : { contentType }),
      ...(contentMd5 === undefined ? {} : { contentMd5 }),
      ...(typeof contentSize === 'number' ? { contentSize } : {}),
    }),
  );
}

/** The file handle ids an entity bundle (as stored in a submission) lists. */
function bundleFileHandleIds(entityBundleJSON: string): Set<string> {
  try {
    const bundle = JSON.parse(entityBundleJSON) as unknown;
    const handles = isRecord(bundle) ? bundle.fileHandles : undefined;
    if (!Array.isArray(handles)) return new Set();
    return new Set(handles.filter(isRecord).map((h) => String(h.id)));
  } catch {
    return new Set();
  }
}

/** Why the caller may not reach this handle through this object, or undefined when they may. */
function associationFailure(
  state: PlatformState,
  caller: string,
  file: RequestedFile,
): 'NOT_FOUND' | 'UNAUTHORIZED' | undefined {
  const objectId = file.associateObjectId;
  const handleId = file.fileHandleId;
  switch (file.associateObjectType) {
    case 'FileEntity': {
      const entity = state.entities[objectId];
      if (entity === undefined) return 'NOT_FOUND';
      const versions = [
        entity.dataFileHandleId,
        ...(entity.previousVersions ?? []).map((v) => v.dataFileHandleId),
      ];
      if (!versions.includes(handleId)) return 'UNAUTHORIZED';
      return canAccessEntity(state, objectId, caller, 'DOWNLOAD') ? undefined : 'UNAUTHORIZED';
    }
    case 'SubmissionAttachment': {
      const submission = state.submissions[objectId];
      if (submission === undefined) return 'NOT_FOUND';
      if (!canAccessEvaluation(state, submission.evaluationId, caller, 'READ_PRIVATE_SUBMISSION')) {
        return 'UNAUTHORIZED';
      }
      return bundleFileHandleIds(submission.entityBundleJSON).has(handleId) ? undefined : 'UNAUTHORIZED';
    }
    case 'MessageAttachment': {
      const message = state.messages.find((m) => m.id === objectId);
      if (message === undefined) return 'NOT_FOUND';
      if (message.fileHandleId !== handleId) return 'UNAUTHORIZED';
      const principals = principalsOf(state, caller);
      const involved = message.createdBy === caller || message.recipients.some((r) => principals.has(r));
      return involved ? undefined : 'UNAUTHORIZED';
    }
    default:
      return 'UNAUTHORIZED';
  }
}

function validateBatchRequest(body: unknown): BatchFileRequest {
  if (!isRecord(body) || !Array.isArray(body.requestedFiles) || body.requestedFiles.length === 0) {
    throw badRequest('requestedFiles is required.');
  }
  if (body.requestedFiles.length > 100)
    throw badRequest('Request exceeds the maximum of 100 requested files.');
  const requestedFiles = body.requestedFiles.map((item: unknown): RequestedFile => {
    if (!isRecord(item)) throw badRequest('Each requested file must be a FileHandleAssociation.');
    const fileHandleId = idOf(item.fileHandleId);
    const associateObjectId = idOf(item.associateObjectId);
    const associateObjectType = item.associateObjectType;
    if (fileHandleId === undefined) throw badRequest('FileHandleAssociation.fileHandleId is required.');
    if (associateObjectId === undefined) {
      throw badRequest('FileHandleAssociation.associateObjectId is required.');
    }
    if (typeof associateObjectType !== 'string')
      throw badRequest('FileHandleAssociation.associateObjectType is required.');
    if (!ASSOCIATE_TYPES.has(associateObjectType)) {
      throw badRequest(`Unknown FileHandleAssociateType: ${associateObjectType}`);
    }
    return {
      fileHandleId,
      associateObjectId,
      associateObjectType: associateObjectType as RequestedFile['associateObjectType'],
    };
  });
  return {
    requestedFiles,
    includeFileHandles: body.includeFileHandles === true,
    includePreSignedURLs: body.includePreSignedURLs === true,
    includePreviewPreSignedURLs: body.includePreviewPreSignedURLs === true,
  };
}

function knownUser(state: PlatformState, id: unknown): string {
  if (typeof id !== 'string' || state.users[id] === undefined) throw badRequest(`No user ${String(id)}`);
  return id;
}

export const registerFileRoutes: RouteModule = (app, context) => {
  const { store } = context;
  /** Completions under way, so that two concurrent calls assemble the parts once. */
  const completing = new Map<string, Promise<MultipartUploadStatus>>();

  app.post<{ Querystring: { forceRestart?: string } }>('/file/v1/file/multipart', (request, reply) => {
    const caller = request.principalId;
    const uploadRequest = validateUploadRequest(request.body);
    const requestHash = createHash('md5').update(canonicalJson(uploadRequest)).digest('hex');
    const forceRestart = request.query.forceRestart === 'true';
    const status = store.change((state) => {
      const earlier = Object.values(state.uploads).find(
        (u) => u.startedBy === caller && u.requestHash === requestHash,
      );
      if (earlier !== undefined) {
        const resultGone =
          earlier.state === 'COMPLETED' &&
          (earlier.resultFileHandleId === undefined ||
            state.fileHandles[earlier.resultFileHandleId] === undefined ||
            !store.hasBlob(blobNameOf(earlier.resultFileHandleId)));
        if (!forceRestart && !resultGone) return statusOf(earlier);
        deletePartBlobs(store, earlier);
        Reflect.deleteProperty(state.uploads, earlier.uploadId);
      }
      const now = PlatformStore.now();
      const upload: StoredUpload = {
        uploadId: store.nextId(),
        requestHash,
        startedBy: caller,
        startedOn: now,
        updatedOn: now,
        request: uploadRequest,
        numberOfParts: Math.max(1, Math.ceil(uploadRequest.fileSizeBytes / uploadRequest.partSizeBytes)),
        received: {},
        added: [],
        state: 'UPLOADING',
      };
      state.uploads[upload.uploadId] = upload;
      return statusOf(upload);
    });
    return reply.code(201).send(status);
  });

  app.post<{ Params: { uploadId: string } }>(
    '/file/v1/file/multipart/:uploadId/presigned/url/batch',
    (request, reply) => {
      const upload = ownUpload(store.state, request.params.uploadId, request.principalId);
      const body = request.body;
      const numbers = isRecord(body) ? body.partNumbers : undefined;
      if (!Array.isArray(numbers) || numbers.length === 0) throw badRequest('PartNumbers cannot be empty.');
      const partPresignedUrls = numbers.map((value: unknown): PartPresignedUrl => {
        const partNumber = partNumberOf(upload, value);
        return {
          partNumber,
          uploadPresignedUrl: presignedPartUrl(context, upload.uploadId, partNumber),
          signedHeaders: {},
        };
      });
      return reply.code(201).send({ partPresignedUrls });
    },
  );

  app.put<{ Params: { uploadId: string; partNumber: string }; Querystring: { partMD5Hex?: string } }>(
    '/file/v1/file/multipart/:uploadId/add/:partNumber',
    (request, reply) => {
      const upload = ownUpload(store.state, request.params.uploadId, request.principalId);
      if (upload.state === 'COMPLETED') throw badRequest('Cannot add parts to completed file upload.');
      const partNumber = partNumberOf(upload, request.params.partNumber);
      const given = request.query.partMD5Hex;
      if (given === undefined || given === '') throw badRequest('partMD5Hex is required.');
      const received = upload.received[String(partNumber)];
      const ok = received !== undefined && received === given.toLowerCase();
      const response: AddPartResponse = store.change(() => {
        upload.updatedOn = PlatformStore.now();
        upload.added = upload.added.filter((n) => n !== partNumber);
        if (ok) {
          upload.added.push(partNumber);
          upload.added.sort((a, b) => a - b);
          return { uploadId: upload.uploadId, partNumber, addPartState: 'ADD_SUCCESS' };
        }
        return {
          uploadId: upload.uploadId,
          partNumber,
          addPartState: 'ADD_FAILED',
          errorMessage:
            received === undefined
              ? `Part ${partNumber} has not been uploaded to the object store.`
              : `The MD5 given for part ${partNumber} (${given}) does not match the MD5 of the uploaded bytes (${received}).`,
        };
      });
      return reply.code(201).send(response);
    },
  );

  async function complete(upload: StoredUpload): Promise<MultipartUploadStatus> {
    const assembled = await assembleParts(store, upload);
    const current = store.state.uploads[upload.uploadId];
    if (current !== upload || upload.state === 'COMPLETED' || partsStateOf(upload).includes('0')) {
      // Restarted or changed while the parts were being read: this assembly is stale.
      rmSync(assembled.path, { force: true });
      throw badRequest('The upload changed while it was being completed; try again.');
    }
    const expected = upload.request;
    if (assembled.md5 !== expected.contentMD5Hex || assembled.size !== expected.fileSizeBytes) {
      rmSync(assembled.path, { force: true });
      throw badRequest(
        `The assembled file (MD5 ${assembled.md5}, ${assembled.size} bytes) does not match the upload request (MD5 ${expected.contentMD5Hex}, ${expected.fileSizeBytes} bytes).`,
      );
    }
    return store.change((state) => {
      const id = store.nextId();
      store.adoptBlob(blobNameOf(id), assembled.path);
      const now = PlatformStore.now();
      state.fileHandles[id] = {
        id,
        etag: PlatformStore.etag(),
        concreteType: CONCRETE.s3FileHandle,
        createdBy: upload.startedBy,
        createdOn: now,
        modifiedOn: now,
        contentType: expected.contentType ?? 'application/octet-stream',
        contentMd5: expected.contentMD5Hex,
        contentSize: assembled.size,
        fileName: expected.fileName,
        storageLocationId: 1,
        status: 'AVAILABLE',
        bucketName: 'local-platform',
        key: `${upload.startedBy}/${id}/${expected.fileName}`,
      };
      upload.state = 'COMPLETED';
      upload.resultFileHandleId = id;
      upload.updatedOn = now;
      deletePartBlobs(store, upload);
      return statusOf(upload);
    });
  }

  app.put<{ Params: { uploadId: string } }>(
    '/file/v1/file/multipart/:uploadId/complete',
    async (request, reply) => {
      const upload = ownUpload(store.state, request.params.uploadId, request.principalId);
      if (upload.state === 'COMPLETED') return reply.code(201).send(statusOf(upload));
      const missing = upload.numberOfParts - upload.added.length;
      if (missing > 0) {
        throw badRequest(
          `Missing ${missing} part(s).  All parts must be successfully added before a file upload can be completed.`,
        );
      }
      let running = completing.get(upload.uploadId);
      if (running === undefined) {
        running = complete(upload).finally(() => completing.delete(upload.uploadId));
        completing.set(upload.uploadId, running);
      }
      return reply.code(201).send(await running);
    },
  );

  app.get<{ Params: { id: string } }>('/file/v1/fileHandle/:id', (request) =>
    ownFileHandle(store.state, request.params.id, request.principalId),
  );

  app.get<{ Params: { id: string }; Querystring: { redirect?: string } }>(
    '/file/v1/fileHandle/:id/url',
    (request, reply) => {
      const handle = ownFileHandle(store.state, request.params.id, request.principalId);
      return sendUrl(reply, downloadUrlOf(context, handle), request.query.redirect);
    },
  );

  app.post('/file/v1/externalFileHandle', (request, reply) => {
    if (!isRecord(request.body)) throw badRequest('The body must be an ExternalFileHandle.');
    return reply.code(200).send(createExternalHandle(store, request.principalId, request.body));
  });

  app.post('/file/v1/fileHandle/batch', (request, reply) => {
    const batch = validateBatchRequest(request.body);
    const state = store.state;
    const requestedFiles = batch.requestedFiles.map((file): BatchItem => {
      const handle = state.fileHandles[file.fileHandleId];
      const failure =
        handle === undefined ? 'NOT_FOUND' : associationFailure(state, request.principalId, file);
      if (handle === undefined || failure !== undefined) {
        return { fileHandleId: file.fileHandleId, failureCode: failure ?? 'NOT_FOUND' };
      }
      return {
        fileHandleId: file.fileHandleId,
        ...(batch.includeFileHandles === true ? { fileHandle: handle } : {}),
        ...(batch.includePreSignedURLs === true ? { preSignedURL: downloadUrlOf(context, handle) } : {}),
      };
    });
    const result: BatchFileResult = { requestedFiles };
    return reply.code(201).send(result);
  });

  // --- administration (not Synapse)

  app.post('/__local/files', (request) => {
    const body = isRecord(request.body) ? request.body : {};
    const createdBy = knownUser(store.state, body.createdBy);
    const fileName = requiredString(body, 'fileName');
    const contentType = optionalString(body, 'contentType');
    const contentBase64 = body.contentBase64;
    if (typeof contentBase64 !== 'string') throw badRequest('contentBase64 is required.');
    return store.change(() =>
      storeFileBytes(store, createdBy, Buffer.from(contentBase64, 'base64'), fileName, contentType),
    );
  });

  app.post('/__local/external-files', (request) => {
    const body = isRecord(request.body) ? request.body : {};
    const createdBy = knownUser(store.state, body.createdBy);
    return createExternalHandle(store, createdBy, body);
  });
};
