/**
 * The fake object store's own listener. Presigned URLs point here, at a port of their own beside the
 * Synapse server's, so a client treats them as the foreign storage they stand for: synapseclient sends its
 * bearer token to every URL on the repository's host and port, and S3 refuses a presigned request that
 * carries an Authorization header (as this store does, with S3's 400).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { PlatformContext } from './context.js';
import { PlatformError } from './errors.js';
import { applyFault, configureErrors, configureRawBodies, pathOf, urlOfAddress } from './http-common.js';
import { registerObjectStoreRoutes } from './routes/object-store.js';

export interface ObjectStoreListener {
  /** e.g. http://127.0.0.1:41235 (the presigned URLs' origin). */
  url: string;
  close(): Promise<void>;
}

export async function startObjectStore(
  context: PlatformContext,
  options: { host: string; port: number },
): Promise<ObjectStoreListener> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  configureRawBodies(app);
  configureErrors(app);
  app.addHook('onRequest', async (request, reply) => {
    if (await applyFault(context.faults, request, reply)) return reply;
    if (!pathOf(request).startsWith('/s3/')) return;
    if (request.headers.authorization !== undefined) {
      throw new PlatformError(
        400,
        'Only one auth mechanism allowed; a presigned URL must not carry an Authorization header.',
      );
    }
  });
  registerObjectStoreRoutes(app, context);
  const address = await app.listen({ host: options.host, port: options.port });
  return {
    url: urlOfAddress(address),
    close: () => app.close(),
  };
}
