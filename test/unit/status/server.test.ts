/** The status server's routes over real HTTP, with the daemon replaced by a fixed source. */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
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
            submitter: { userId: '3000007', teamId: '3000008', alias: '</script><img src=x onerror=alert(1)>' },
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
