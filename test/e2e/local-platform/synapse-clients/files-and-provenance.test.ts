/**
 * synapseclient's file traffic against the local platform, in the client's own request shapes: login,
 * `syn.getSubmission(id)` with its download, `syn.store(File(...), used=..., executed=...)` (multipart
 * upload with empty JSON bodies, then provenance), a new version, `syn.get(id)` with the multi-threaded
 * downloader's range GETs, and `syn.delete`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entity, FileHandle, PaginatedResults, Submission } from '../../../../src/synapse/types.js';
import { startClientFixture, type ClientFixture } from './fixture.js';
import { uploadLikeClient } from './upload.js';

const USED_ENTITY = 'org.sagebionetworks.repo.model.provenance.UsedEntity';
const USED_URL = 'org.sagebionetworks.repo.model.provenance.UsedURL';
const MiB = 1024 * 1024;

interface BatchResult {
  requestedFiles: {
    fileHandleId: string;
    fileHandle?: FileHandle;
    preSignedURL?: string;
    failureCode?: string;
  }[];
}
interface Activity {
  id: string;
  etag: string;
  name?: string;
  used: Record<string, unknown>[];
  createdBy: string;
}

let f: ClientFixture;
beforeAll(async () => {
  f = await startClientFixture();
});
afterAll(() => f.close());

/** The client's batch request for one file handle's presigned URL. */
function batch(fileHandleId: string | number, associateObjectId: string, associateObjectType: string) {
  return f.org.rest<BatchResult>('POST', 'file', '/fileHandle/batch', {
    includeFileHandles: true,
    includePreSignedURLs: true,
    requestedFiles: [{ fileHandleId, associateObjectId, associateObjectType }],
  });
}

