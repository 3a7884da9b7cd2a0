/**
 * Entities on the local platform, through the client (EntityApi) over HTTP: CRUD, versions, child lookup
 * and listing, annotations, file handles, and the get-or-create patterns under races and retries.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { storeFileBytes } from '../../../src/local-platform/files.js';
import { EntityApi } from '../../../src/synapse/entities.js';
import { SynapseHttp, type SynapseRequest } from '../../../src/synapse/http.js';
import {
  CONCRETE,
  type Entity,
  type EntityHeader,
  type FileHandle,
  type V2Annotations,
} from '../../../src/synapse/types.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

/** A transport that records every call, and can act as another writer would just before or after one. */
class RecordingHttp extends SynapseHttp {
  readonly calls: SynapseRequest[] = [];
  beforeCall: ((request: SynapseRequest) => Promise<void>) | undefined;
  afterCall: ((request: SynapseRequest) => Promise<void>) | undefined;

  override async request<T>(request: SynapseRequest): Promise<T> {
    this.calls.push(request);
    await this.beforeCall?.(request);
    const result = await super.request<T>(request);
    await this.afterCall?.(request);
    return result;
  }
}

let t: TestPlatform;
let api: EntityApi;
let project: Entity;
let outsider: SeededUser;
let counter = 0;

/** A name no other test uses. */
const unique = (prefix: string) => `${prefix} ${++counter}`;

function recordingHttp(): RecordingHttp {
  return new RecordingHttp({ endpoint: t.endpoint, token: t.orchestrator.token, retry: FAST_RETRY });
}

/** A file handle owned by the orchestrator, made inside the server process. */
function newHandle(content: string): FileHandle {
  return t.platform.store.change(() =>
    storeFileBytes(t.platform.store, t.orchestrator.ownerId, Buffer.from(content), 'file.txt'),
  );
}

function raw<T>(request: Omit<SynapseRequest, 'api'>, token?: string): Promise<T> {
  return t.http(token).request<T>({ api: 'repo', ...request });
}

async function newFolder(parentId = project.id): Promise<Entity> {
  return api.create({ name: unique('folder'), parentId, concreteType: CONCRETE.folder });
}

beforeAll(async () => {
  t = await startTestPlatform();
  api = new EntityApi(t.http());
  project = await api.create({ name: 'Entity tests', concreteType: CONCRETE.project });
  outsider = await t.admin.createUser({ userName: 'outsider' });
});
afterAll(() => t.close());

