/** WesClient against a WES server on 127.0.0.1: paging, retries, errors, timeouts, ranged log reads. */
import { afterEach, describe, expect, it } from 'vitest';
import { WesClient, WesError, type WesRetry } from '../../../../src/engine/wes/client.js';
import { freePort } from '../../../support/ports.js';
import {
  FakeWes,
  sendError,
  sendJson,
  sendText,
  serve,
  WES_PATH,
  type FakeWesOptions,
  type Served,
} from './fake-wes.js';

/** Quick retries: a few attempts, milliseconds apart. */
const QUICK: Partial<WesRetry> = {
  maxAttempts: 3,
  initialDelayMs: 10,
  maxDelayMs: 20,
  requestTimeoutMs: 2_000,
};

/** Servers to stop after each test. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function startFake(options: FakeWesOptions = {}): Promise<FakeWes> {
  const fake = await FakeWes.start(options);
  closers.push(() => fake.stop());
  return fake;
}

/** A bare server; `handler` gets the path below the WES endpoint. */
async function scripted(
  handler: (path: string, ...rest: Parameters<Parameters<typeof serve>[0]>) => void,
): Promise<{ served: Served; client: WesClient }> {
  const served = await serve((req, res, body) => {
    handler((req.url ?? '').slice(WES_PATH.length), req, res, body);
  });
  closers.push(() => served.close());
  return { served, client: new WesClient(`${served.origin}${WES_PATH}/`, QUICK) };
}

async function failure(promise: Promise<unknown>): Promise<WesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WesError);
  return error as WesError;
}

describe('WesClient.listRuns', () => {
  it('follows next_page_token across pages of a WES 1.0 `runs` list', async () => {
    const fake = await startFake({ listStyle: 'wes', pageSize: 2 });
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5'])
      fake.add(id, { state: id === 'r3' ? 'COMPLETE' : 'RUNNING' });
    const runs = await new WesClient(fake.endpoint, QUICK).listRuns();
    expect(runs).toEqual([
      { run_id: 'r1', state: 'RUNNING' },
      { run_id: 'r2', state: 'RUNNING' },
      { run_id: 'r3', state: 'COMPLETE' },
      { run_id: 'r4', state: 'RUNNING' },
      { run_id: 'r5', state: 'RUNNING' },
    ]);
    expect(fake.requests.map((r) => r.url)).toEqual([
      `${WES_PATH}/runs`,
      `${WES_PATH}/runs?page_token=2`,
      `${WES_PATH}/runs?page_token=4`,
    ]);
  });

  it("reads Toil's `workflows` list in one request", async () => {
    const fake = await startFake();
    fake.add('a1', { state: 'QUEUED' });
    fake.add('a2', { state: 'EXECUTOR_ERROR' });
    const runs = await new WesClient(fake.endpoint, QUICK).listRuns();
    expect(runs).toEqual([
      { run_id: 'a1', state: 'QUEUED' },
      { run_id: 'a2', state: 'EXECUTOR_ERROR' },
    ]);
    expect(fake.requests).toHaveLength(1);
  });

  it('stops on a token it was given before, and lists each run once', async () => {
    // A server that ignores page_token and always answers the same page and the same token.
    const { served, client } = await scripted((_path, _req, res) => {
      sendJson(res, 200, {
        runs: [
          { run_id: 'x1', state: 'RUNNING' },
          { run_id: 'x2', state: 'COMPLETE' },
        ],
        next_page_token: 'again',
      });
    });
    expect(await client.listRuns()).toEqual([
      { run_id: 'x1', state: 'RUNNING' },
      { run_id: 'x2', state: 'COMPLETE' },
    ]);
    expect(served.requests.map((r) => r.url)).toEqual([
      `${WES_PATH}/runs`,
      `${WES_PATH}/runs?page_token=again`,
    ]);
  });

  it('stops on an empty page, and gives runs without a state as UNKNOWN', async () => {
    const { served, client } = await scripted((path, _req, res) => {
      if (path === '/runs')
        sendJson(res, 200, { runs: [{ run_id: 'y1' }, { state: 'RUNNING' }], next_page_token: 'p2' });
      else sendJson(res, 200, { runs: [], next_page_token: 'p3' });
    });
    expect(await client.listRuns()).toEqual([{ run_id: 'y1', state: 'UNKNOWN' }]);
    expect(served.requests).toHaveLength(2);
  });
});

