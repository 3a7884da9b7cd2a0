/**
 * The embedded Synapse-compatible server: Synapse's REST dialect (synapse-rest.md §9) over real HTTP,
 * with a fake object store for presigned uploads and downloads, state persisted in a directory, and
 * administration routes under /__local/ for seeding, inspection and fault injection.
 *
 * Requests to /repo/v1, /file/v1 and /auth/v1 need a known access token (401 otherwise, as Synapse
 * answers an invalid token). /__local/ needs the admin token. /s3/ needs none, and refuses an
 * Authorization header, as S3 would for a presigned URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CONCRETE } from '../synapse/types.js';
import { PlatformError } from './errors.js';
import { FaultInjector } from './faults.js';
import { PlatformStore } from './store.js';
import { registerAccessCheckRoutes } from './routes/access-checks.js';
import { registerAclRoutes } from './routes/acl.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDockerCommitRoutes } from './routes/docker-commits.js';
import { registerEntityRoutes } from './routes/entities.js';
import { registerEvaluationAdminRoutes } from './routes/evaluation-admin.js';
import { registerEvaluationRoutes } from './routes/evaluations.js';
import { registerFileRoutes } from './routes/files.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerProfileRoutes } from './routes/profiles.js';
import { registerObjectStoreRoutes } from './routes/object-store.js';
import type { PlatformContext, RouteModule } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller on Synapse routes. */
    principalId: string;
  }
}

export interface LocalPlatformOptions {
  /** Directory holding the state; created when missing, reused when it exists. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Messages allowed per sender per window (Synapse: 10 per 60 s). */
  messageLimit?: { count: number; windowMs: number };
  /** Seed for fault-injection randomness. */
  faultSeed?: number;
}

export interface LocalPlatform {
  /** Base URL, e.g. http://127.0.0.1:41234 (Synapse APIs under /repo/v1, /file/v1, /auth/v1). */
  url: string;
  /** Token for /__local/ administration routes. */
  adminToken: string;
  store: PlatformStore;
  faults: FaultInjector;
  close(): Promise<void>;
}

const SYNAPSE_PREFIX = /^\/(repo|file|auth)\/v1(\/|$)/;

const ROUTES: readonly RouteModule[] = [
  registerProfileRoutes,
  registerEvaluationRoutes,
  registerEvaluationAdminRoutes,
  registerEntityRoutes,
  registerAclRoutes,
  registerAccessCheckRoutes,
  registerDockerCommitRoutes,
  registerFileRoutes,
  registerObjectStoreRoutes,
  registerMessageRoutes,
  registerAdminRoutes,
];

function readOrCreateAdminToken(dir: string): string {
  const file = join(dir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `local-admin-${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

function sendError(reply: FastifyReply, error: PlatformError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  const body = error.bare
    ? { reason: error.message }
    : { concreteType: CONCRETE.errorResponse, reason: error.message };
  return reply.code(error.status).type('application/json').send(body);
}

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new PlatformStore(options.dataDir);
  const faults = new FaultInjector(options.faultSeed);
  const adminToken = readOrCreateAdminToken(options.dataDir);
  let baseUrl = '';

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  app.decorateRequest('principalId', '');
  // Anything that is not JSON (part uploads to the fake S3) arrives as a stream, for the route to store.
  app.addContentTypeParser('*', (_request, payload, done) => {
    done(null, payload);
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/__local/')) {
      if (bearerOf(request) !== adminToken)
        throw new PlatformError(401, 'The local platform admin token is required.');
      return;
    }
    const fault = faults.match(request.method, path);
    if (fault !== undefined) {
      if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.drop === true) {
        request.raw.socket.destroy();
        return reply.hijack();
      }
      if (fault.status !== undefined) {
        const reason = fault.reason ?? `Injected fault: HTTP ${fault.status}`;
        return sendError(reply, new PlatformError(fault.status, reason, { bare: fault.status === 429 }));
      }
    }
    if (path.startsWith('/s3/')) {
      if (request.headers.authorization !== undefined) {
        throw new PlatformError(
          400,
          'Only one auth mechanism allowed; a presigned URL must not carry an Authorization header.',
        );
      }
      return;
    }
    if (!SYNAPSE_PREFIX.test(path)) return;
    const token = bearerOf(request);
    const principalId = token === undefined ? undefined : store.state.tokens[token];
    if (principalId === undefined) {
      throw new PlatformError(401, 'Invalid access token', {
        headers: { 'WWW-Authenticate': 'Bearer realm="Synapse Repository Services"' },
      });
    }
    request.principalId = principalId;
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof PlatformError) return sendError(reply, error);
    const fastifyError = error as { statusCode?: number; message?: string };
    const status =
      fastifyError.statusCode !== undefined && fastifyError.statusCode < 500 ? fastifyError.statusCode : 500;
    return sendError(reply, new PlatformError(status, fastifyError.message ?? 'Internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new PlatformError(404, `No such service: ${request.method} ${request.url.split('?')[0] ?? ''}`),
    ),
  );

  const context: PlatformContext = {
    store,
    faults,
    adminToken,
    baseUrl: () => baseUrl,
    messageLimit: options.messageLimit ?? { count: 10, windowMs: 60_000 },
  };
  for (const register of ROUTES) register(app, context);

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  baseUrl = address.replace('[::1]', 'localhost');
  return {
    url: baseUrl,
    adminToken,
    store,
    faults,
    close: async () => {
      await app.close();
    },
  };
}