/** What the multi-threaded downloader computes from a presigned URL: when it expires. */
function expiryOf(url: string): number {
  const query = new URL(url).searchParams;
  const made = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  expect(made).not.toBeNull();
  const [, y, mo, d, h, mi, s] = made ?? [];
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`) + Number(query.get('X-Amz-Expires')) * 1000;
}

async function createFile(name: string, parentId: string, dataFileHandleId: string): Promise<Entity> {
  const created = await f.org.rest<Entity>('POST', 'repo', '/entity', {
    concreteType: 'org.sagebionetworks.repo.model.FileEntity',
    name,
    parentId,
    versionComment: null,
    dataFileHandleId,
  });
  expect(created.status).toBe(201);
  return created.data;
}

describe('login', () => {
  it('GET /userProfile/ (with the trailing slash the client logs in with) is the caller’s own profile', async () => {
    const profile = await f.org.rest<{ ownerId: string; userName: string; emails?: string[] }>(
      'GET',
      'repo',
      '/userProfile/',
    );
    expect(profile.status).toBe(200);
    expect(profile.data).toMatchObject({ ownerId: f.organizer.ownerId, userName: 'organizer' });
    expect(profile.data.emails).toBeDefined();
  });
});

describe('syn.getSubmission(id) with its download', () => {
  it('hands out a presigned URL on the object store’s own port, with S3’s query parameters, that serves the bytes', async () => {
    const submission = await f.org.rest<Submission>(
      'GET',
      'repo',
      `/evaluation/submission/${f.submission.id}`,
    );
    expect(submission.status).toBe(200);
    const bundle = JSON.parse(submission.data.entityBundleJSON) as { fileHandles: FileHandle[] };
    const handleId = bundle.fileHandles[0]?.id ?? '';
    const result = await batch(handleId, f.submission.id, 'SubmissionAttachment');
    expect(result.status).toBe(201);
    const item = result.data.requestedFiles[0];
    expect(item?.fileHandle?.fileName).toBe('prediction.csv');
    const url = item?.preSignedURL ?? '';
    const query = new URL(url).searchParams;
    expect(query.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(query.get('X-Amz-Date')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(query.get('X-Amz-Expires')).toBe('900');
    expect(query.get('X-Amz-SignedHeaders')).toBe('host');
    expect(query.get('X-Amz-Credential')).toMatch(/^[A-Z]+\/\d{8}\/[a-z0-9-]+\/s3\/aws4_request$/);
    expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const expiresIn = expiryOf(url) - Date.now();
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);

    // Another port than the repository's: the client sends no token there, and the store needs none.
    expect(new URL(url).host).toBe(new URL(f.t.platform.objectStoreUrl).host);
    expect(f.org.sendsTokenTo(url)).toBe(false);
    const download = await f.org.download(url);
    expect(download.status).toBe(200);
    expect(download.data.equals(f.submittedBytes)).toBe(true);
    expect(download.headers.get('content-disposition')).toContain('filename="prediction.csv"');
  });
});

describe('syn.store(File(path, parent=...), used=..., executed=...)', () => {
  let file: Entity;
  let firstHandle: FileHandle;
  let activity: Activity;

  it('uploads with empty JSON bodies on add-part and complete, creates the entity and records its provenance', async () => {
    const missing = await f.org.rest('POST', 'repo', '/entity/child', {
      parentId: f.folder.id,
      entityName: 'scores.csv',
    });
    expect(missing.status).toBe(404);
    firstHandle = await uploadLikeClient(f.org, Buffer.from('id,score\n1,0.9\n'), 'scores.csv', {
      parentId: f.folder.id,
      contentType: 'text/csv',
    });
    file = await createFile('scores.csv', f.folder.id, firstHandle.id);
    const created = await f.org.rest<Activity>('POST', 'repo', '/activity', {
      used: [
        { reference: { targetId: f.folder.id }, concreteType: USED_ENTITY, wasExecuted: false },
        { url: 'https://github.com/org/scoring', name: 'scoring', concreteType: USED_URL, wasExecuted: true },
      ],
      name: 'scoring',
      description: null,
    });
    expect(created.status).toBe(201);
    activity = created.data;
    expect(activity).toMatchObject({ name: 'scoring', createdBy: f.organizer.ownerId });
    expect(activity.id).toMatch(/^\d+$/);

    const linked = await f.org.rest<Activity>(
      'PUT',
      'repo',
      `/entity/${file.id}/generatedBy?generatedBy=${activity.id}`,
    );
    expect(linked.status).toBe(200);
    expect(linked.data.id).toBe(activity.id);
    // The client re-reads the entity: its etag changed with the provenance.
    const reread = await f.org.rest<Entity>('GET', 'repo', `/entity/${file.id}`);
    expect(reread.data.etag).not.toBe(file.etag);
    file = reread.data;

    const generatedBy = await f.org.rest<Activity>('GET', 'repo', `/entity/${file.id}/generatedBy`);
    expect(generatedBy.status).toBe(200);
    expect(generatedBy.data.used).toEqual([
      { concreteType: USED_ENTITY, reference: { targetId: f.folder.id }, wasExecuted: false },
      { concreteType: USED_URL, url: 'https://github.com/org/scoring', name: 'scoring', wasExecuted: true },
    ]);
    const byVersion = await f.org.rest<Activity>('GET', 'repo', `/entity/${file.id}/version/1/generatedBy`);
    expect(byVersion.data.id).toBe(activity.id);
    expect((await f.org.rest('GET', 'repo', `/activity/${activity.id}`)).status).toBe(200);
  });

  it('a new version (PUT ?newVersion=true) starts without provenance; versions, their bundles and generatedBy answer per version', async () => {
    const second = await uploadLikeClient(f.org, Buffer.from('id,score\n1,0.95\n'), 'scores.csv', {
      parentId: f.folder.id,
    });
    const updated = await f.org.rest<Entity>('PUT', 'repo', `/entity/${file.id}?newVersion=true`, {
      ...file,
      dataFileHandleId: second.id,
    });
    expect(updated.status).toBe(200);
    expect(updated.data.versionNumber).toBe(2);
    expect((await f.org.rest('GET', 'repo', `/entity/${file.id}/generatedBy`)).status).toBe(404);
    const first = await f.org.rest<Activity>('GET', 'repo', `/entity/${file.id}/version/1/generatedBy`);
    expect(first.data.id).toBe(activity.id);

    const versions = await f.org.rest<PaginatedResults<{ versionNumber: number; id: string }>>(
      'GET',
      'repo',
      `/entity/${file.id}/version?limit=20&offset=0`,
    );
    expect(versions.status).toBe(200);
    expect(versions.data.results.map((v) => [v.id, v.versionNumber])).toEqual([
      [file.id, 2],
      [file.id, 1],
    ]);

    const oldBundle = await f.org.rest<{ entity: Entity; fileHandles: FileHandle[] }>(
      'POST',
      'repo',
      `/entity/${file.id}/version/1/bundle2`,
      {
        includeEntity: true,
        includeAnnotations: true,
        includeFileHandles: true,
        includeRestrictionInformation: true,
      },
    );
    expect(oldBundle.status).toBe(200);
    expect(oldBundle.data.entity).toMatchObject({
      id: file.id,
      versionNumber: 1,
      dataFileHandleId: firstHandle.id,
    });
    expect(oldBundle.data.fileHandles.map((h) => h.id)).toEqual([firstHandle.id]);

    // synapseclient 4 links provenance in the entity PUT itself.
    const relinked = await f.org.rest<Entity>(
      'PUT',
      'repo',
      `/entity/${file.id}?generatedBy=${activity.id}`,
      {
        ...updated.data,
      },
    );
    expect(relinked.status).toBe(200);
    const now = await f.org.rest<Activity>('GET', 'repo', `/entity/${file.id}/generatedBy`);
    expect(now.data.id).toBe(activity.id);
  });

  it('syn.delete(entity, version=2): the previous version is current again, with its file and provenance; the old etag is stale', async () => {
    const before = await f.org.rest<Entity>('GET', 'repo', `/entity/${file.id}`);
    const removed = await f.org.rest('DELETE', 'repo', `/entity/${file.id}/version/2`);
    expect(removed.status).toBe(204);
    const current = await f.org.rest<Entity>('GET', 'repo', `/entity/${file.id}`);
    expect(current.data).toMatchObject({ versionNumber: 1, dataFileHandleId: firstHandle.id });
    // Someone who read the entity before the deletion must re-read before writing, as on Synapse.
    expect(current.data.etag).not.toBe(before.data.etag);
    const stale = await f.org.rest('PUT', 'repo', `/entity/${file.id}`, {
      ...current.data,
      etag: before.data.etag,
    });
    expect(stale.status).toBe(412);
    expect((await f.org.rest<Activity>('GET', 'repo', `/entity/${file.id}/generatedBy`)).data.id).toBe(
      activity.id,
    );
    const only = await f.org.rest<{ reason: string }>('DELETE', 'repo', `/entity/${file.id}/version/1`);
    expect(only.status).toBe(400);
    expect(only.data.reason).toMatch(/only version/);
  });

  it('syn.delete(entity): DELETE with an empty JSON body answers 204, and the entity is gone', async () => {
    const removed = await f.org.rest('DELETE', 'repo', `/entity/${file.id}`);
    expect(removed.status).toBe(204);
    expect((await f.org.rest('GET', 'repo', `/entity/${file.id}`)).status).toBe(404);
  });
});

describe('syn.get(id) of a large file', () => {
  it('downloads through the multi-threaded downloader: a plain GET for the size, then 8 MiB range GETs', async () => {
    const bytes = randomBytes(20 * MiB + 12345);
    const handle = await uploadLikeClient(f.org, bytes, 'big.bin', { parentId: f.folder.id });
    expect(handle.contentSize).toBe(bytes.length);
    const entity = await createFile('big.bin', f.folder.id, handle.id);
    // The downloader asks again for each URL it needs, with the id as a JSON number.
    const result = await batch(Number(handle.id), entity.id, 'FileEntity');
    expect(result.status).toBe(201);
    const url = result.data.requestedFiles[0]?.preSignedURL ?? '';
    expect(f.org.sendsTokenTo(url)).toBe(false);
    expect(expiryOf(url)).toBeGreaterThan(Date.now());
    const head = await f.org.download(url);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));

    const parts: Buffer[] = [];
    for (let start = 0; start < bytes.length; start += 8 * MiB) {
      const end = Math.min(start + 8 * MiB, bytes.length) - 1;
      const part = await f.org.download(url, `bytes=${start}-${end}`);
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
      parts.push(part.data);
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });
});
