/**
 * Malformed platform answers: a proxy's HTML error page (with an error status or with 200), a truncated
 * JSON body, JSON of the wrong shape, one malformed bundle in a queue listing. The real client against the
 * local platform, whose fault rules answer with exactly such bodies. Each must become a clear SynapseError
 * (retried when a second try may well succeed), or, for one bad bundle, that bundle skipped with a log
 * line naming it: never a string or half an object handed on as data, never a TypeError.
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SeededUser } from '../../../src/local-platform/admin-client.js';
import { createLogger } from '../../../src/logging/logger.js';
import { SynapseClient } from '../../../src/synapse/client.js';
import { SynapseError } from '../../../src/synapse/errors.js';
import type { Evaluation, PaginatedResults, SubmissionBundle } from '../../../src/synapse/types.js';
import { PROXY_502_PAGE } from '../../support/hostile.js';
import { FAST_RETRY, startTestPlatform, type TestPlatform } from '../../support/platform.js';

let t: TestPlatform;
let participant: SeededUser;
let queue: Evaluation;
let ids: string[];

/** A client whose log lines (JSON, one per line) are kept in `lines`. */
function clientWithLog(): { client: SynapseClient; lines: Record<string, unknown>[]; retries: string[] } {
  const lines: Record<string, unknown>[] = [];
  const retries: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const client = new SynapseClient({
    endpoint: t.endpoint,
    token: t.orchestrator.token,
    retry: FAST_RETRY,
    retryHooks: { onRetry: (error) => retries.push(error.message) },
    logger: createLogger({ level: 'debug', format: 'json', stream }),
  });
  return { client, lines, retries };
}

