/**
 * Entity ACLs on the local platform, through the client (AclApi) over HTTP: inheritance answered as a
 * 404, a second create answered as a 403, Synapse's content rules, and ensure() creating, keeping and
 * correcting an ACL, also when another writer races it.
 */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { AclApi } from '../../../src/synapse/acl.js';
import { EntityApi } from '../../../src/synapse/entities.js';
import { SynapseHttp, type SynapseRequest } from '../../../src/synapse/http.js';
import {
  CONCRETE,
  ENTITY_ADMIN_ACCESS,
  PRINCIPALS,
  type AccessControlList,
  type Entity,
  type EntityHeader,
  type ResourceAccess,
} from '../../../src/synapse/types.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

/** A transport that can act as another writer would, just before one of the client's calls. */
class InterferingHttp extends SynapseHttp {
  readonly calls: SynapseRequest[] = [];
  beforeCall: ((request: SynapseRequest) => Promise<void>) | undefined;

  override async request<T>(request: SynapseRequest): Promise<T> {
    this.calls.push(request);
    await this.beforeCall?.(request);
    return super.request<T>(request);
  }
}

let t: TestPlatform;
let entities: EntityApi;
let acls: AclApi;
let project: Entity;
let member: SeededUser;
let outsider: SeededUser;
let me: number;
let counter = 0;

const admin = (): ResourceAccess => ({ principalId: me, accessType: [...ENTITY_ADMIN_ACCESS] });

function newFolder(parentId = project.id): Promise<Entity> {
  counter += 1;
  return entities.create({ name: `folder ${counter}`, parentId, concreteType: CONCRETE.folder });
}

function raw<T>(request: Omit<SynapseRequest, 'api'>, token?: string): Promise<T> {
  return t.http(token).request<T>({ api: 'repo', ...request });
}

/** The HTTP status and raw JSON of a call, without the client's parsing or retries. */
async function rawResponse(method: string, path: string, body?: unknown, token = t.orchestrator.token) {
  const response = await axios.request<unknown>({
    method,
    url: `${t.platform.url}/repo/v1${path}`,
    data: body,
    headers: { Authorization: `Bearer ${token}` },
    responseType: 'text',
    transformResponse: (data: unknown) => data,
    validateStatus: () => true,
  });
  return { status: response.status, text: String(response.data) };
}

beforeAll(async () => {
  t = await startTestPlatform();
  entities = new EntityApi(t.http());
  acls = new AclApi(t.http());
  me = Number(t.orchestrator.ownerId);
  project = await entities.create({ name: 'ACL tests', concreteType: CONCRETE.project });
  member = await t.admin.createUser({ userName: 'member' });
  outsider = await t.admin.createUser({ userName: 'acl-outsider' });
});
afterAll(() => t.close());

describe('GET /entity/{id}/acl', () => {
  it("returns a project's ACL, with principalId as a JSON number", async () => {
    const response = await rawResponse('GET', `/entity/${project.id}/acl`);
    expect(response.status).toBe(200);
    expect(response.text).toContain(`"principalId":${me}`);
    expect(response.text).not.toContain(`"principalId":"${me}"`);
    const acl = await acls.get(project.id);
    expect(acl).toMatchObject({ id: project.id, resourceAccess: [admin()] });
    expect(acl?.etag).toEqual(expect.any(String));
    expect(acl?.creationDate).toEqual(expect.any(String));
  });

  it('answers 404 naming the benefactor when the entity inherits; the client says undefined', async () => {
    const folder = await newFolder();
    const inner = await newFolder(folder.id);
    await expect(raw({ method: 'GET', path: `/entity/${inner.id}/acl` })).rejects.toMatchObject({
      status: 404,
      reason: `The requested ACL does not exist. This entity inherits its permissions from: ${t.platform.url}/repo/v1/entity/${project.id}/acl`,
    });
    expect(await acls.get(inner.id)).toBeUndefined();
  });

  it('answers a missing entity with a different 404, which the client throws', async () => {
    const error = await acls.get('syn999999999').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404 });
    expect((error as { reason: string }).reason).not.toContain('inherits');
  });

  it('answers 403 to someone who cannot read the entity', async () => {
    await expect(new AclApi(t.http(outsider.token)).get(project.id)).rejects.toMatchObject({ status: 403 });
  });
});

