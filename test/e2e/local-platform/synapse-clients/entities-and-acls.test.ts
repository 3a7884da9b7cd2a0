/**
 * What synapseclient reads and writes about entities besides their bytes: `syn.store(Folder(...))` and
 * the bundle it reads back, every bundle2 include flag, an entity's path and the caller's permissions,
 * `syn.setPermissions` / `syn.getPermissions` (3.x asks for the principal's teams and user bundle),
 * challengeutils' `get_user_entity_permissions`, entity annotations, and upload destinations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AccessControlList,
  Entity,
  EntityHeader,
  PaginatedResults,
  Team,
} from '../../../../src/synapse/types.js';
import { startClientFixture, type ClientFixture } from './fixture.js';
import { uploadLikeClient } from './upload.js';

const PUBLIC = 273949;
/** What synapseclient's `syn.get` and `syn.store` ask for. */
const CLIENT_BUNDLE = {
  includeEntity: true,
  includeAnnotations: true,
  includeFileHandles: true,
  includeRestrictionInformation: true,
};

let f: ClientFixture;
let outputs: Entity;
let file: Entity;
beforeAll(async () => {
  f = await startClientFixture();
});
afterAll(() => f.close());

describe('syn.store(Folder(name, parent=...))', () => {
  it('creates the folder, stores its annotations, and reads back a bundle with restriction information', async () => {
    const created = await f.org.rest<Entity>('POST', 'repo', '/entity', {
      concreteType: 'org.sagebionetworks.repo.model.Folder',
      name: 'outputs',
      parentId: f.project.id,
      versionComment: null,
    });
    expect(created.status).toBe(201);
    outputs = created.data;
    const annotations = await f.org.rest<{ etag: string }>(
      'PUT',
      'repo',
      `/entity/${outputs.id}/annotations2`,
      {
        id: outputs.id,
        etag: outputs.etag,
        annotations: { round: { type: 'LONG', value: ['2'] }, kind: { type: 'STRING', value: ['scores'] } },
      },
    );
    expect(annotations.status).toBe(200);
    const bundle = await f.org.rest<Record<string, unknown>>(
      'POST',
      'repo',
      `/entity/${outputs.id}/bundle2`,
      CLIENT_BUNDLE,
    );
    expect(bundle.status).toBe(200);
    expect(bundle.data).toMatchObject({
      entity: { id: outputs.id, etag: annotations.data.etag },
      entityType: 'folder',
      annotations: { annotations: { round: { type: 'LONG', value: ['2'] } } },
      fileHandles: [],
      restrictionInformation: {
        objectId: Number(outputs.id.slice(3)),
        restrictionLevel: 'OPEN',
        hasUnmetAccessRequirement: false,
      },
    });
  });
});

describe('POST /entity/{id}/bundle2', () => {
  it('answers every include flag: permissions, path, children, ACLs, file name, threads, restrictions', async () => {
    const handle = await uploadLikeClient(f.org, Buffer.from('a,b\n'), 'table.csv', { parentId: outputs.id });
    const created = await f.org.rest<Entity>('POST', 'repo', '/entity', {
      concreteType: 'org.sagebionetworks.repo.model.FileEntity',
      name: 'table.csv',
      parentId: outputs.id,
      dataFileHandleId: handle.id,
    });
    file = created.data;
    const everything = await f.org.rest<Record<string, unknown>>(
      'POST',
      'repo',
      `/entity/${outputs.id}/bundle2`,
      {
        includeEntity: true,
        includeAnnotations: true,
        includePermissions: true,
        includeEntityPath: true,
        includeHasChildren: true,
        includeAccessControlList: true,
        includeFileHandles: true,
        includeTableBundle: true,
        includeRootWikiId: true,
        includeBenefactorACL: true,
        includeDOIAssociation: true,
        includeFileName: true,
        includeThreadCount: true,
        includeRestrictionInformation: true,
      },
    );
    expect(everything.status).toBe(200);
    const data = everything.data;
    expect(data.permissions).toMatchObject({ canView: true, canEdit: true, canChangePermissions: true });
    expect((data.path as { path: EntityHeader[] }).path.map((h) => h.id)).toEqual([
      'syn4489',
      f.project.id,
      outputs.id,
    ]);
    expect(data.hasChildren).toBe(true);
    // The folder inherits: no ACL of its own, its benefactor's (the project's) instead.
    expect(data.accessControlList).toBeUndefined();
    expect((data.benefactorAcl as AccessControlList).id).toBe(f.project.id);
    expect(data.threadCount).toBe(0);
    expect(data.restrictionInformation).toMatchObject({ hasUnmetAccessRequirement: false });
    // Tables, wikis and DOIs do not exist here: left out, as for an entity without them.
    expect(data).not.toHaveProperty('tableBundle');
    expect(data).not.toHaveProperty('rootWikiId');
    expect(data).not.toHaveProperty('doiAssociation');

    const ofFile = await f.org.rest<Record<string, unknown>>('POST', 'repo', `/entity/${file.id}/bundle2`, {
      includeFileName: true,
      includeHasChildren: true,
    });
    expect(ofFile.data).toEqual({ fileName: 'table.csv', hasChildren: false });
  });

  it('/entity/{id}/version/{n}/bundle2 answers for the current version and 404 for a version that never was', async () => {
    const current = await f.org.rest<{ entity: Entity }>(
      'POST',
      'repo',
      `/entity/${file.id}/version/1/bundle2`,
      CLIENT_BUNDLE,
    );
    expect(current.status).toBe(200);
    expect(current.data.entity).toMatchObject({ id: file.id, versionNumber: 1 });
    expect(
      (await f.org.rest('POST', 'repo', `/entity/${file.id}/version/7/bundle2`, CLIENT_BUNDLE)).status,
    ).toBe(404);
  });
});