describe('WesClient retries and errors', () => {
  it('retries a GET that met a 503, and gets the answer', async () => {
    let calls = 0;
    const { served, client } = await scripted((_path, _req, res) => {
      calls++;
      if (calls <= 2) sendError(res, 503, 'Service Unavailable');
      else sendJson(res, 200, { run_id: 'r1', state: 'RUNNING' });
    });
    expect(await client.status('r1')).toBe('RUNNING');
    expect(served.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET ${WES_PATH}/runs/r1/status`,
      `GET ${WES_PATH}/runs/r1/status`,
      `GET ${WES_PATH}/runs/r1/status`,
    ]);
  });

  it('gives up after maxAttempts, with an error that says the server is unavailable', async () => {
    const { served, client } = await scripted((_path, _req, res) => {
      sendError(res, 503, 'Service Unavailable');
    });
    const error = await failure(client.runLog('r1'));
    expect(served.requests).toHaveLength(3);
    expect(error.status).toBe(503);
    expect(error.unavailable).toBe(true);
    expect(error.message).toContain('503');
  });

  it('sends POST /runs once only, even on a 503, and says what failed', async () => {
    const { served, client } = await scripted((_path, _req, res) => {
      sendError(res, 503, 'The server is restarting');
    });
    const form = new FormData();
    form.append('workflow_url', 'main.cwl');
    const error = await failure(client.createRun(form));
    expect(served.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${WES_PATH}/runs`]);
    expect(error.status).toBe(503);
    expect(error.unavailable).toBe(true);
    expect(error.message).toMatch(/POST \/runs with 503: The server is restarting/);
  });

  it('takes a run created by POST /runs, and refuses an answer without run_id', async () => {
    let answer: unknown = { run_id: 'run-7' };
    const { client } = await scripted((_path, _req, res) => {
      sendJson(res, 200, answer);
    });
    expect(await client.createRun(new FormData())).toBe('run-7');
    answer = {};
    const error = await failure(client.createRun(new FormData()));
    expect(error.message).toContain('without a run_id');
  });

  it("gives a 404 as status 404 with the server's msg, at once", async () => {
    const fake = await startFake();
    const error = await failure(new WesClient(fake.endpoint, QUICK).runLog('run-none'));
    expect(error.status).toBe(404);
    expect(error.unavailable).toBe(false);
    expect(error.message).toContain('GET /runs/run-none with 404: Run run-none not found.');
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a 403 (cancel of a failed run)', async () => {
    const fake = await startFake();
    fake.add('failed', { state: 'EXECUTOR_ERROR' });
    const error = await failure(new WesClient(fake.endpoint, QUICK).cancel('failed'));
    expect(error.status).toBe(403);
    expect(error.unavailable).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it('says so when the answer is not JSON (an HTML error page, a proxy)', async () => {
    const { client } = await scripted((_path, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>hello</html>');
    });
    const error = await failure(client.serviceInfo());
    expect(error.message).toContain('not JSON');
  });

  it('gives a refused connection as unavailable, naming the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}${WES_PATH}`;
    const error = await failure(new WesClient(endpoint, QUICK).serviceInfo());
    expect(error.status).toBeUndefined();
    expect(error.unavailable).toBe(true);
    expect(error.message).toContain(endpoint);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that never answers after requestTimeoutMs, as unavailable', async () => {
    const { served } = await scripted(() => {
      // never answers
    });
    const client = new WesClient(`${served.origin}${WES_PATH}`, {
      maxAttempts: 2,
      initialDelayMs: 10,
      maxDelayMs: 10,
      requestTimeoutMs: 200,
    });
    const started = Date.now();
    const error = await failure(client.status('r1'));
    const elapsed = Date.now() - started;
    expect(error.status).toBeUndefined();
    expect(error.unavailable).toBe(true);
    expect(error.message).toContain('timed out');
    expect(served.requests).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(2_000);
  });
});

describe('WesClient.textFrom', () => {
  const TEXT = 'line one\nline two\nline three\n';

  it('asks a server that honours Range for the rest only (206)', async () => {
    const { served, client } = await scripted((_path, req, res) => {
      sendText(req, res, TEXT, true);
    });
    const url = new URL(`${served.origin}/toil/wes/v1/logs/r1/stderr`);
    const first = await client.textFrom(url, 0);
    expect(first).toEqual({ text: Buffer.from(TEXT), next: TEXT.length });
    const rest = await client.textFrom(url, 9);
    expect(rest).toEqual({ text: Buffer.from('line two\nline three\n'), next: TEXT.length });
    expect(served.requests.map((r) => r.range)).toEqual([undefined, 'bytes=9-']);
  });

  it('slices the answer of a server that ignores Range (200)', async () => {
    const { served, client } = await scripted((_path, req, res) => {
      sendText(req, res, TEXT, false);
    });
    const url = new URL(`${served.origin}/toil/wes/v1/logs/r1/stderr`);
    expect(await client.textFrom(url, 18)).toEqual({ text: Buffer.from('line three\n'), next: TEXT.length });
    expect(await client.textFrom(url, TEXT.length)).toEqual({ text: Buffer.alloc(0), next: TEXT.length });
    expect(await client.textFrom(url, 100)).toEqual({ text: Buffer.alloc(0), next: 100 });
  });

  it('reads 416 (nothing past the end yet) and 404 (no log yet) as empty', async () => {
    const { served, client } = await scripted((path, req, res) => {
      if (path.includes('missing')) sendError(res, 404, 'no log');
      else sendText(req, res, TEXT, true);
    });
    const url = new URL(`${served.origin}/toil/wes/v1/logs/r1/stderr`);
    expect(await client.textFrom(url, TEXT.length)).toEqual({ text: Buffer.alloc(0), next: TEXT.length });
    const missing = new URL(`${served.origin}${WES_PATH}/missing`);
    expect(await client.textFrom(missing, 5)).toEqual({ text: Buffer.alloc(0), next: 5 });
  });

  it('retries a 503 of a log URL', async () => {
    let calls = 0;
    const { served, client } = await scripted((_path, req, res) => {
      if (++calls === 1) sendError(res, 503, 'busy');
      else sendText(req, res, TEXT, true);
    });
    const url = new URL(`${served.origin}/toil/wes/v1/logs/r1/stdout`);
    expect((await client.textFrom(url, 0)).text.toString()).toBe(TEXT);
    expect(served.requests).toHaveLength(2);
  });
});
