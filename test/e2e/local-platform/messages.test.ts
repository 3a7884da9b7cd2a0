/**
 * Messages: Synapse's recipient rules and rate limit on the local platform, and a MessageApi that paces
 * itself, waits out 429s and never sends a message twice.
 */
import axios, { type AxiosResponse } from 'axios';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import type { LocalMessage } from '../../../src/local-platform/routes/messages.js';
import { SynapseError } from '../../../src/synapse/errors.js';
import { FileApi } from '../../../src/synapse/files.js';
import type { SynapseHttp } from '../../../src/synapse/http.js';
import { MessageApi } from '../../../src/synapse/messages.js';
import type {
  BatchFileResult,
  FileHandle,
  MessageToUser,
  PaginatedResults,
  Team,
} from '../../../src/synapse/types.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';

const ERROR_RESPONSE = 'org.sagebionetworks.repo.model.ErrorResponse';

function post(t: TestPlatform, token: string, body: unknown): Promise<AxiosResponse> {
  return axios.post(`${t.platform.url}/repo/v1/message`, body, {
    headers: { Authorization: `Bearer ${token}` },
    validateStatus: () => true,
  });
}

function expectSynapseError(response: AxiosResponse, status: number, reason: string): void {
  expect(response.status).toBe(status);
  expect(response.data).toEqual({ concreteType: ERROR_RESPONSE, reason });
}

async function localMessages(t: TestPlatform): Promise<LocalMessage[]> {
  const response = await axios.get<LocalMessage[]>(`${t.platform.url}/__local/messages`, {
    headers: { Authorization: `Bearer ${t.platform.adminToken}` },
  });
  return response.data;
}