describe('paths and permissions', () => {
  it('GET /entity/{id}/path lists the root, the project, then each folder down to the entity', async () => {
    const path = await f.org.rest<{ path: EntityHeader[] }>('GET', 'repo', `/entity/${file.id}/path`);
    expect(path.status).toBe(200);
    expect(path.data.path.map((h) => h.name)).toEqual(['root', 'Challenge', 'outputs', 'table.csv']);
  });

  it('GET /entity/{id}/permissions (challengeutils get_user_entity_permissions) for the owner and a stranger', async () => {
    const owner = await f.org.rest<Record<string, unknown>>('GET', 'repo', `/entity/${file.id}/permissions`);
    expect(owner.status).toBe(200);
    expect(owner.data).toMatchObject({
      canView: true,
      canEdit: true,
      canDelete: true,
      canDownload: true,
      canChangePermissions: true,
      canEnableInheritance: false,
      ownerPrincipalId: Number(f.organizer.ownerId),
      canPublicRead: false,
      isCertifiedUser: true,
    });
    const stranger = await f.participant.rest<Record<string, unknown>>(
      'GET',
      'repo',
      `/entity/${file.id}/permissions`,
    );
    expect(stranger.status).toBe(200);
    expect(stranger.data).toMatchObject({ canView: false, canDownload: false, canEdit: false });
  });

  it('syn.setPermissions copies the benefactor’s ACL; syn.getPermissions (3.x) then reads the principal’s teams and bundle', async () => {
    const benefactor = await f.org.rest<EntityHeader>('GET', 'repo', `/entity/${outputs.id}/benefactor`);
    const parentAcl = await f.org.rest<AccessControlList>('GET', 'repo', `/entity/${benefactor.data.id}/acl`);
    const acl = await f.org.rest<AccessControlList>('POST', 'repo', `/entity/${outputs.id}/acl`, {
      ...parentAcl.data,
      resourceAccess: [
        ...parentAcl.data.resourceAccess,
        { accessType: ['READ', 'DOWNLOAD'], principalId: Number(f.team.id) },
      ],
    });
    expect(acl.status).toBe(201);

    const teams = await f.org.rest<PaginatedResults<Team>>(
      'GET',
      'repo',
      `/user/${f.alice.ownerId}/team?limit=20&offset=0`,
    );
    expect(teams.status).toBe(200);
    expect(teams.data.results.map((t) => t.id)).toEqual([f.team.id]);
    const bundle = await f.org.rest<{ userId: string; userProfile?: { userName: string } }>(
      'GET',
      'repo',
      `/user/${f.alice.ownerId}/bundle?mask=1`,
    );
    expect(bundle.status).toBe(200);
    expect(bundle.data.userProfile?.userName).toBe('alice');
    const certified = await f.org.rest<{ isCertified?: boolean }>(
      'GET',
      'repo',
      `/user/${f.alice.ownerId}/bundle?mask=8`,
    );
    expect(certified.data).toEqual({ userId: f.alice.ownerId, isCertified: true });

    // PUBLIC (and a team) belongs to no team and has no user bundle; the client reads that as "no more".
    const publicTeams = await f.org.rest<PaginatedResults<Team>>(
      'GET',
      'repo',
      `/user/${PUBLIC}/team?limit=20&offset=0`,
    );
    expect(publicTeams.data.results).toEqual([]);
    expect((await f.org.rest('GET', 'repo', `/user/${f.team.id}/team`)).data).toMatchObject({ results: [] });
    expect((await f.org.rest('GET', 'repo', `/user/${PUBLIC}/bundle?mask=1`)).status).toBe(404);

    // The team's members now download through it.
    const asMember = await f.participant.rest<Record<string, unknown>>(
      'GET',
      'repo',
      `/entity/${file.id}/permissions`,
    );
    expect(asMember.data).toMatchObject({ canView: true, canDownload: true, canEdit: false });
  });
});