describe('POST /entity', () => {
  it('creates a project with 201, and its creator administers it', async () => {
    const response = await axios.post(
      `${t.platform.url}/repo/v1/entity`,
      { name: 'Raw project', concreteType: CONCRETE.project },
      { headers: { Authorization: `Bearer ${t.orchestrator.token}` }, validateStatus: () => true },
    );
    expect(response.status).toBe(201);
    const created = response.data as Entity;
    expect(created).toMatchObject({
      name: 'Raw project',
      concreteType: CONCRETE.project,
      createdBy: t.orchestrator.ownerId,
      modifiedBy: t.orchestrator.ownerId,
    });
    expect(created.id).toMatch(/^syn\d+$/);
    expect(created).not.toHaveProperty('parentId');
    const dump = await t.admin.dump();
    expect(dump.acls[created.id]?.resourceAccess).toEqual([
      expect.objectContaining({ principalId: Number(t.orchestrator.ownerId) }),
    ]);
  });

  it('creates folders, FileEntities (version 1) and DockerRepositories under a project', async () => {
    const folder = await newFolder();
    expect(folder).toMatchObject({ parentId: project.id, concreteType: CONCRETE.folder });
    expect(folder).not.toHaveProperty('versionNumber');
    const handle = newHandle('first');
    const file = await api.create({
      name: 'results.csv',
      parentId: folder.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: handle.id,
    });
    expect(file).toMatchObject({
      dataFileHandleId: handle.id,
      versionNumber: 1,
      versionLabel: '1',
      isLatestVersion: true,
    });
    const docker = await api.create({
      name: 'docker.synapse.org/syn1/model',
      repositoryName: 'docker.synapse.org/syn1/model',
      parentId: project.id,
      concreteType: CONCRETE.dockerRepository,
    });
    expect(await api.get(docker.id)).toMatchObject({ repositoryName: 'docker.synapse.org/syn1/model' });
  });

  it('answers a taken name with 409 and Synapse reason, whatever the type of the holder', async () => {
    const folder = await newFolder();
    const handle = newHandle('conflict');
    await expect(
      api.create({
        name: folder.name,
        parentId: project.id,
        concreteType: CONCRETE.fileEntity,
        dataFileHandleId: handle.id,
      }),
    ).rejects.toMatchObject({
      status: 409,
      reason: `An entity with the name: ${folder.name} already exists with a parentId: ${project.id}`,
    });
    // The same name is free under another parent.
    const elsewhere = await newFolder(folder.id);
    await expect(
      api.create({ name: elsewhere.name, parentId: folder.id, concreteType: CONCRETE.folder }),
    ).rejects.toMatchObject({ status: 409 });
    expect(
      (await api.create({ name: folder.name, parentId: folder.id, concreteType: CONCRETE.folder })).parentId,
    ).toBe(folder.id);
  });

  it('answers 404 for a missing parent and 403 without CREATE on the parent', async () => {
    await expect(
      api.create({ name: 'orphan', parentId: 'syn999999999', concreteType: CONCRETE.folder }),
    ).rejects.toMatchObject({ status: 404 });
    const asOutsider = new EntityApi(t.http(outsider.token));
    await expect(
      asOutsider.create({ name: 'intruder', parentId: project.id, concreteType: CONCRETE.folder }),
    ).rejects.toMatchObject({ status: 403 });
    expect(await api.lookupChild(project.id, 'intruder')).toBeUndefined();
  });

  it('answers 400 for a FileEntity without a file, or with an unknown one', async () => {
    await expect(
      api.create({ name: 'no file', parentId: project.id, concreteType: CONCRETE.fileEntity }),
    ).rejects.toMatchObject({ status: 400, reason: 'FileEntity.dataFileHandleId cannot be null' });
    await expect(
      api.create({
        name: 'ghost file',
        parentId: project.id,
        concreteType: CONCRETE.fileEntity,
        dataFileHandleId: '987654321',
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('answers 400 for invalid names, a missing concreteType and an unknown type', async () => {
    for (const name of ['a/b', 'semi;colon', 'x'.repeat(257), '']) {
      await expect(
        api.create({ name, parentId: project.id, concreteType: CONCRETE.folder }),
      ).rejects.toMatchObject({ status: 400 });
    }
    expect(
      (await api.create({ name: "ok name_(1)+-.'", parentId: project.id, concreteType: CONCRETE.folder }))
        .name,
    ).toBe("ok name_(1)+-.'");
    await expect(
      raw({ method: 'POST', path: '/entity', body: { name: 'typeless', parentId: project.id } }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      api.create({
        name: 'table',
        parentId: project.id,
        concreteType: 'org.sagebionetworks.repo.model.Nope',
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('GET /entity/{id}', () => {
  it('returns the entity to a reader, 404 for a missing id and 403 to someone without READ', async () => {
    const folder = await newFolder();
    expect(await api.get(folder.id)).toEqual(folder);
    await expect(api.get('syn999999998')).rejects.toMatchObject({ status: 404 });
    await expect(new EntityApi(t.http(outsider.token)).get(folder.id)).rejects.toMatchObject({ status: 403 });
  });
});

describe('PUT /entity/{id}', () => {
  it('updates with a new etag and modifiedOn, and rejects the old etag with 412 and Synapse reason', async () => {
    const folder = await newFolder();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = await api.update({ ...folder, description: 'now described' });
    expect(updated.description).toBe('now described');
    expect(updated.etag).not.toBe(folder.etag);
    expect(updated.modifiedOn > folder.modifiedOn).toBe(true);
    await expect(api.update({ ...folder, description: 'stale' })).rejects.toMatchObject({
      status: 412,
      reason: `Object: ${folder.id} was updated since you last fetched it, retrieve it again and re-apply the update`,
    });
    expect((await api.get(folder.id)).description).toBe('now described');
  });

  it('answers 400 when the body id differs from the path or the etag is missing', async () => {
    const folder = await newFolder();
    const other = await newFolder();
    await expect(
      raw({ method: 'PUT', path: `/entity/${folder.id}`, body: { ...other } }),
    ).rejects.toMatchObject({ status: 400 });
    const { etag: _etag, ...withoutEtag } = folder;
    await expect(
      raw({ method: 'PUT', path: `/entity/${folder.id}`, body: withoutEtag }),
    ).rejects.toMatchObject({ status: 400, reason: 'etag is required.' });
  });

  it('answers 403 without UPDATE and 409 when a rename takes a sibling name', async () => {
    const folder = await newFolder();
    const sibling = await newFolder();
    await expect(
      new EntityApi(t.http(outsider.token)).update({ ...folder, name: 'mine now' }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(api.update({ ...folder, name: sibling.name })).rejects.toMatchObject({
      status: 409,
      reason: `An entity with the name: ${sibling.name} already exists with a parentId: ${project.id}`,
    });
    expect((await api.update({ ...folder, name: unique('renamed') })).name).toMatch(/^renamed/);
  });

  it('versions a FileEntity only when its file changes or a new version is asked for', async () => {
    const first = newHandle('version one');
    const file = await api.create({
      name: unique('file'),
      parentId: project.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: first.id,
    });
    const sameFile = await api.update({ ...file, description: 'a retried PUT' });
    expect(sameFile.versionNumber).toBe(1);

    const second = newHandle('version two');
    const changed = await api.update({ ...sameFile, dataFileHandleId: second.id });
    expect(changed).toMatchObject({ versionNumber: 2, versionLabel: '2', dataFileHandleId: second.id });

    const forced = await api.update(changed, { newVersion: true });
    expect(forced.versionNumber).toBe(3);

    const versionOne = await raw<Entity>({ method: 'GET', path: `/entity/${file.id}/version/1` });
    expect(versionOne).toMatchObject({
      versionNumber: 1,
      dataFileHandleId: first.id,
      isLatestVersion: false,
    });
    expect(await raw<Entity>({ method: 'GET', path: `/entity/${file.id}/version/3` })).toMatchObject({
      versionNumber: 3,
      isLatestVersion: true,
    });
    await expect(raw({ method: 'GET', path: `/entity/${file.id}/version/9` })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('swaps in a file with identical bytes without a new version, as Synapse compares MD5s', async () => {
    const file = await api.create({
      name: unique('file'),
      parentId: project.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: newHandle('same bytes').id,
    });
    const twin = newHandle('same bytes');
    const updated = await api.update({ ...file, dataFileHandleId: twin.id });
    expect(updated).toMatchObject({ versionNumber: 1, dataFileHandleId: twin.id });
  });
});

describe('DELETE /entity/{id}', () => {
  it('answers 204 and removes the entity with everything below it', async () => {
    const folder = await newFolder();
    const child = await newFolder(folder.id);
    await expect(new EntityApi(t.http(outsider.token)).delete(folder.id)).rejects.toMatchObject({
      status: 403,
    });
    const response = await axios.delete(`${t.platform.url}/repo/v1/entity/${folder.id}`, {
      headers: { Authorization: `Bearer ${t.orchestrator.token}` },
      validateStatus: () => true,
    });
    expect(response.status).toBe(204);
    await expect(api.get(folder.id)).rejects.toMatchObject({ status: 404 });
    await expect(api.get(child.id)).rejects.toMatchObject({ status: 404 });
    expect(await api.lookupChild(project.id, folder.name)).toBeUndefined();
  });
});

describe('POST /entity/child', () => {
  it('finds a child by name; a miss is 404 with Synapse reason and undefined from the client', async () => {
    const folder = await newFolder();
    expect(await api.lookupChild(project.id, folder.name)).toBe(folder.id);
    await expect(
      raw({ method: 'POST', path: '/entity/child', body: { parentId: project.id, entityName: 'nope' } }),
    ).rejects.toMatchObject({
      status: 404,
      reason: `Child not found for parent: '${project.id}' with name: 'nope'`,
    });
    expect(await api.lookupChild(project.id, 'nope')).toBeUndefined();
  });

  it('answers 403 without READ on the parent, and finds projects by name without a parent', async () => {
    const folder = await newFolder();
    await expect(
      new EntityApi(t.http(outsider.token)).lookupChild(project.id, folder.name),
    ).rejects.toMatchObject({ status: 403, reason: 'Lack of READ permission on the parent entity.' });
    expect(
      await raw<{ id: string }>({
        method: 'POST',
        path: '/entity/child',
        body: { entityName: project.name },
      }),
    ).toEqual({ id: project.id });
  });
});

describe('POST /entity/children', () => {
  it('lists children of the requested types as headers, sorted by name', async () => {
    const parent = await newFolder();
    const handle = newHandle('child file');
    await api.create({ name: 'b folder', parentId: parent.id, concreteType: CONCRETE.folder });
    await api.create({ name: 'a folder', parentId: parent.id, concreteType: CONCRETE.folder });
    await api.create({
      name: 'c file',
      parentId: parent.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: handle.id,
    });
    const folders = await api.listChildren(parent.id, ['folder']);
    expect(folders.map((header) => header.name)).toEqual(['a folder', 'b folder']);
    expect(folders[0]).toMatchObject({
      type: 'org.sagebionetworks.repo.model.Folder',
      benefactorId: Number(project.id.slice(3)),
      createdBy: t.orchestrator.ownerId,
    });
    const all = await api.listChildren(parent.id);
    expect(all.map((header) => header.name)).toEqual(['a folder', 'b folder', 'c file']);
    expect(all[2]).toMatchObject({ type: CONCRETE.fileEntity, versionNumber: 1 });
  });

  it('pages with nextPageToken, and the client reads every page', async () => {
    const parent = await newFolder();
    for (let i = 0; i < 120; i++) {
      await api.create({
        name: `f${String(i).padStart(3, '0')}`,
        parentId: parent.id,
        concreteType: CONCRETE.folder,
      });
    }
    const first = await raw<{ page: EntityHeader[]; nextPageToken?: string }>({
      method: 'POST',
      path: '/entity/children',
      body: { parentId: parent.id, includeTypes: ['folder'], sortBy: 'NAME', sortDirection: 'DESC' },
    });
    expect(first.page).toHaveLength(50);
    expect(first.page[0]?.name).toBe('f119');
    expect(typeof first.nextPageToken).toBe('string');
    const http = recordingHttp();
    const children = await new EntityApi(http).listChildren(parent.id, ['folder']);
    expect(children.map((header) => header.name)).toEqual(
      Array.from({ length: 120 }, (_, i) => `f${String(i).padStart(3, '0')}`),
    );
    expect(http.calls).toHaveLength(3);
  });

  it('answers 400 for an unknown type or sort, and 403 without READ on the parent', async () => {
    await expect(
      raw({
        method: 'POST',
        path: '/entity/children',
        body: { parentId: project.id, includeTypes: ['Folder'] },
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      raw({
        method: 'POST',
        path: '/entity/children',
        body: { parentId: project.id, includeTypes: ['folder'], sortBy: 'SIZE' },
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(new EntityApi(t.http(outsider.token)).listChildren(project.id)).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe('annotations2', () => {
  it('GET always carries id, the entity etag and a (possibly empty) map', async () => {
    const folder = await newFolder();
    expect(await api.getAnnotations(folder.id)).toEqual({
      id: folder.id,
      etag: folder.etag,
      annotations: {},
    });
  });

  it('PUT replaces the whole map and changes the entity etag and modifiedOn', async () => {
    const folder = await newFolder();
    const first = await raw<V2Annotations>({
      method: 'PUT',
      path: `/entity/${folder.id}/annotations2`,
      body: {
        id: folder.id,
        etag: folder.etag,
        annotations: {
          ROOT_TEMPLATE: { type: 'STRING', value: ['workflow/main.cwl'] },
          score: { type: 'DOUBLE', value: ['0.93'] },
        },
      },
    });
    const replaced = await raw<V2Annotations>({
      method: 'PUT',
      path: `/entity/${folder.id}/annotations2`,
      body: { id: folder.id, etag: first.etag, annotations: { n: { type: 'LONG', value: ['5'] } } },
    });
    expect(replaced.annotations).toEqual({ n: { type: 'LONG', value: ['5'] } });
    const entity = await api.get(folder.id);
    expect(entity.etag).toBe(replaced.etag);
    expect(entity.etag).not.toBe(folder.etag);
    expect(entity.modifiedOn >= folder.modifiedOn).toBe(true);
    expect(await api.getAnnotations(folder.id)).toEqual(replaced);
  });

  it('answers 400 without an etag, 412 on a stale one, and 403 without UPDATE', async () => {
    const folder = await newFolder();
    const path = `/entity/${folder.id}/annotations2`;
    await expect(
      raw({ method: 'PUT', path, body: { id: folder.id, annotations: {} } }),
    ).rejects.toMatchObject({ status: 400, reason: 'etag is required.' });
    await api.update({ ...folder, description: 'bumps the etag' });
    await expect(
      raw({ method: 'PUT', path, body: { id: folder.id, etag: folder.etag, annotations: {} } }),
    ).rejects.toMatchObject({
      status: 412,
      reason: `Object: ${folder.id} was updated since you last fetched it, retrieve it again and re-apply the update`,
    });
    await expect(
      new EntityApi(t.http(outsider.token)).setAnnotations(folder.id, { set: {} }),
    ).rejects.toMatchObject({ status: 403 });
  });

  it('validates keys, value lists, value types and the STRING length budget', async () => {
    const folder = await newFolder();
    const put = (annotations: unknown) =>
      raw({
        method: 'PUT',
        path: `/entity/${folder.id}/annotations2`,
        body: { id: folder.id, etag: folder.etag, annotations },
      });
    await expect(put({ 'bad key': { type: 'STRING', value: ['x'] } })).rejects.toMatchObject({
      status: 400,
      reason:
        "Invalid annotation name: 'bad key'. Annotation names may only contain; letters, numbers, '_' and '.'",
    });
    await expect(
      put({ k: { type: 'STRING', value: ['x'.repeat(300), 'y'.repeat(201)] } }),
    ).rejects.toMatchObject({
      status: 400,
      reason: 'Total String value too long. Can be at most 500 characters.',
    });
    await expect(put({ k: { type: 'STRING', value: null } })).rejects.toMatchObject({
      status: 400,
      reason: 'value list for key=k can not be null',
    });
    const invalid: unknown[] = [
      { k: { type: 'LONG', value: ['1.5'] } },
      { k: { type: 'DOUBLE', value: ['abc'] } },
      { k: { type: 'BOOLEAN', value: ['yes'] } },
      { k: { type: 'TIMESTAMP_MS', value: ['2024-01-01'] } },
      { k: { type: 'STRING', value: 'not a list' } },
      { k: { type: 'INTEGER', value: ['1'] } },
      // A JSON number is read as its text (synapseclient 4.x sends them); an object or a null is not.
      { k: { type: 'LONG', value: [1.5] } },
      { k: { type: 'LONG', value: [{ n: 5 }] } },
      { k: { type: 'STRING', value: [null] } },
      { k: { type: 'STRING', value: Array.from({ length: 101 }, () => 'v') } },
      Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, { type: 'STRING', value: ['v'] }])),
    ];
    for (const annotations of invalid) await expect(put(annotations)).rejects.toMatchObject({ status: 400 });
    // Nothing was stored, so the original etag still works, and a full valid map is accepted.
    const accepted = await put({
      'a.b,c_d': { type: 'STRING', value: ['x'.repeat(500)] },
      n: { type: 'LONG', value: ['-9223372036854775808'] },
      d: { type: 'DOUBLE', value: ['1e-3', 'NaN'] },
      b: { type: 'BOOLEAN', value: ['TRUE'] },
      when: { type: 'TIMESTAMP_MS', value: ['1714564800000'] },
      empty: { type: 'STRING', value: [] },
    });
    expect(accepted).toMatchObject({ id: folder.id });
  });

  it('setAnnotations merges changes into what is there', async () => {
    const folder = await newFolder();
    await api.setAnnotations(folder.id, {
      set: { keep: { type: 'STRING', value: ['k'] }, drop: { type: 'LONG', value: ['1'] } },
    });
    const result = await api.setAnnotations(folder.id, {
      set: { added: { type: 'BOOLEAN', value: ['true'] } },
      remove: ['drop'],
    });
    expect(result.annotations).toEqual({
      keep: { type: 'STRING', value: ['k'] },
      added: { type: 'BOOLEAN', value: ['true'] },
    });
  });

  it('setAnnotations survives a concurrent edit: both changes land', async () => {
    const folder = await newFolder();
    const http = recordingHttp();
    let interfered = false;
    http.afterCall = async (request) => {
      if (interfered || request.method !== 'GET' || !request.path.endsWith('/annotations2')) return;
      interfered = true;
      // Another writer changes the annotations between the client's read and its write.
      const current = await api.getAnnotations(folder.id);
      await raw({
        method: 'PUT',
        path: `/entity/${folder.id}/annotations2`,
        body: {
          ...current,
          annotations: { ...current.annotations, theirs: { type: 'STRING', value: ['t'] } },
        },
      });
    };
    const result = await new EntityApi(http).setAnnotations(folder.id, {
      set: { mine: { type: 'LONG', value: ['7'] } },
    });
    expect(interfered).toBe(true);
    expect(result.annotations).toEqual({
      theirs: { type: 'STRING', value: ['t'] },
      mine: { type: 'LONG', value: ['7'] },
    });
    expect((await api.getAnnotations(folder.id)).annotations).toEqual(result.annotations);
    expect(http.calls.filter((call) => call.method === 'PUT')).toHaveLength(2);
  });
});

describe('file handles, benefactor and bundle', () => {
  it('GET /entity/{id}/filehandles lists the current file of a FileEntity and nothing for a folder', async () => {
    const handle = newHandle('handles');
    const file = await api.create({
      name: unique('file'),
      parentId: project.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: handle.id,
    });
    const handles = await api.getFileHandles(file.id);
    expect(handles).toHaveLength(1);
    expect(handles[0]).toMatchObject({ id: handle.id, contentMd5: handle.contentMd5, fileName: 'file.txt' });
    expect(await api.getFileHandles((await newFolder()).id)).toEqual([]);
    await expect(new EntityApi(t.http(outsider.token)).getFileHandles(file.id)).rejects.toMatchObject({
      status: 403,
    });
  });

  it('GET /entity/{id}/benefactor is the project for an entity that inherits', async () => {
    const folder = await newFolder(project.id);
    const inner = await newFolder(folder.id);
    const header = await raw<EntityHeader>({ method: 'GET', path: `/entity/${inner.id}/benefactor` });
    expect(header).toMatchObject({ id: project.id, name: project.name, type: CONCRETE.project });
  });

  it('POST /entity/{id}/bundle2 returns the parts asked for', async () => {
    const handle = newHandle('bundle');
    const file = await api.create({
      name: unique('file'),
      parentId: project.id,
      concreteType: CONCRETE.fileEntity,
      dataFileHandleId: handle.id,
    });
    const bundle = await raw<Record<string, unknown>>({
      method: 'POST',
      path: `/entity/${file.id}/bundle2`,
      body: { includeEntity: true, includeAnnotations: true, includeFileHandles: true },
    });
    expect(bundle).toMatchObject({
      entity: { id: file.id, dataFileHandleId: handle.id },
      entityType: 'file',
      annotations: { id: file.id, etag: file.etag, annotations: {} },
      fileHandles: [{ id: handle.id }],
    });
    expect(bundle).not.toHaveProperty('benefactorAcl');
  });
});

describe('getOrCreateFolder', () => {
  it('makes exactly one request when the folder exists', async () => {
    const folder = await newFolder();
    const http = recordingHttp();
    expect(await new EntityApi(http).getOrCreateFolder(project.id, folder.name)).toBe(folder.id);
    expect(http.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /entity/child']);
  });

  it('creates the folder when it is missing', async () => {
    const name = unique('made');
    const id = await api.getOrCreateFolder(project.id, name);
    expect(await api.get(id)).toMatchObject({ name, parentId: project.id, concreteType: CONCRETE.folder });
    expect(await api.getOrCreateFolder(project.id, name)).toBe(id);
  });

  it('returns the folder someone else created between its lookup and its create (409)', async () => {
    const name = unique('raced');
    const http = recordingHttp();
    let competitor: string | undefined;
    http.beforeCall = async (request) => {
      if (competitor !== undefined || request.method !== 'POST' || request.path !== '/entity') return;
      competitor = (await api.create({ name, parentId: project.id, concreteType: CONCRETE.folder })).id;
    };
    const id = await new EntityApi(http).getOrCreateFolder(project.id, name);
    expect(id).toBe(competitor);
    expect(http.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /entity/child',
      'POST /entity',
      'POST /entity/child',
    ]);
  });
});

describe('createOrUpdateFile', () => {
  it('called twice with the same file makes one version; a new file makes version 2', async () => {
    const folder = await newFolder();
    const first = newHandle('log v1');
    const created = await api.createOrUpdateFile(folder.id, 'logs.zip', first.id);
    const again = await api.createOrUpdateFile(folder.id, 'logs.zip', first.id);
    expect(again).toMatchObject({ id: created.id, versionNumber: 1, etag: created.etag });

    const second = newHandle('log v2');
    const updated = await api.createOrUpdateFile(folder.id, 'logs.zip', second.id);
    expect(updated).toMatchObject({ id: created.id, versionNumber: 2, dataFileHandleId: second.id });
    expect(await api.createOrUpdateFile(folder.id, 'logs.zip', second.id)).toMatchObject({
      versionNumber: 2,
    });
    expect(await raw<Entity>({ method: 'GET', path: `/entity/${created.id}/version/1` })).toMatchObject({
      dataFileHandleId: first.id,
    });
    expect(await api.listChildren(folder.id)).toHaveLength(1);
  });

  it('with the id an earlier call returned: a new version in two requests (read, write), no create or lookup', async () => {
    const folder = await newFolder();
    const created = await api.createOrUpdateFile(folder.id, 'logs.zip', newHandle('log v1').id);
    const http = recordingHttp();
    const second = newHandle('log v2');
    const updated = await new EntityApi(http).createOrUpdateFile(folder.id, 'logs.zip', second.id, {
      knownId: created.id,
    });
    expect(updated).toMatchObject({ id: created.id, versionNumber: 2, dataFileHandleId: second.id });
    expect(http.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `GET /entity/${created.id}`,
      `PUT /entity/${created.id}`,
    ]);
  });

  it('with a known id that was moved away or deleted: stores the file under the name in the folder, as without it', async () => {
    const folder = await newFolder();
    const elsewhere = await newFolder();
    const moved = await api.createOrUpdateFile(folder.id, 'logs.zip', newHandle('log v1').id);
    await api.update({ ...(await api.get(moved.id)), parentId: elsewhere.id });
    const handle = newHandle('log v2');
    const stored = await api.createOrUpdateFile(folder.id, 'logs.zip', handle.id, { knownId: moved.id });
    expect(stored.id).not.toBe(moved.id);
    expect(stored).toMatchObject({ parentId: folder.id, name: 'logs.zip', dataFileHandleId: handle.id });
    expect(await api.get(moved.id)).toMatchObject({ parentId: elsewhere.id, versionNumber: 1 });

    await api.delete(stored.id);
    const again = await api.createOrUpdateFile(folder.id, 'logs.zip', handle.id, { knownId: stored.id });
    expect(again).toMatchObject({ parentId: folder.id, name: 'logs.zip', versionNumber: 1 });
  });

  it('refuses to turn a folder of the same name into a file', async () => {
    const folder = await newFolder();
    await expect(api.createOrUpdateFile(project.id, folder.name, newHandle('x').id)).rejects.toThrow(
      `that name belongs to ${folder.id}, a ${CONCRETE.folder}`,
    );
  });
});
