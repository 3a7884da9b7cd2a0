/**
 * The status HTTP server one daemon owns (STATUS_PORT on STATUS_BIND_ADDRESS; 0 turns it off):
 *
 *   GET /healthz      200 while the loop ticks (loop-health.ts), 503 with the reason when it does not
 *   GET /readyz       200 when the platform and the engine answer (readiness.ts), 503 naming which does not
 *   GET /metrics      Prometheus text format (observability/metrics.ts)
 *   GET /status.json  what runs here, draining, what waits (report.ts)
 *   GET /             the status page (page.ts)
 *
 * Every answer is built from what the daemon hands over through `StatusSource`: nothing here reads the
 * configuration's secrets, every body still goes through the redactor, and nothing a request sends
 * changes anything (the server is read-only: other methods get 404/405).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { redactText } from '../logging/redact.js';
import { httpUrl, type StatusServerSettings } from './address.js';
import type { LoopHealth } from './loop-health.js';
import { renderStatusPage } from './page.js';
import type { Readiness } from './readiness.js';
import type { StatusReport } from './report.js';

/** What the routes show, provided by the daemon. */
export interface StatusSource {
  health(): LoopHealth & { orchestratorId: string; draining?: string };
  readiness(): Promise<Readiness>;
  status(): StatusReport;
  metrics(): Promise<{ contentType: string; body: string }>;
}

export interface StatusServer {
  /** The URL the server answers on (a bound address of 0.0.0.0 shown as is). */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface StatusServerOptions extends StatusServerSettings {
  /** When the port is taken, listen on any free one instead (the interactive demo and `try`). */
  anyPortIfTaken?: boolean;
}

/** Why the server could not start, in the operator's terms (the variables to change). */
export class StatusServerError extends Error {}

function listenError(error: unknown, settings: StatusServerSettings): Error {
  const code = (error as { code?: string }).code;
  const where = `${settings.bindAddress}:${settings.port}`;
  if (code === 'EADDRINUSE') {
    return new StatusServerError(
      `The status server cannot listen on ${where}: STATUS_PORT ${settings.port} is already in use ` +
        '(another orchestrator instance on this host?). Set STATUS_PORT to a free port, or to 0 to turn the status server off.',
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new StatusServerError(
      `The status server cannot listen on ${where}: STATUS_BIND_ADDRESS ${settings.bindAddress} is not an address of this machine. ` +
        'Use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).',
    );
  }
  if (code === 'EACCES') {
    return new StatusServerError(
      `The status server cannot listen on ${where}: STATUS_PORT ${settings.port} needs privileges this process does not have. ` +
        'Use a port above 1023, or 0 to turn the status server off.',
    );
  }
  return new StatusServerError(
    `The status server cannot listen on ${where} (STATUS_PORT, STATUS_BIND_ADDRESS): ${(error as Error).message}`,
  );
}

function registerRoutes(app: FastifyInstance, source: StatusSource): void {
  // The last net: no body leaves with a registered secret in it.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return typeof payload === 'string' ? redactText(payload) : payload;
  });
  app.get('/healthz', async (_request, reply) => {
    const health = source.health();
    return reply
      .code(health.healthy ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: health.healthy ? 'ok' : 'unhealthy', ...health });
  });
  app.get('/readyz', async (_request, reply) => {
    const readiness = await source.readiness();
    return reply
      .code(readiness.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: readiness.ready ? 'ready' : 'not ready', ...readiness });
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await source.metrics();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
  app.get('/status.json', async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send(source.status());
  });
  app.get('/', async (_request, reply) => {
    const page = renderStatusPage(source.status());
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', page.contentSecurityPolicy)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(page.html);
  });
}

export async function startStatusServer(
  options: StatusServerOptions,
  source: StatusSource,
): Promise<StatusServer> {
  const build = () => {
    const app = Fastify({ logger: false, forceCloseConnections: true });
    registerRoutes(app, source);
    return app;
  };
  let app = build();
  let port = options.port;
  try {
    await app.listen({ host: options.bindAddress, port });
  } catch (error) {
    await app.close();
    const taken = (error as { code?: string }).code === 'EADDRINUSE';
    if (!(taken && options.anyPortIfTaken === true)) throw listenError(error, options);
    app = build();
    await app.listen({ host: options.bindAddress, port: 0 });
  }
  const address = app.server.address();
  if (address !== null && typeof address === 'object') port = address.port;
  return {
    url: httpUrl(options.bindAddress, port),
    port,
    close: () => app.close(),
  };
}