describe('names instead of ids', () => {
  it('getUserProfile(name), setPermissions(entity, name): /userGroupHeaders?prefix= finds users and teams', async () => {
    const alice = await f.org.rest<{ prefixFilter: string; children: Record<string, unknown>[] }>(
      'GET',
      'repo',
      '/userGroupHeaders?prefix=ali&limit=20&offset=0',
    );
    expect(alice.status).toBe(200);
    expect(alice.data.prefixFilter).toBe('ali');
    expect(alice.data.children).toEqual([
      { ownerId: f.alice.ownerId, userName: 'alice', firstName: 'Alice', isIndividual: true },
    ]);
    const team = await f.org.rest<{ children: Record<string, unknown>[] }>(
      'GET',
      'repo',
      '/userGroupHeaders?prefix=team',
    );
    expect(team.data.children).toEqual([
      { ownerId: f.team.id, userName: 'Team Rocket', isIndividual: false },
    ]);
  });

  it('getTeam(name): /teams?fragment= pages the teams whose name starts with it', async () => {
    const found = await f.org.rest<PaginatedResults<Team>>(
      'GET',
      'repo',
      '/teams?fragment=Team+Rocket&limit=20&offset=0',
    );
    expect(found.status).toBe(200);
    expect(found.data.results.map((t) => t.id)).toEqual([f.team.id]);
    const none = await f.org.rest<PaginatedResults<Team>>('GET', 'repo', '/teams?fragment=Nobody');
    expect(none.data.results).toEqual([]);
  });

  it('GET /entity/{id}/type is the entity’s header', async () => {
    const header = await f.org.rest<EntityHeader>('GET', 'repo', `/entity/${file.id}/type`);
    expect(header.status).toBe(200);
    expect(header.data).toMatchObject({
      id: file.id,
      name: 'table.csv',
      type: 'org.sagebionetworks.repo.model.FileEntity',
    });
  });
});

describe('upload destinations', () => {
  it('the default one, the per-location form, and 404 for a storage location the platform does not have', async () => {
    const expected = {
      concreteType: 'org.sagebionetworks.repo.model.file.S3UploadDestination',
      storageLocationId: 1,
      uploadType: 'S3',
    };
    const byDefault = await f.org.rest('GET', 'file', `/entity/${outputs.id}/uploadDestination`);
    expect(byDefault.status).toBe(200);
    expect(byDefault.data).toMatchObject(expected);
    const byLocation = await f.org.rest('GET', 'file', `/entity/${outputs.id}/uploadDestination/1`);
    expect(byLocation.data).toMatchObject(expected);
    expect((await f.org.rest('GET', 'file', `/entity/${outputs.id}/uploadDestination/42`)).status).toBe(404);
    const locations = await f.org.rest('GET', 'file', `/entity/${outputs.id}/uploadDestinationLocations`);
    expect(locations.data).toEqual({ list: [{ storageLocationId: 1 }] });
    // Reading the destination needs READ on the parent, as on Synapse.
    expect((await f.participant.rest('GET', 'file', `/entity/${f.folder.id}/uploadDestination`)).status).toBe(
      403,
    );
  });
});
