/**
 * The fake object store's own listener. Presigned URLs point here, at a port of their own beside the
 * Synapse server's, so a client treats them as the foreign storage they stand for: synapseclient sends its
 * bearer token to every URL on the repository's host and port, and S3 refuses a presigned request that
 * carries an Authorization header (as this store does, with S3's 400).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { PlatformContext } from './context.js';
import { PlatformError } from './errors.js';
import { applyFault, configureRawBodies, pathOf, urlOfAddress } from './http-common.js';
import { registerObjectStoreRoutes } from './routes/object-store.js';
import { s3CodeFor, s3Error } from './s3-errors.js';

const sendS3Error = (reply: FastifyReply, error: PlatformError): FastifyReply =>
  s3Error(reply, error.status, s3CodeFor(error.status), error.message);

/** Every error this listener answers is S3's XML (see s3-errors.ts), never Synapse's JSON. */
function configureS3Errors(app: FastifyInstance): void {
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof PlatformError) return sendS3Error(reply, error);
    const { statusCode, message } = error as { statusCode?: number; message?: string };
    const status = statusCode !== undefined && statusCode < 500 ? statusCode : 500;
    return s3Error(reply, status, s3CodeFor(status), message ?? 'We encountered an internal error.');
  });
  app.setNotFoundHandler((request, reply) =>
    s3Error(
      reply,
      404,
      'NoSuchKey',
      `The specified key does not exist: ${request.method} ${pathOf(request)}`,
    ),
  );
}

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
  configureS3Errors(app);
  app.addHook('onRequest', async (request, reply) => {
    if (await applyFault(context.faults, request, reply, sendS3Error)) return reply;
    if (!pathOf(request).startsWith('/s3/')) return;
    if (request.headers.authorization !== undefined) {
      return s3Error(
        reply,
        400,
        'InvalidArgument',
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
