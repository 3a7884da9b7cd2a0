/**
 * File handles, multipart upload, the fake object store and download URLs: the FileApi client against the
 * local platform over HTTP, plus raw calls for the error statuses a well-behaved client never provokes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosResponse, type Method } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import type { PlatformContext } from '../../../src/local-platform/context.js';
import { presignedDownloadUrl, presignedPartUrl } from '../../../src/local-platform/presign.js';
import { insertEntity } from '../../../src/local-platform/records.js';
import { FileAccessError, FileApi } from '../../../src/synapse/files.js';
import type { SynapseHttp } from '../../../src/synapse/http.js';
import {
  CONCRETE,
  type AddPartResponse,
  type BatchFileResult,
  type FileHandle,
  type MultipartUploadStatus,
  type PartPresignedUrl,
} from '../../../src/synapse/types.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';

const MiB = 1024 * 1024;
const ERROR_RESPONSE = 'org.sagebionetworks.repo.model.ErrorResponse';

let t: TestPlatform;
let http: SynapseHttp;
let files: FileApi;
let alice: SeededUser;
let work: string;

beforeAll(async () => {
  t = await startTestPlatform();
  http = t.http();
  files = new FileApi(http);
  alice = await t.admin.createUser({ userName: 'alice' });
  work = mkdtempSync(join(tmpdir(), 'files-test-'));
});
afterAll(() => t.close());
afterEach(async () => {
  vi.restoreAllMocks();
  await t.admin.clearFaults();
});

/** A raw call with a user's token, for the statuses the client would never provoke. */
function call(
  method: Method,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<AxiosResponse> {
  return axios.request({
    method,
    url: path.startsWith('http') ? path : `${t.platform.url}${path}`,
    data: options.body,
    headers: { Authorization: `Bearer ${options.token ?? t.orchestrator.token}`, ...options.headers },
    maxRedirects: 0,
    validateStatus: () => true,
  });
}

/** A call without any Authorization header (presigned URLs). */
function bare(method: Method, url: string, body?: Buffer, headers?: Record<string, string>) {
  return axios.request({
    method,
    url,
    data: body,
    headers,
    validateStatus: () => true,
    responseType: 'text',
  });
}

function expectSynapseError(response: AxiosResponse, status: number, reason: string | RegExp): void {
  expect(response.status).toBe(status);
  const data = response.data as { concreteType?: string; reason?: string };
  expect(data.concreteType).toBe(ERROR_RESPONSE);
  if (typeof reason === 'string') expect(data.reason).toBe(reason);
  else expect(data.reason).toMatch(reason);
}

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

function uploadRequest(bytes: Buffer, fileName = `f-${randomBytes(4).toString('hex')}.bin`) {
  return {
    concreteType: CONCRETE.multipartUploadRequest,
    fileName,
    contentType: 'application/octet-stream',
    contentMD5Hex: md5(bytes),
    fileSizeBytes: bytes.length,
    partSizeBytes: 5 * MiB,
  };
}

async function startUpload(body: unknown, token?: string, query = ''): Promise<MultipartUploadStatus> {
  const response = await call('POST', `/file/v1/file/multipart${query}`, {
    body,
    ...(token ? { token } : {}),
  });
  expect(response.status).toBe(201);
  return response.data as MultipartUploadStatus;
}

async function presign(uploadId: string, partNumbers: number[]): Promise<PartPresignedUrl[]> {
  const response = await call('POST', `/file/v1/file/multipart/${uploadId}/presigned/url/batch`, {
    body: { uploadId, partNumbers },
  });
  expect(response.status).toBe(201);
  return (response.data as { partPresignedUrls: PartPresignedUrl[] }).partPresignedUrls;
}

async function putPart(uploadId: string, partNumber: number, bytes: Buffer): Promise<void> {
  const [url] = await presign(uploadId, [partNumber]);
  const response = await bare('PUT', url?.uploadPresignedUrl ?? '', bytes, {
    'Content-Type': 'application/octet-stream',
  });
  expect(response.status).toBe(200);
}

function addPart(uploadId: string, partNumber: number, partMD5Hex: string, token?: string) {
  return call('PUT', `/file/v1/file/multipart/${uploadId}/add/${partNumber}?partMD5Hex=${partMD5Hex}`, {
    ...(token ? { token } : {}),
  });
}

function localContext(): PlatformContext {
  return {
    baseUrl: () => t.platform.url,
    objectStoreUrl: () => t.platform.objectStoreUrl,
    adminToken: t.platform.adminToken,
  } as unknown as PlatformContext;
}

function writeRandomFile(name: string, size: number): { path: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const path = join(work, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** Counts the part PUTs a client sends to presigned URLs. */
function countPartPuts(): () => number {
  const spy = vi.spyOn(http, 'fetchUrl');
  return () => spy.mock.calls.filter(([request]) => request.method === 'PUT').length;
}

describe('POST /file/multipart', () => {
  it.each([
    ['fileName', 'fileName is required.'],
    ['fileSizeBytes', 'fileSizeBytes is required.'],
    ['contentMD5Hex', 'contentMD5Hex is required.'],
    ['partSizeBytes', 'partSizeBytes is required.'],
  ])('400 without %s', async (field, reason) => {
    const body: Record<string, unknown> = uploadRequest(Buffer.from('x'));
    Reflect.deleteProperty(body, field);
    expectSynapseError(await call('POST', '/file/v1/file/multipart', { body }), 400, reason);
  });

  it('400 for an empty file, too small parts, and too many parts', async () => {
    const empty = { ...uploadRequest(Buffer.from('x')), fileSizeBytes: 0 };
    expectSynapseError(
      await call('POST', '/file/v1/file/multipart', { body: empty }),
      400,
      'File size must be at least one byte',
    );
    const small = { ...uploadRequest(Buffer.from('x')), partSizeBytes: 5 * MiB - 1 };
    expectSynapseError(await call('POST', '/file/v1/file/multipart', { body: small }), 400, /part size/);
    const many = { ...uploadRequest(Buffer.from('x')), fileSizeBytes: 10_001 * 5 * MiB };
    expectSynapseError(await call('POST', '/file/v1/file/multipart', { body: many }), 400, /10000 parts/);
  });

  it('is idempotent per caller and request; forceRestart starts over', async () => {
    const body = uploadRequest(randomBytes(12 * MiB));
    const first = await startUpload(body);
    expect(first).toMatchObject({ state: 'UPLOADING', partsState: '000', startedBy: t.orchestrator.ownerId });
    expect(await startUpload(body)).toMatchObject({ uploadId: first.uploadId });
    const alices = await startUpload(body, alice.token);
    expect(alices.uploadId).not.toBe(first.uploadId);
    const restarted = await startUpload(body, undefined, '?forceRestart=true');
    expect(restarted.uploadId).not.toBe(first.uploadId);
    expect(await startUpload(body)).toMatchObject({ uploadId: restarted.uploadId });
  });
});

describe('part URLs and the object store', () => {
  it('presigned URL batch: 201, or 400 for empty or out-of-range parts, 403 for another user, 404 unknown', async () => {
    const upload = await startUpload(uploadRequest(randomBytes(12 * MiB)));
    const urls = await presign(upload.uploadId, [1, 3]);
    expect(urls.map((u) => u.partNumber)).toEqual([1, 3]);
    expect(urls[0]).toMatchObject({ signedHeaders: {} });
    expect(urls[0]?.uploadPresignedUrl).toMatch(/\/s3\/upload\/\d+\/1\?/);
    expect(urls[0]?.uploadPresignedUrl).toContain('X-Amz-Expires=900&');
    expect(urls[0]?.uploadPresignedUrl.startsWith(`${t.platform.objectStoreUrl}/`)).toBe(true);
    const path = `/file/v1/file/multipart/${upload.uploadId}/presigned/url/batch`;
    expectSynapseError(await call('POST', path, { body: { partNumbers: [] } }), 400, /cannot be empty/);
    expectSynapseError(await call('POST', path, { body: { partNumbers: [4] } }), 400, /number of parts: 3/);
    expectSynapseError(await call('POST', path, { body: { partNumbers: [0] } }), 400, /number of parts: 3/);
    const asAlice = await call('POST', path, { token: alice.token, body: { partNumbers: [1] } });
    expect(asAlice.status).toBe(403);
    const unknown = await call('POST', '/file/v1/file/multipart/1/presigned/url/batch', {
      body: { partNumbers: [1] },
    });
    expect(unknown.status).toBe(404);
  });

  it('the object store refuses an Authorization header (400), an expired URL and a bad signature (403)', async () => {
    const bytes = Buffer.from('hello object store');
    const upload = await startUpload(uploadRequest(bytes));
    const [url] = await presign(upload.uploadId, [1]);
    const withAuth = await bare('PUT', url?.uploadPresignedUrl ?? '', bytes, {
      Authorization: `Bearer ${t.orchestrator.token}`,
      'Content-Type': 'application/octet-stream',
    });
    expect(withAuth.status).toBe(400);
    expect(withAuth.headers['content-type']).toMatch(/^application\/xml/);
    expect(withAuth.data).toContain('<Code>InvalidArgument</Code>');
    expect(withAuth.data).toContain('Only one auth mechanism allowed');

    const expired = presignedPartUrl(localContext(), upload.uploadId, 1, -1);
    const late = await bare('PUT', expired, bytes, { 'Content-Type': 'application/octet-stream' });
    expect(late.status).toBe(403);
    expect(late.data).toContain('<Code>AccessDenied</Code>');

    const tampered = (url?.uploadPresignedUrl ?? '').replace(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=x');
    const forged = await bare('PUT', tampered, bytes, { 'Content-Type': 'application/octet-stream' });
    expect(forged.status).toBe(403);
    expect(forged.data).toContain('SignatureDoesNotMatch');

    const download = await bare('GET', presignedDownloadUrl(localContext(), '123', -1));
    expect(download.status).toBe(403);
  });

  it("every error from the object store is S3's XML, not Synapse's JSON: unknown paths and injected faults too", async () => {
    const unknown = await bare('GET', `${t.platform.objectStoreUrl}/no/such/thing`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/xml/);
    expect(unknown.data).toContain('<Code>NoSuchKey</Code>');
    expect(unknown.data).not.toContain(ERROR_RESPONSE);

    t.platform.faults.add({ method: 'GET', path: '^/s3/download/', status: 503 });
    try {
      const slow = await bare('GET', presignedDownloadUrl(localContext(), '123'));
      expect(slow.status).toBe(503);
      expect(slow.headers['content-type']).toMatch(/^application\/xml/);
      expect(slow.data).toContain('<Code>SlowDown</Code>');
    } finally {
      t.platform.faults.clear();
    }
  });

  it('add part: ADD_FAILED with HTTP 201 on an MD5 mismatch or a missing part; then the whole flow', async () => {
    const bytes = Buffer.from('the right bytes');
    const request = uploadRequest(bytes);
    const upload = await startUpload(request);
    const id = upload.uploadId;

    const notUploaded = await addPart(id, 1, md5(bytes));
    expect(notUploaded.status).toBe(201);
    expect(notUploaded.data).toMatchObject({ uploadId: id, partNumber: 1, addPartState: 'ADD_FAILED' });

    await putPart(id, 1, Buffer.from('the wrong bytes'));
    const mismatch = await addPart(id, 1, md5(bytes));
    expect(mismatch.status).toBe(201);
    const failed = mismatch.data as AddPartResponse;
    expect(failed.addPartState).toBe('ADD_FAILED');
    expect(failed.errorMessage).toMatch(/does not match/);

    expectSynapseError(await addPart(id, 2, md5(bytes)), 400, /number of parts: 1/);
    expect((await addPart(id, 1, md5(bytes), alice.token)).status).toBe(403);
    expectSynapseError(
      await call('PUT', `/file/v1/file/multipart/${id}/complete`),
      400,
      'Missing 1 part(s).  All parts must be successfully added before a file upload can be completed.',
    );

    await putPart(id, 1, bytes);
    const added = await addPart(id, 1, md5(bytes));
    expect(added.status).toBe(201);
    expect(added.data).toEqual({ uploadId: id, partNumber: 1, addPartState: 'ADD_SUCCESS' });
    expect((await call('PUT', `/file/v1/file/multipart/${id}/complete`, { token: alice.token })).status).toBe(
      403,
    );

    const completed = await call('PUT', `/file/v1/file/multipart/${id}/complete`);
    expect(completed.status).toBe(201);
    const status = completed.data as MultipartUploadStatus;
    expect(status).toMatchObject({ uploadId: id, state: 'COMPLETED', partsState: '1' });
    expect(status.resultFileHandleId).toMatch(/^\d+$/);
    const again = await call('PUT', `/file/v1/file/multipart/${id}/complete`);
    expect(again.status).toBe(201);
    expect(again.data).toMatchObject({ resultFileHandleId: status.resultFileHandleId });

    expectSynapseError(await addPart(id, 1, md5(bytes)), 400, 'Cannot add parts to completed file upload.');
    // Starting the same upload again answers COMPLETED at once.
    expect(await startUpload(request)).toMatchObject({
      uploadId: id,
      state: 'COMPLETED',
      resultFileHandleId: status.resultFileHandleId,
    });

    const handle = await files.getFileHandle(status.resultFileHandleId ?? '');
    expect(handle).toMatchObject({
      concreteType: CONCRETE.s3FileHandle,
      contentMd5: md5(bytes),
      contentSize: bytes.length,
      createdBy: t.orchestrator.ownerId,
    });
  });

  it('completion refuses parts whose bytes do not add up to the declared MD5', async () => {
    const declared = Buffer.from('declared content');
    const upload = await startUpload(uploadRequest(declared));
    const other = Buffer.from('something else entirely');
    await putPart(upload.uploadId, 1, other);
    expect((await addPart(upload.uploadId, 1, md5(other))).data).toMatchObject({
      addPartState: 'ADD_SUCCESS',
    });
    expectSynapseError(
      await call('PUT', `/file/v1/file/multipart/${upload.uploadId}/complete`),
      400,
      /does not match the upload request/,
    );
  });
});

describe('FileApi.uploadFile', () => {
  it('uploads a small file into an S3FileHandle with the request metadata', async () => {
    const { path, bytes } = writeRandomFile('small.bin', 1000);
    const handle = await files.uploadFile(path, {
      fileName: 'renamed.bin',
      contentType: 'application/x-test',
    });
    expect(handle).toMatchObject({
      concreteType: CONCRETE.s3FileHandle,
      fileName: 'renamed.bin',
      contentType: 'application/x-test',
      contentMd5: md5(bytes),
      contentSize: 1000,
      createdBy: t.orchestrator.ownerId,
      status: 'AVAILABLE',
    });
  });

  it('a second upload of the same file gets COMPLETED at once and sends no parts', async () => {
    const { path } = writeRandomFile('twice.bin', 2000);
    const first = await files.uploadFile(path);
    const puts = countPartPuts();
    const second = await files.uploadFile(path);
    expect(second.id).toBe(first.id);
    expect(puts()).toBe(0);
  });

  it('rejects a 0-byte file before calling Synapse', async () => {
    const path = join(work, 'empty.txt');
    writeFileSync(path, '');
    const before = Object.keys((await t.admin.dump()).uploads).length;
    await expect(files.uploadFile(path)).rejects.toThrow(/empty\.txt.*empty/);
    expect(Object.keys((await t.admin.dump()).uploads).length).toBe(before);
  });

  it('uploads 12 MiB in 3 parts, and the download has the same bytes', async () => {
    const { path, bytes } = writeRandomFile('twelve.bin', 12 * MiB);
    const puts = countPartPuts();
    const handle = await files.uploadFile(path);
    expect(puts()).toBe(3);
    expect(handle.contentSize).toBe(12 * MiB);
    const dump = await t.admin.dump();
    const upload = Object.values(dump.uploads).find((u) => u.resultFileHandleId === handle.id);
    expect(upload).toMatchObject({ numberOfParts: 3, state: 'COMPLETED' });

    const url = (await call('GET', `/file/v1/fileHandle/${handle.id}/url?redirect=false`)).data as string;
    const target = join(work, 'twelve.download');
    const result = await files.downloadToFile(url, target, handle.contentMd5);
    expect(result).toEqual({ bytes: 12 * MiB, md5: md5(bytes) });
    expect(readFileSync(target).equals(bytes)).toBe(true);
  });

  it('a 403 from the object store makes the client fetch a new URL once', async () => {
    const { path, bytes } = writeRandomFile('refetch.bin', 3000);
    await t.admin.addFault({ method: 'PUT', path: '^/s3/upload/', status: 403, times: 1 });
    const requests = vi.spyOn(http, 'request');
    const puts = countPartPuts();
    const handle = await files.uploadFile(path);
    expect(handle.contentMd5).toBe(md5(bytes));
    const presignCalls = requests.mock.calls.filter(([r]) => r.path.endsWith('/presigned/url/batch'));
    expect(presignCalls).toHaveLength(2);
    expect(puts()).toBe(2);
  });

  it('re-sends a part whose add came back ADD_FAILED', async () => {
    const { path, bytes } = writeRandomFile('corrupted.bin', 4000);
    const original = http.fetchUrl.bind(http);
    let corrupted = false;
    vi.spyOn(http, 'fetchUrl').mockImplementation((request, retry) => {
      if (request.method === 'PUT' && !corrupted) {
        corrupted = true;
        return original({ ...request, body: Buffer.from('damaged in transit') }, retry);
      }
      return original(request, retry);
    });
    const adds: string[] = [];
    const originalRequest = http.request.bind(http);
    vi.spyOn(http, 'request').mockImplementation(async <T>(r: Parameters<SynapseHttp['request']>[0]) => {
      const answer = await originalRequest<T>(r);
      if (r.path.includes('/add/')) adds.push((answer as AddPartResponse).addPartState);
      return answer;
    });
    const handle = await files.uploadFile(path);
    expect(adds).toEqual(['ADD_FAILED', 'ADD_SUCCESS']);
    expect(handle.contentMd5).toBe(md5(bytes));
  });

  it('uploadText stores the text with its content type', async () => {
    const handle = await files.uploadText('héllo\n', { fileName: 'note.txt', contentType: 'text/plain' });
    expect(handle).toMatchObject({ fileName: 'note.txt', contentType: 'text/plain', contentSize: 7 });
  });
});

describe('file handles and URLs', () => {
  let handle: FileHandle;
  let bytes: Buffer;
  beforeAll(async () => {
    const file = writeRandomFile('handle.bin', 5000);
    bytes = file.bytes;
    handle = await files.uploadFile(file.path);
  });

  it('GET /fileHandle/{id}: 200 for the creator, 403 for others, 404 when unknown', async () => {
    expect((await call('GET', `/file/v1/fileHandle/${handle.id}`)).data).toMatchObject({ id: handle.id });
    expectSynapseError(
      await call('GET', `/file/v1/fileHandle/${handle.id}`, { token: alice.token }),
      403,
      /Only the creator/,
    );
    expect((await call('GET', '/file/v1/fileHandle/42')).status).toBe(404);
  });

  it('GET /fileHandle/{id}/url: text/plain with redirect=false, else 307; creator only', async () => {
    const text = await call('GET', `/file/v1/fileHandle/${handle.id}/url?redirect=false`);
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.data).toMatch(new RegExp(`/s3/download/${handle.id}\\?`));
    const redirect = await call('GET', `/file/v1/fileHandle/${handle.id}/url`);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toMatch(new RegExp(`/s3/download/${handle.id}\\?`));
    expect((await call('GET', `/file/v1/fileHandle/${handle.id}/url`, { token: alice.token })).status).toBe(
      403,
    );
  });

  it('the object store serves the bytes with Content-Length, ranges (206) and 416 past the end', async () => {
    const url = (await call('GET', `/file/v1/fileHandle/${handle.id}/url?redirect=false`)).data as string;
    const whole = await axios.get<ArrayBuffer>(url, { responseType: 'arraybuffer' });
    expect(whole.headers['content-length']).toBe('5000');
    expect(Buffer.from(whole.data).equals(bytes)).toBe(true);
    const tail = await axios.get<ArrayBuffer>(url, {
      responseType: 'arraybuffer',
      headers: { Range: 'bytes=4990-' },
    });
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe('bytes 4990-4999/5000');
    expect(Buffer.from(tail.data).equals(bytes.subarray(4990))).toBe(true);
    const middle = await axios.get<ArrayBuffer>(url, {
      responseType: 'arraybuffer',
      headers: { Range: 'bytes=10-19' },
    });
    expect(middle.status).toBe(206);
    expect(middle.headers['content-range']).toBe('bytes 10-19/5000');
    expect(Buffer.from(middle.data).equals(bytes.subarray(10, 20))).toBe(true);
    const past = await bare('GET', url, undefined, { Range: 'bytes=5000-' });
    expect(past.status).toBe(416);
    const unknown = await bare('GET', presignedDownloadUrl(localContext(), '999999'));
    expect(unknown.status).toBe(404);
  });

  it('downloadToFile refuses a wrong MD5 and leaves no file behind', async () => {
    const url = (await call('GET', `/file/v1/fileHandle/${handle.id}/url?redirect=false`)).data as string;
    const target = join(work, 'wrong-md5.bin');
    await expect(files.downloadToFile(url, target, '0'.repeat(32))).rejects.toThrow(/not the expected/);
    expect(() => readFileSync(target)).toThrow();
  });

  it('POST /externalFileHandle: 200, or 400 without a URL or with a non-http one', async () => {
    const external = await files.createExternalFileHandle(
      'https://example.org/a/v1.zip',
      'v1.zip',
      'application/zip',
    );
    expect(external).toMatchObject({
      concreteType: CONCRETE.externalFileHandle,
      externalURL: 'https://example.org/a/v1.zip',
      fileName: 'v1.zip',
      contentType: 'application/zip',
      createdBy: t.orchestrator.ownerId,
    });
    expect(
      (await call('POST', '/file/v1/externalFileHandle', { body: { externalURL: 'https://x.org/y' } }))
        .status,
    ).toBe(200);
    expectSynapseError(
      await call('POST', '/file/v1/externalFileHandle', { body: {} }),
      400,
      'ExternalURL is required.',
    );
    expectSynapseError(
      await call('POST', '/file/v1/externalFileHandle', { body: { externalURL: 'ftp://x.org/y' } }),
      400,
      /not a valid url/,
    );
  });

  it('admin helpers create handles directly', async () => {
    const admin = { Authorization: `Bearer ${t.platform.adminToken}` };
    const created = await axios.post<FileHandle>(
      `${t.platform.url}/__local/files`,
      {
        createdBy: alice.ownerId,
        fileName: 'seed.txt',
        contentType: 'text/plain',
        contentBase64: Buffer.from('seeded').toString('base64'),
      },
      { headers: admin },
    );
    expect(created.data).toMatchObject({
      createdBy: alice.ownerId,
      contentSize: 6,
      contentMd5: md5(Buffer.from('seeded')),
    });
    const external = await axios.post<FileHandle>(
      `${t.platform.url}/__local/external-files`,
      { createdBy: alice.ownerId, externalURL: 'https://example.org/t.zip' },
      { headers: admin },
    );
    expect(external.data).toMatchObject({ fileName: 't.zip', externalURL: 'https://example.org/t.zip' });
  });
});

describe('POST /fileHandle/batch', () => {
  let current: FileHandle;
  let previous: FileHandle;
  let unrelated: FileHandle;
  let entityId: string;

  beforeAll(async () => {
    current = await files.uploadText('version 2', { fileName: 'v2.txt' });
    previous = await files.uploadText('version 1', { fileName: 'v1.txt' });
    unrelated = await files.uploadText('not attached', { fileName: 'x.txt' });
    const project = await t.admin.createProject('Batch project', t.orchestrator.ownerId);
    const store = t.platform.store;
    entityId = store.change((state) => {
      const entity = insertEntity(store, t.orchestrator.ownerId, {
        name: 'results.txt',
        concreteType: CONCRETE.fileEntity,
        parentId: project.id,
        dataFileHandleId: current.id,
      });
      entity.versionNumber = 2;
      entity.previousVersions = [
        { versionNumber: 1, dataFileHandleId: previous.id, modifiedOn: entity.modifiedOn },
      ];
      return state.entities[entity.id]?.id ?? '';
    });
  });

  function batch(
    items: { fileHandleId: string; associateObjectId: string; associateObjectType: string }[],
    token?: string,
  ) {
    return call('POST', '/file/v1/fileHandle/batch', {
      ...(token ? { token } : {}),
      body: { requestedFiles: items, includeFileHandles: true, includePreSignedURLs: true },
    });
  }

  it('FileEntity: URLs for current and earlier versions, failureCode per item, all in one 201', async () => {
    const fileEntity = 'FileEntity';
    const response = await batch([
      { fileHandleId: current.id, associateObjectId: entityId, associateObjectType: fileEntity },
      { fileHandleId: previous.id, associateObjectId: entityId, associateObjectType: fileEntity },
      { fileHandleId: unrelated.id, associateObjectId: entityId, associateObjectType: fileEntity },
      { fileHandleId: '987654321', associateObjectId: entityId, associateObjectType: fileEntity },
      { fileHandleId: current.id, associateObjectId: 'syn1', associateObjectType: fileEntity },
    ]);
    expect(response.status).toBe(201);
    const results = (response.data as BatchFileResult).requestedFiles;
    expect(results[0]).toMatchObject({ fileHandleId: current.id, fileHandle: { id: current.id } });
    expect(results[0]?.preSignedURL).toMatch(new RegExp(`/s3/download/${current.id}\\?`));
    expect(results[1]?.preSignedURL).toMatch(new RegExp(`/s3/download/${previous.id}\\?`));
    expect(results.slice(2).map((r) => r.failureCode)).toEqual(['UNAUTHORIZED', 'NOT_FOUND', 'NOT_FOUND']);
    expect(results[2]).toEqual({ fileHandleId: unrelated.id, failureCode: 'UNAUTHORIZED' });

    const asAlice = await batch(
      [{ fileHandleId: current.id, associateObjectId: entityId, associateObjectType: fileEntity }],
      alice.token,
    );
    expect(asAlice.status).toBe(201);
    expect((asAlice.data as BatchFileResult).requestedFiles[0]?.failureCode).toBe('UNAUTHORIZED');
  });

  it('the client gets a URL and downloads it; a failureCode becomes a FileAccessError', async () => {
    const link = await files.getDownloadUrl({
      fileHandleId: current.id,
      associateObjectType: 'FileEntity',
      associateObjectId: entityId,
    });
    expect(link.fileHandle.id).toBe(current.id);
    const target = join(work, 'batch.txt');
    await files.downloadToFile(link.url, target, link.fileHandle.contentMd5);
    expect(readFileSync(target, 'utf8')).toBe('version 2');
    const denied = await files
      .getDownloadUrl({
        fileHandleId: unrelated.id,
        associateObjectType: 'FileEntity',
        associateObjectId: entityId,
      })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(FileAccessError);
    expect(denied).toMatchObject({ failureCode: 'UNAUTHORIZED' });
  });

  it('an external handle’s URL is its externalURL', async () => {
    const external = await files.createExternalFileHandle('https://example.org/template.zip');
    const project = await t.admin.createProject('Template project', t.orchestrator.ownerId);
    const store = t.platform.store;
    const templateId = store.change(
      () =>
        insertEntity(store, t.orchestrator.ownerId, {
          name: 'template',
          concreteType: CONCRETE.fileEntity,
          parentId: project.id,
          dataFileHandleId: external.id,
        }).id,
    );
    const link = await files.getDownloadUrl({
      fileHandleId: external.id,
      associateObjectType: 'FileEntity',
      associateObjectId: templateId,
    });
    expect(link.url).toBe('https://example.org/template.zip');
  });

  it('SubmissionAttachment: needs READ_PRIVATE_SUBMISSION and a handle listed in the submission bundle', async () => {
    const submitted = await new FileApi(t.http(alice.token)).uploadText('predictions', { fileName: 'p.csv' });
    const evaluation = await t.admin.createEvaluation({
      name: 'Batch queue',
      ownerId: alice.ownerId,
      permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION'] },
    });
    const bob = await t.admin.createUser({ userName: 'bob' });
    const store = t.platform.store;
    const submissionId = store.change((state) => {
      const id = store.nextId();
      state.submissions[id] = {
        id,
        userId: alice.ownerId,
        evaluationId: evaluation.id,
        entityId: 'syn1',
        versionNumber: 1,
        entityBundleJSON: JSON.stringify({ entity: { id: 'syn1' }, fileHandles: [submitted] }),
        createdOn: new Date().toISOString(),
      };
      return id;
    });
    const item = {
      fileHandleId: submitted.id,
      associateObjectId: submissionId,
      associateObjectType: 'SubmissionAttachment' as const,
    };
    const link = await files.getDownloadUrl(item);
    const target = join(work, 'submission.csv');
    await files.downloadToFile(link.url, target, submitted.contentMd5);
    expect(readFileSync(target, 'utf8')).toBe('predictions');

    const results = async (response: Promise<AxiosResponse>) =>
      ((await response).data as BatchFileResult).requestedFiles.map((r) => r.failureCode);
    expect(await results(batch([item], bob.token))).toEqual(['UNAUTHORIZED']);
    expect(await results(batch([{ ...item, fileHandleId: unrelated.id }]))).toEqual(['UNAUTHORIZED']);
    expect(await results(batch([{ ...item, associateObjectId: '1' }]))).toEqual(['NOT_FOUND']);
  });

  it('400 for an empty request or an unknown associate type', async () => {
    expectSynapseError(
      await call('POST', '/file/v1/fileHandle/batch', { body: { requestedFiles: [] } }),
      400,
      'requestedFiles is required.',
    );
    const bad = await batch([
      { fileHandleId: current.id, associateObjectId: entityId, associateObjectType: 'Nonsense' },
    ]);
    expect(bad.status).toBe(400);
  });
});
