/** The status server's routes over real HTTP, with the daemon replaced by a fixed source. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHealth } from '../../../src/commands/health.js';
import { showStatus } from '../../../src/commands/status.js';
import { registerSecret } from '../../../src/logging/redact.js';
import { connectHost, httpUrl, statusUrl } from '../../../src/status/address.js';
import { buildStatusReport } from '../../../src/status/report.js';
import { startStatusServer, type StatusServer, type StatusSource } from '../../../src/status/server.js';

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function source(healthy: boolean, ready: boolean): StatusSource {
  return {
    health: () =>
      healthy
        ? { healthy: true, state: 'idle', orchestratorId: 'o1' }
        : { healthy: false, state: 'stuck', reason: 'no tick for 90 s', orchestratorId: 'o1' },
    readiness: () =>
      Promise.resolve({
        ready,
        ...(ready ? {} : { reason: 'the engine (unix:///var/run/docker.sock) does not answer: ENOENT' }),
        checks: [],
        checkedAt: new Date(0).toISOString(),
      }),
    status: () =>
      buildStatusReport({
        orchestratorId: 'o1',
        version: '0.0.0',
        now: Date.parse('2026-01-01T10:00:00Z'),
        health: { healthy, state: healthy ? 'idle' : 'stuck' },
        draining: undefined,
        stopping: false,
        maxConcurrent: 2,
        lastTickAt: undefined,
        running: [
          {
            submissionId: '9700001',
            evaluationId: '9600001',
            submitter: {
              userId: '3000007',
              teamId: '3000008',
              alias: '</script><img src=x onerror=alert(1)>',
            },
            state: 'running',
            startedAt: Date.parse('2026-01-01T09:58:00Z'),
            container: 'workflow_job.abc',
          },
        ],
        queues: [{ evaluationId: '9600001', waiting: 3, waitingSeenAt: Date.parse('2026-01-01T09:59:58Z') }],
        outbox: { ready: 1, held: 0 },
      }),
    metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: 'x_total 1\n' }),
  };
}

async function serve(s: StatusSource, port = 0): Promise<StatusServer> {
  const server = await startStatusServer({ port, bindAddress: '127.0.0.1' }, s);
  servers.push(server);
  return server;
}

describe('status server', () => {
  it('answers /healthz and /readyz with 200 when well', async () => {
    const server = await serve(source(true, true));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', state: 'idle', orchestratorId: 'o1' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', ready: true });
  });

  it('answers 503 with the reason when not', async () => {
    const server = await serve(source(false, false));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unhealthy', reason: 'no tick for 90 s' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/the engine .* does not answer/);
  });

  it('names STATUS_PORT when the port is taken, or takes any free port when allowed to', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(serve(source(true, true), port)).rejects.toThrow(
        new RegExp(`STATUS_PORT ${port} is already in use.*Set STATUS_PORT to a free port, or to 0`),
      );
      const other = await startStatusServer(
        { port, bindAddress: '127.0.0.1', anyPortIfTaken: true },
        source(true, true),
      );
      servers.push(other);
      expect(other.port).not.toBe(port);
      expect((await fetch(`${other.url}/healthz`)).status).toBe(200);
    } finally {
      blocker.close();
    }
  });
});

describe('status server data routes', () => {
  it('serves /status.json, /metrics and the page, read-only, with no secret in any body', async () => {
    const secret = 'local-SECRET-token-value-123';
    registerSecret(secret);
    const base = source(true, true);
    const server = await serve({
      ...base,
      metrics: () =>
        Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: `x_total{why="${secret}"} 1\n` }),
    });
    const status = await fetch(`${server.url}/status.json`);
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({
      orchestratorId: 'o1',
      running: [{ submissionId: '9700001', state: 'running', elapsedSeconds: 120 }],
      queues: [{ evaluationId: '9600001', waiting: 3, running: 1 }],
    });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('x_total');
    expect(text).not.toContain(secret);
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('id="initial-status"');
    expect(html).not.toContain('<img');
    expect((await fetch(`${server.url}/status.json`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${server.url}/admin`)).status).toBe(404);
  });
});

describe('health and status commands', () => {
  it('health: one line and ok when healthy; the reason when not; "unreachable" naming the URL', async () => {
    const well = await serve(source(true, true));
    expect(await checkHealth(undefined, { url: well.url, timeout: '2' })).toEqual({
      ok: true,
      line: 'healthy (o1): idle',
    });
    const ill = await serve(source(false, true));
    expect(await checkHealth(undefined, { url: `${ill.url}/`, timeout: '2' })).toEqual({
      ok: false,
      line: 'unhealthy (o1): no tick for 90 s',
    });
    const gone = `http://127.0.0.1:${well.port}`;
    await well.close();
    const result = await checkHealth(undefined, { url: gone, timeout: '2' });
    expect(result.ok).toBe(false);
    // ECONNREFUSED from a new connection; this process's pooled one sees it closed.
    expect(result.line).toMatch(
      new RegExp(
        `^unreachable: no answer from ${gone}/healthz \\(--url\\): (ECONNREFUSED|the connection was closed)`,
      ),
    );
  });

  it('health and status read STATUS_PORT from the env file; 0 means there is nothing to ask', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'status-env-'));
    const server = await serve(source(true, true));
    const env = join(dir, '.env');
    writeFileSync(env, `STATUS_PORT=${server.port}\nSTATUS_BIND_ADDRESS=0.0.0.0\n`);
    expect((await checkHealth(env, { timeout: '2' })).ok).toBe(true);
    const shown = await showStatus(env, { timeout: '2' });
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(
      `Orchestrator o1 (version 0.0.0) at http://127.0.0.1:${server.port}: running`,
    );
    const json = await showStatus(env, { timeout: '2', json: true });
    expect(JSON.parse(json.stdout)).toMatchObject({ orchestratorId: 'o1' });
    writeFileSync(env, 'STATUS_PORT=0\n');
    expect(await checkHealth(env, { timeout: '2' })).toMatchObject({
      ok: false,
      line: expect.stringMatching(/STATUS_PORT=0/) as string,
    });
  });

  it('status: says the instance does not answer, naming the URL and STATUS_PORT, and exits 1', async () => {
    const blocker = await serve(source(true, true));
    const port = blocker.port;
    await blocker.close();
    const env = join(mkdtempSync(join(tmpdir(), 'status-env-')), '.env');
    writeFileSync(env, `STATUS_PORT=${port}\n`);
    const shown = await showStatus(env, { timeout: '2' });
    expect(shown.exitCode).toBe(1);
    expect(shown.stderr).toContain(
      `the orchestrator does not answer at http://127.0.0.1:${port}/status.json (STATUS_PORT=${port})`,
    );
    const json = await showStatus(env, { timeout: '2', json: true });
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, url: `http://127.0.0.1:${port}/status.json` });
  });
});

describe('status address', () => {
  it('connects to the loopback when the server listens on every address', () => {
    expect(connectHost('0.0.0.0')).toBe('127.0.0.1');
    expect(connectHost('::')).toBe('::1');
    expect(connectHost('10.0.0.5')).toBe('10.0.0.5');
    expect(statusUrl({ port: 8484, bindAddress: '0.0.0.0' })).toBe('http://127.0.0.1:8484');
    expect(statusUrl({ port: 8484, bindAddress: '::' })).toBe('http://[::1]:8484');
    expect(httpUrl('fe80::1', 1)).toBe('http://[fe80::1]:1');
  });
});