/** What the call threw (it must throw). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value: unknown) => {
      throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

beforeAll(async () => {
  t = await startTestPlatform();
  participant = await t.admin.createUser({ userName: 'participant' });
  queue = await t.admin.createEvaluation({
    name: 'Queue',
    ownerId: t.orchestrator.ownerId,
    permissions: { [t.orchestrator.ownerId]: ['READ', 'READ_PRIVATE_SUBMISSION', 'UPDATE_SUBMISSION'] },
  });
  ids = [];
  for (let i = 0; i < 5; i++) {
    const submission = await t.admin.createSubmission({
      evaluationId: queue.id,
      userId: participant.ownerId,
      file: { name: 'p.csv', contentBase64: Buffer.from('id\n1\n').toString('base64') },
    });
    ids.push(submission.id);
  }
});
afterEach(() => t.admin.clearFaults());
afterAll(() => t.close());

const statusPath = (id: string) => `^/repo/v1/evaluation/submission/${id}/status$`;

describe('an HTML error page', () => {
  it("a proxy's 502 page is retried, and reported by what it says, not as raw HTML", async () => {
    const id = ids[0] ?? '';
    await t.admin.addFault({
      method: 'GET',
      path: statusPath(id),
      status: 502,
      body: PROXY_502_PAGE,
      contentType: 'text/html',
      times: 2,
    });
    const { client, retries } = clientWithLog();
    expect((await client.evaluations.getStatus(id)).id).toBe(id);
    expect(retries).toHaveLength(2);
    for (const message of retries) {
      expect(message).toContain('502 Bad Gateway');
      expect(message).toContain('HTML');
      expect(message).not.toMatch(/<|DOCTYPE|nginx/);
    }
  });

  it('the same page answered with 200 is not taken for data: retried, then a clear error', async () => {
    const id = ids[0] ?? '';
    await t.admin.addFault({
      method: 'GET',
      path: statusPath(id),
      body: PROXY_502_PAGE,
      contentType: 'text/html',
      times: 2,
    });
    const { client } = clientWithLog();
    const status = await client.evaluations.getStatus(id);
    expect(status).toMatchObject({ id, status: 'RECEIVED' });
    expect(typeof status.etag).toBe('string');

    await t.admin.addFault({
      method: 'GET',
      path: statusPath(id),
      body: PROXY_502_PAGE,
      contentType: 'text/html',
    });
    const error = await failure(client.evaluations.getStatus(id));
    expect(error).toBeInstanceOf(SynapseError);
    expect((error as SynapseError).message).toMatch(/not JSON/);
    expect((error as SynapseError).message).toContain('502 Bad Gateway');
  });

  it('a truncated JSON body is retried like a dropped connection', async () => {
    const id = ids[0] ?? '';
    await t.admin.addFault({ method: 'GET', path: statusPath(id), body: `{"id":"${id}","etag":"`, times: 1 });
    const { client, retries } = clientWithLog();
    expect((await client.evaluations.getStatus(id)).id).toBe(id);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatch(/not JSON/);
  });
});

describe('JSON of the wrong shape', () => {
  it('a status without an etag, or with a number for its status, is refused with the fields named', async () => {
    const id = ids[0] ?? '';
    await t.admin.addFault({
      method: 'GET',
      path: statusPath(id),
      body: JSON.stringify({ id, status: 42, statusVersion: 1 }),
    });
    const { client, retries } = clientWithLog();
    const error = await failure(client.evaluations.getStatus(id));
    expect(error).toBeInstanceOf(SynapseError);
    const message = (error as SynapseError).message;
    expect(message).toContain(`/evaluation/submission/${id}/status`);
    expect(message).toMatch(/etag/);
    expect(message).toMatch(/status/);
    // The same answer would come back: not retried.
    expect(retries).toEqual([]);
  });

  it('a status answered to a PUT is checked the same way', async () => {
    const id = ids[1] ?? '';
    const { client } = clientWithLog();
    await t.admin.addFault({ method: 'PUT', path: statusPath(id), body: '{"ok":true}', times: 1 });
    const error = await failure(client.evaluations.updateStatus(id, { canCancel: true }));
    expect(error).toBeInstanceOf(SynapseError);
    expect((error as SynapseError).message).toMatch(/etag/);
  });

  it('a listing page without results is a clear error, not a TypeError', async () => {
    await t.admin.addFault({
      method: 'GET',
      path: `^/repo/v1/evaluation/${queue.id}/submission/bundle/all$`,
      body: '{"message":"maintenance"}',
    });
    const { client } = clientWithLog();
    const error = await failure(client.evaluations.bundles(queue.id, 'RECEIVED'));
    expect(error).toBeInstanceOf(SynapseError);
    expect((error as SynapseError).message).toMatch(/results/);
  });
});

describe('one malformed bundle in a listing', () => {
  it('is skipped with a log line naming it and what is wrong; the rest of the queue is listed', async () => {
    const { client, lines } = clientWithLog();
    const real = await client.evaluations.bundles(queue.id, 'RECEIVED');
    expect(real.items.map((b) => b.submission.id)).toEqual(ids);
    const copy = structuredClone(real.items);
    const at = (index: number): SubmissionBundle => {
      const bundle = copy[index];
      if (bundle === undefined) throw new Error(`no bundle #${index}`);
      return bundle;
    };
    const [a, b, c, d, e] = [at(0), at(1), at(2), at(3), at(4)];
    const noUser = { ...b, submission: { ...b.submission, userId: undefined } };
    const noStatus = { submission: c.submission };
    const badAnnotations = {
      ...d,
      submissionStatus: { ...d.submissionStatus, annotations: { stringAnnos: { key: 'x', value: 'y' } } },
    };
    const page: PaginatedResults<unknown> = {
      totalNumberOfResults: 6,
      results: [a, noUser, noStatus, badAnnotations, e, 'not a bundle'],
    };
    await t.admin.addFault({
      method: 'GET',
      path: `^/repo/v1/evaluation/${queue.id}/submission/bundle/all$`,
      query: '(^|&)offset=0(&|$)',
      body: JSON.stringify(page),
    });

    const listed = await client.evaluations.bundles(queue.id, 'RECEIVED');
    expect(listed.items.map((bundle) => bundle.submission.id)).toEqual([a.submission.id, e.submission.id]);

    const skipped = lines.filter((line) => String(line.message).includes('malformed'));
    expect(skipped).toHaveLength(4);
    const text = JSON.stringify(skipped);
    expect(text).toContain(queue.id);
    for (const bundle of [b, c, d]) expect(text).toContain(bundle.submission.id);
    expect(text).toMatch(/userId/);
    expect(text).toMatch(/submissionStatus/);
    expect(text).toMatch(/stringAnnos/);
    for (const line of skipped) expect(line.level).toBe('warn');
  });
});