describe('POST /message and the outbox', () => {
  let t: TestPlatform;
  let alice: SeededUser;
  let bob: SeededUser;
  let team: Team;
  let body: FileHandle;

  beforeAll(async () => {
    t = await startTestPlatform();
    alice = await t.admin.createUser({ userName: 'alice' });
    bob = await t.admin.createUser({ userName: 'bob' });
    team = await t.admin.createTeam('Solvers', [bob.ownerId]);
    body = await new FileApi(t.http()).uploadText('Your submission was scored.', { fileName: 'body.txt' });
  });
  afterAll(() => t.close());

  it('201 MessageToUser to users and teams; the admin view decodes the body', async () => {
    const response = await post(t, t.orchestrator.token, {
      recipients: [alice.ownerId, team.id],
      subject: 'Scored',
      fileHandleId: body.id,
    });
    expect(response.status).toBe(201);
    const message = response.data as MessageToUser;
    expect(message).toMatchObject({
      createdBy: t.orchestrator.ownerId,
      fileHandleId: body.id,
      recipients: [alice.ownerId, team.id],
      subject: 'Scored',
    });
    expect(message.id).toMatch(/^\d+$/);
    expect(message.createdOn).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const seen = (await localMessages(t)).find((m) => m.id === message.id);
    expect(seen).toMatchObject({ body: 'Your submission was scored.', recipientNames: ['alice', 'Solvers'] });
  });

  it('400 for missing, too many or unknown recipients', async () => {
    const send = (recipients: unknown) =>
      post(t, t.orchestrator.token, { recipients, subject: 's', fileHandleId: body.id });
    expectSynapseError(await send(undefined), 400, 'recipients must be set.');
    expectSynapseError(await send([]), 400, 'recipients must be set.');
    const many = Array.from({ length: 51 }, (_, i) => String(4_000_000 + i));
    expectSynapseError(
      await send(many),
      400,
      'May not message more than 50 at once.  Consider grouping the recipients in a Team if possible.',
    );
    expectSynapseError(
      await send([alice.ownerId, '111', '222']),
      400,
      'One or more of the following IDs are not recognized: [111, 222]',
    );
  });

  it("403 for a file handle the sender did not create, or one that doesn't exist", async () => {
    const unsent = await new FileApi(t.http()).uploadText('Not sent to anyone.', { fileName: 'draft.txt' });
    const send = (fileHandleId: string) =>
      post(t, alice.token, { recipients: [bob.ownerId], subject: 's', fileHandleId });
    expectSynapseError(await send(unsent.id), 403, 'Invalid file handle given');
    expectSynapseError(await send('999999999'), 403, 'Invalid file handle given');
    // A body Alice received may be forwarded, as on Synapse.
    expect((await send(body.id)).status).toBe(201);
  });

  it('the outbox lists the caller’s sent messages newest first, with Synapse’s total estimate', async () => {
    const carol = await t.admin.createUser({ userName: 'carol' });
    const carolFiles = new FileApi(t.http(carol.token));
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) {
      const handle = await carolFiles.uploadText(`note ${i}`, { fileName: `note-${i}.txt` });
      const response = await post(t, carol.token, {
        recipients: [alice.ownerId],
        subject: `n${i}`,
        fileHandleId: handle.id,
      });
      sent.push((response.data as MessageToUser).id);
    }
    const outbox = (query: Record<string, number>) =>
      t.http(carol.token).request<PaginatedResults<MessageToUser>>({
        api: 'repo',
        method: 'GET',
        path: '/message/outbox',
        query,
      });
    const full = await outbox({ limit: 2, offset: 0 });
    expect(full.results.map((m) => m.id)).toEqual([sent[2], sent[1]]);
    expect(full.totalNumberOfResults).toBe(3);
    const last = await outbox({ limit: 2, offset: 2 });
    expect(last.results.map((m) => m.id)).toEqual([sent[0]]);
    expect(last.totalNumberOfResults).toBe(3);
  });

  it('recipients (and the sender) get the body through MessageAttachment; others do not', async () => {
    const response = await post(t, t.orchestrator.token, {
      recipients: [team.id],
      subject: 'to the team',
      fileHandleId: body.id,
    });
    const message = response.data as MessageToUser;
    const item = {
      fileHandleId: body.id,
      associateObjectId: message.id,
      associateObjectType: 'MessageAttachment',
    };
    const asker = (token: string) =>
      t
        .http(token)
        .request<BatchFileResult>({
          api: 'file',
          method: 'POST',
          path: '/fileHandle/batch',
          body: { requestedFiles: [item], includePreSignedURLs: true },
        })
        .then((r) => r.requestedFiles[0]);
    expect((await asker(bob.token))?.preSignedURL).toMatch(/\/s3\/download\//);
    expect((await asker(t.orchestrator.token))?.preSignedURL).toMatch(/\/s3\/download\//);
    expect((await asker(alice.token))?.failureCode).toBe('UNAUTHORIZED');
  });

  it('the 11th message within the window gets 429 with a bare body and the exact reason', async () => {
    const dave = await t.admin.createUser({ userName: 'dave' });
    const handle = await new FileApi(t.http(dave.token)).uploadText('hi', { fileName: 'hi.txt' });
    for (let i = 0; i < 10; i++) {
      const ok = await post(t, dave.token, {
        recipients: [alice.ownerId],
        subject: `${i}`,
        fileHandleId: handle.id,
      });
      expect(ok.status).toBe(201);
    }
    const throttled = await post(t, dave.token, {
      recipients: [alice.ownerId],
      subject: '11',
      fileHandleId: handle.id,
    });
    expect(throttled.status).toBe(429);
    expect(throttled.data).toEqual({
      reason: 'Please slow down.  You may send a maximum of 10 message(s) every 60 second(s)',
    });
  });
});

describe('MessageApi', () => {
  let t: TestPlatform;
  let alice: SeededUser;
  let http: SynapseHttp;

  beforeAll(async () => {
    t = await startTestPlatform({ messageLimit: { count: 3, windowMs: 300 } });
    alice = await t.admin.createUser({ userName: 'alice' });
  });
  afterAll(() => t.close());

  function messageApi(): MessageApi {
    http = t.http();
    return new MessageApi(http, new FileApi(http), { limit: 3, windowMs: 300 });
  }

  async function delivered(subjectPrefix: string): Promise<LocalMessage[]> {
    return (await localMessages(t)).filter((m) => m.subject?.startsWith(subjectPrefix));
  }

  it('paces 12 messages to the limit and delivers each exactly once', async () => {
    const api = messageApi();
    const started = Date.now();
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api.send({ recipients: [alice.ownerId], subject: `paced ${i}`, body: `body ${i}` }),
      ),
    );
    // 12 messages at 3 per 300 ms need at least three full windows.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const messages = await delivered('paced ');
    expect(messages).toHaveLength(12);
    expect(new Set(messages.map((m) => m.subject)).size).toBe(12);
    expect(new Set(sent.map((m) => m.id)).size).toBe(12);
    for (const message of messages) expect(message.body).toBe(`body ${message.subject?.slice(6) ?? ''}`);
  });

  it('waits out a 429 storm without losing or duplicating a message', async () => {
    await t.admin.addFault({ method: 'POST', path: '^/repo/v1/message$', status: 429, rate: 1, times: 5 });
    try {
      const api = messageApi();
      const sent = await Promise.all(
        [0, 1].map((i) => api.send({ recipients: [alice.ownerId], subject: `storm ${i}`, body: 'b' })),
      );
      expect(sent).toHaveLength(2);
      expect((await t.admin.faults())[0]?.hits).toBe(5);
      expect((await delivered('storm ')).map((m) => m.subject).sort()).toEqual(['storm 0', 'storm 1']);
    } finally {
      await t.admin.clearFaults();
    }
  });

  it('after a 5xx for a message the server did create, it finds it in the outbox instead of re-sending', async () => {
    const api = messageApi();
    const original = http.request.bind(http);
    let failedOnce = false;
    vi.spyOn(http, 'request').mockImplementation(
      async <T>(request: Parameters<SynapseHttp['request']>[0]) => {
        const answer = await original<T>(request);
        if (request.method === 'POST' && request.path === '/message' && !failedOnce) {
          failedOnce = true;
          // The message exists, but the answer is lost on the way back.
          throw new SynapseError({
            status: 502,
            reason: 'Bad Gateway',
            method: 'POST',
            path: '/repo/v1/message',
          });
        }
        return answer;
      },
    );
    const message = await api.send({ recipients: [alice.ownerId], subject: 'lost answer', body: 'once' });
    vi.restoreAllMocks();
    expect(failedOnce).toBe(true);
    const messages = await delivered('lost answer');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.id).toBe(message.id);
  });

  it('re-sends after a 5xx that happened before the server created anything', async () => {
    await t.admin.addFault({ method: 'POST', path: '^/repo/v1/message$', status: 503, times: 2 });
    try {
      const message = await messageApi().send({ recipients: [alice.ownerId], subject: 'retried', body: 'b' });
      expect((await delivered('retried')).map((m) => m.id)).toEqual([message.id]);
    } finally {
      await t.admin.clearFaults();
    }
  });

  it('does not retry a 400', async () => {
    await expect(
      messageApi().send({ recipients: ['123'], subject: 'nobody', body: 'b' }),
    ).rejects.toMatchObject({
      status: 400,
    });
  });
});
