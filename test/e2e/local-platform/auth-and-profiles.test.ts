/** The local platform's front door: tokens, profiles, teams, admin access, persistence. */
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform } from '../../../src/local-platform/server.js';
import { LocalPlatformAdmin } from '../../../src/local-platform/admin-client.js';
import { SynapseError } from '../../../src/synapse/errors.js';
import type { Team, UserProfile } from '../../../src/synapse/types.js';
import { endpointOf, startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { SynapseHttp } from '../../../src/synapse/http.js';

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(() => t.close());

describe('authentication', () => {
  it('answers a request with an unknown token with 401, Synapse reason and WWW-Authenticate', async () => {
    const response = await axios.get(`${t.platform.url}/repo/v1/userProfile`, {
      headers: { Authorization: 'Bearer not-a-token' },
      validateStatus: () => true,
    });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="Synapse Repository Services"');
    expect(response.data).toEqual({
      concreteType: 'org.sagebionetworks.repo.model.ErrorResponse',
      reason: 'Invalid access token',
    });
  });

  it('rejects a request without any token', async () => {
    const response = await axios.get(`${t.platform.url}/repo/v1/userProfile`, { validateStatus: () => true });
    expect(response.status).toBe(401);
  });

  it('the client surfaces a 401 as a typed, non-retried error without the token in it', async () => {
    const wrongToken = 'eyJhbGciOiJub25lIn0.d3JvbmctdG9rZW4tcGF5bG9hZA.c2ln';
    let attempts = 0;
    const http = new SynapseHttp({
      endpoint: t.endpoint,
      token: wrongToken,
      retry: { initialDelayMs: 1 },
      retryHooks: { onRetry: () => (attempts += 1) },
    });
    const error = await http
      .request({ api: 'repo', method: 'GET', path: '/userProfile' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SynapseError);
    expect(error).toMatchObject({
      status: 401,
      reason: 'Invalid access token',
      method: 'GET',
      path: '/repo/v1/userProfile',
    });
    expect(attempts).toBe(0);
    expect(String(error)).not.toContain(wrongToken);
    expect(JSON.stringify(error)).not.toContain(wrongToken);
  });

  it('admin routes need the admin token, not a user token', async () => {
    const asUser = await axios.get(`${t.platform.url}/__local/dump`, {
      headers: { Authorization: `Bearer ${t.orchestrator.token}` },
      validateStatus: () => true,
    });
    expect(asUser.status).toBe(401);
  });
});

describe('profiles and teams', () => {
  it('GET /userProfile is the caller', async () => {
    const me = await t.http().request<UserProfile>({ api: 'repo', method: 'GET', path: '/userProfile' });
    expect(me).toMatchObject({
      ownerId: t.orchestrator.ownerId,
      userName: 'orchestrator-bot',
      firstName: 'Orch',
    });
  });

  it('GET /userProfile/{id} and /team/{id} describe others; unknown ids are 404', async () => {
    const alice = await t.admin.createUser({ userName: 'alice', firstName: 'Alice', lastName: 'Liddell' });
    const team = await t.admin.createTeam('Team $1 \\o/', [alice.ownerId]);
    const http = t.http();
    expect(
      await http.request<UserProfile>({ api: 'repo', method: 'GET', path: `/userProfile/${alice.ownerId}` }),
    ).toMatchObject({
      ownerId: alice.ownerId,
      userName: 'alice',
      lastName: 'Liddell',
    });
    expect(await http.request<Team>({ api: 'repo', method: 'GET', path: `/team/${team.id}` })).toMatchObject({
      id: team.id,
      name: 'Team $1 \\o/',
    });
    await expect(http.request({ api: 'repo', method: 'GET', path: '/team/999999999' })).rejects.toMatchObject(
      { status: 404 },
    );
  });
});

describe('persistence', () => {
  it('state survives a restart of the server', async () => {
    const first = await startTestPlatform();
    const carol = await first.admin.createUser({ userName: 'carol' });
    await first.close();
    const second = await startLocalPlatform({ dataDir: first.dataDir });
    try {
      expect(second.adminToken).toBe(first.platform.adminToken);
      const http = new SynapseHttp({ endpoint: endpointOf(second.url), token: carol.token });
      expect(
        await http.request<UserProfile>({ api: 'repo', method: 'GET', path: '/userProfile' }),
      ).toMatchObject({ userName: 'carol' });
      const dump = await new LocalPlatformAdmin(second.url, second.adminToken).dump();
      expect(Object.values(dump.users).map((u) => u.userName)).toContain('carol');
    } finally {
      await second.close();
    }
  });
});