describe('POST /entity/{id}/acl', () => {
  it('creates an ACL with 201: the entity becomes its own benefactor and the grant takes effect', async () => {
    const folder = await newFolder();
    await expect(new EntityApi(t.http(member.token)).get(folder.id)).rejects.toMatchObject({ status: 403 });
    // A copy of the benefactor's ACL, as the Python client sends it: its id is overwritten.
    const body = {
      id: project.id,
      etag: 'from-the-project',
      resourceAccess: [admin(), { principalId: Number(member.ownerId), accessType: ['READ', 'DOWNLOAD'] }],
    };
    const response = await rawResponse('POST', `/entity/${folder.id}/acl`, body);
    expect(response.status).toBe(201);
    const created = JSON.parse(response.text) as AccessControlList;
    expect(created.id).toBe(folder.id);
    expect(created.etag).not.toBe('from-the-project');
    expect(created.creationDate).toEqual(expect.any(String));
    expect(await acls.benefactor(folder.id)).toMatchObject({ id: folder.id, type: CONCRETE.folder });
    expect((await new EntityApi(t.http(member.token)).get(folder.id)).id).toBe(folder.id);
    // The project's own ACL is untouched.
    expect((await acls.get(project.id))?.resourceAccess).toEqual([admin()]);
  });

  it('answers a second create with 403 "Resource already has an ACL.", not 409', async () => {
    const folder = await newFolder();
    await acls.create(folder.id, [admin()]);
    await expect(acls.create(folder.id, [admin()])).rejects.toMatchObject({
      status: 403,
      reason: 'Resource already has an ACL.',
    });
  });

  it('needs CHANGE_PERMISSIONS on the current benefactor', async () => {
    const folder = await newFolder();
    await acls.create(folder.id, [
      admin(),
      { principalId: Number(member.ownerId), accessType: ['READ', 'CREATE'] },
    ]);
    const inner = await newFolder(folder.id);
    await expect(
      new AclApi(t.http(member.token)).create(inner.id, [
        { principalId: Number(member.ownerId), accessType: [...ENTITY_ADMIN_ACCESS] },
      ]),
    ).rejects.toMatchObject({ status: 403 });
    expect(await acls.get(inner.id)).toBeUndefined();
  });

  it('answers 404 for a missing entity', async () => {
    await expect(acls.create('syn999999997', [admin()])).rejects.toMatchObject({ status: 404 });
  });
});

