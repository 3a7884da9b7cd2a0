/**
 * The embedded Synapse-compatible server: Synapse's REST dialect (synapse-rest.md §9) over real HTTP,
 * with a fake object store for presigned uploads and downloads, state persisted in a directory, and
 * administration routes under /__local/ for seeding, inspection and fault injection.
 *
 * Requests to /repo/v1, /file/v1 and /auth/v1 need a known access token (401 otherwise, as Synapse
 * answers an invalid token). /__local/ needs the admin token. The object store (/s3/) listens on a port of
 * its own on the same host (object-store-server.ts), needs no token, and refuses an Authorization header,
 * as S3 would for a presigned URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { PlatformError } from './errors.js';
import { FaultInjector } from './faults.js';
import { applyFault, configureErrors, configureJsonBodies, pathOf, urlOfAddress } from './http-common.js';
import { startObjectStore } from './object-store-server.js';
import { PlatformStore } from './store.js';
import { registerAccessCheckRoutes } from './routes/access-checks.js';
import { registerAclRoutes } from './routes/acl.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerDockerCommitRoutes } from './routes/docker-commits.js';
import { registerEntityRoutes } from './routes/entities.js';
import { registerEntityInfoRoutes } from './routes/entity-info.js';
import { registerEvaluationAdminRoutes } from './routes/evaluation-admin.js';
import { registerEvaluationRoutes } from './routes/evaluations.js';
import { registerFileRoutes } from './routes/files.js';
import { registerMessageRoutes } from './routes/messages.js';
import { registerProfileRoutes } from './routes/profiles.js';
import { registerProvenanceRoutes } from './routes/provenance.js';
import { registerStatusBatchRoutes } from './routes/status-batch.js';
import { registerTeamMemberRoutes } from './routes/team-members.js';
import { registerUploadDestinationRoutes } from './routes/upload-destinations.js';
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
  /** Port of the object store, which listens on the same host; default 0 (any free port). */
  objectStorePort?: number;
  /** Messages allowed per sender per window (Synapse: 10 per 60 s). */
  messageLimit?: { count: number; windowMs: number };
  /** Seed for fault-injection randomness. */
  faultSeed?: number;
}

export interface LocalPlatform {
  /** Base URL, e.g. http://127.0.0.1:41234 (Synapse APIs under /repo/v1, /file/v1, /auth/v1). */
  url: string;
  /** Where the object store behind presigned URLs listens (same host, its own port). */
  objectStoreUrl: string;
  /** Token for /__local/ administration routes. */
  adminToken: string;
  store: PlatformStore;
  faults: FaultInjector;
  close(): Promise<void>;
}

const SYNAPSE_PREFIX = /^\/(repo|file|auth)\/v1(\/|$)/;

const ROUTES: readonly RouteModule[] = [
  registerProfileRoutes,
  registerTeamMemberRoutes,
  registerEvaluationRoutes,
  registerStatusBatchRoutes,
  registerEvaluationAdminRoutes,
  registerEntityRoutes,
  registerEntityInfoRoutes,
  registerProvenanceRoutes,
  registerAclRoutes,
  registerAccessCheckRoutes,
  registerDockerCommitRoutes,
  registerFileRoutes,
  registerUploadDestinationRoutes,
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

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  mkdirSync(options.dataDir, { recursive: true });
  const store = new PlatformStore(options.dataDir);
  const faults = new FaultInjector(options.faultSeed);
  const adminToken = readOrCreateAdminToken(options.dataDir);
  let baseUrl = '';
  let objectStoreUrl = '';

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  app.decorateRequest('principalId', '');
  configureJsonBodies(app);
  configureErrors(app);

  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request);
    if (path.startsWith('/__local/')) {
      if (bearerOf(request) !== adminToken)
        throw new PlatformError(401, 'The local platform admin token is required.');
      return;
    }
    if (await applyFault(faults, request, reply)) return reply;
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

  const context: PlatformContext = {
    store,
    faults,
    adminToken,
    baseUrl: () => baseUrl,
    objectStoreUrl: () => objectStoreUrl,
    messageLimit: options.messageLimit ?? { count: 10, windowMs: 60_000 },
  };
  for (const register of ROUTES) register(app, context);

  const host = options.host ?? '127.0.0.1';
  const objectStore = await startObjectStore(context, { host, port: options.objectStorePort ?? 0 });
  objectStoreUrl = objectStore.url;
  try {
    baseUrl = urlOfAddress(await app.listen({ host, port: options.port ?? 0 }));
  } catch (error) {
    await objectStore.close();
    throw error;
  }
  return {
    url: baseUrl,
    objectStoreUrl,
    adminToken,
    store,
    faults,
    close: async () => {
      await Promise.all([app.close(), objectStore.close()]);
    },
  };
}