describe('ACL content rules', () => {
  let folder: Entity;
  beforeAll(async () => {
    folder = await newFolder();
  });
  const attempt = (resourceAccess: unknown) =>
    raw({ method: 'POST', path: `/entity/${folder.id}/acl`, body: { resourceAccess } });

  it('rejects a principalId sent as a string', async () => {
    await expect(
      attempt([{ principalId: String(me), accessType: ['READ', 'CHANGE_PERMISSIONS'] }]),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('rejects an entry without access types, with Synapse reason', async () => {
    await expect(
      attempt([admin(), { principalId: Number(member.ownerId), accessType: [] }]),
    ).rejects.toMatchObject({
      status: 400,
      reason: 'No access types specified.',
    });
  });

  it('rejects unknown access types, the anonymous user, and PUBLIC beyond READ', async () => {
    for (const entry of [
      { principalId: Number(member.ownerId), accessType: ['READ', 'FLY'] },
      { principalId: PRINCIPALS.anonymous, accessType: ['READ'] },
      { principalId: PRINCIPALS.public, accessType: ['READ', 'DOWNLOAD'] },
    ]) {
      await expect(attempt([admin(), entry])).rejects.toMatchObject({ status: 400 });
    }
    expect(await acls.get(folder.id)).toBeUndefined();
    const created = await acls.create(folder.id, [
      admin(),
      { principalId: PRINCIPALS.public, accessType: ['READ'] },
    ]);
    expect(created.resourceAccess).toContainEqual({ principalId: PRINCIPALS.public, accessType: ['READ'] });
  });

  it('stops someone who did not create the entity from removing their own CHANGE_PERMISSIONS', async () => {
    const shared = await newFolder();
    const manager: ResourceAccess = {
      principalId: Number(member.ownerId),
      accessType: ['READ', 'UPDATE', 'CHANGE_PERMISSIONS'],
    };
    const acl = await acls.create(shared.id, [admin(), manager]);
    const asMember = new AclApi(t.http(member.token));
    await expect(asMember.update({ ...acl, resourceAccess: [admin()] })).rejects.toMatchObject({
      status: 400,
      reason: 'Caller is trying to revoke their own ACL editing permissions.',
    });
    // The creator may: they keep control as the entity's creator.
    const mine = await acls.update({
      ...acl,
      resourceAccess: [{ principalId: me, accessType: ['READ'] }, manager],
    });
    expect(mine.resourceAccess).toContainEqual({ principalId: me, accessType: ['READ'] });
  });
});

describe('PUT /entity/{id}/acl', () => {
  it('replaces the ACL with a new etag, and answers a stale etag with 412 "E-tags do not match."', async () => {
    const folder = await newFolder();
    const acl = await acls.create(folder.id, [admin()]);
    const updated = await acls.update({
      ...acl,
      resourceAccess: [admin(), { principalId: Number(member.ownerId), accessType: ['READ'] }],
    });
    expect(updated.etag).not.toBe(acl.etag);
    expect(updated.creationDate).toBe(acl.creationDate);
    expect((await new EntityApi(t.http(member.token)).get(folder.id)).id).toBe(folder.id);
    await expect(acls.update({ ...acl, resourceAccess: [admin()] })).rejects.toMatchObject({
      status: 412,
      reason: 'E-tags do not match.',
    });
  });

  it('answers 400 when the body id is not the path id, with Synapse reason', async () => {
    const folder = await newFolder();
    const acl = await acls.create(folder.id, [admin()]);
    await expect(raw({ method: 'PUT', path: `/entity/${project.id}/acl`, body: acl })).rejects.toMatchObject({
      status: 400,
      reason: `The path ID: ${project.id} does not match the ACL's ID: ${folder.id}`,
    });
  });

  it('answers 403 for an entity that inherits, with Synapse reason', async () => {
    const folder = await newFolder();
    await expect(acls.update({ id: folder.id, etag: 'x', resourceAccess: [admin()] })).rejects.toMatchObject({
      status: 403,
      reason: 'Cannot update ACL for a resource which inherits its permissions.',
    });
  });
});

describe('DELETE /entity/{id}/acl', () => {
  it('answers 204 and restores inheritance; a second delete is 403', async () => {
    const folder = await newFolder();
    await acls.create(folder.id, [admin(), { principalId: Number(member.ownerId), accessType: ['READ'] }]);
    expect((await rawResponse('DELETE', `/entity/${folder.id}/acl`)).status).toBe(204);
    expect(await acls.get(folder.id)).toBeUndefined();
    expect(await acls.benefactor(folder.id)).toMatchObject<Partial<EntityHeader>>({ id: project.id });
    await expect(new EntityApi(t.http(member.token)).get(folder.id)).rejects.toMatchObject({ status: 403 });
    await expect(raw({ method: 'DELETE', path: `/entity/${folder.id}/acl` })).rejects.toMatchObject({
      status: 403,
      reason: 'Resource already inherits its permissions.',
    });
  });

  it("refuses to delete a project's ACL", async () => {
    await expect(raw({ method: 'DELETE', path: `/entity/${project.id}/acl` })).rejects.toMatchObject({
      status: 403,
    });
    expect(await acls.get(project.id)).toBeDefined();
  });
});

describe('AclApi.ensure', () => {
  const reader = (): ResourceAccess => ({
    principalId: Number(member.ownerId),
    accessType: ['READ', 'DOWNLOAD'],
  });

  it('creates the ACL of an inheriting entity, then leaves an equal one alone', async () => {
    const folder = await newFolder();
    expect(await acls.ensure(folder.id, [admin(), reader()])).toBe('created');
    const created = await acls.get(folder.id);
    // Equal as sets: order of entries and of access types does not matter.
    const reordered: ResourceAccess[] = [
      { principalId: Number(member.ownerId), accessType: ['DOWNLOAD', 'READ'] },
      { principalId: me, accessType: [...ENTITY_ADMIN_ACCESS].reverse() },
    ];
    expect(await acls.ensure(folder.id, reordered)).toBe('unchanged');
    expect((await acls.get(folder.id))?.etag).toBe(created?.etag);
  });

  it('corrects an ACL that drifted', async () => {
    const folder = await newFolder();
    await acls.ensure(folder.id, [admin(), reader()]);
    const drifted = await acls.get(folder.id);
    if (drifted === undefined) throw new Error('the ACL should exist');
    await acls.update({ ...drifted, resourceAccess: [admin()] });
    expect(await acls.ensure(folder.id, [admin(), reader()])).toBe('corrected');
    const fixed = await acls.get(folder.id);
    expect(fixed?.resourceAccess).toEqual(expect.arrayContaining([admin(), reader()]));
    expect(fixed?.resourceAccess).toHaveLength(2);
  });

  it('when someone creates the ACL between its read and its create, re-reads and corrects it', async () => {
    const folder = await newFolder();
    const http = new InterferingHttp({
      endpoint: t.endpoint,
      token: t.orchestrator.token,
      retry: FAST_RETRY,
    });
    let raced = false;
    http.beforeCall = async (request) => {
      if (raced || request.method !== 'POST') return;
      raced = true;
      await acls.create(folder.id, [admin()]);
    };
    expect(await new AclApi(http).ensure(folder.id, [admin(), reader()])).toBe('corrected');
    expect(raced).toBe(true);
    expect(http.calls.map((call) => call.method)).toEqual(['GET', 'POST', 'GET', 'PUT']);
    expect((await acls.get(folder.id))?.resourceAccess).toHaveLength(2);
  });

  it('treats a retried create that had already succeeded as done', async () => {
    const folder = await newFolder();
    const http = new InterferingHttp({
      endpoint: t.endpoint,
      token: t.orchestrator.token,
      retry: FAST_RETRY,
    });
    http.beforeCall = async (request) => {
      if (request.method === 'POST' && http.calls.length === 2)
        await acls.create(folder.id, [admin(), reader()]);
    };
    expect(await new AclApi(http).ensure(folder.id, [admin(), reader()])).toBe('unchanged');
    expect((await acls.get(folder.id))?.resourceAccess).toHaveLength(2);
  });
});
