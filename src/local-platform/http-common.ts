/**
 * What both of the local platform's listeners (the Synapse server and its object store) do alike: error
 * bodies in Synapse's shape, injected faults, and fastify's body parsing made as lenient as Synapse's
 * (an empty body sent as application/json is no body, not an error).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CONCRETE } from '../synapse/types.js';
import { PlatformError } from './errors.js';
import type { FaultInjector } from './faults.js';

export function sendError(reply: FastifyReply, error: PlatformError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  const body = error.bare
    ? { reason: error.message }
    : { concreteType: CONCRETE.errorResponse, reason: error.message };
  return reply.code(error.status).type('application/json').send(body);
}

export const pathOf = (request: FastifyRequest): string => request.url.split('?')[0] ?? '';

/** The query string without its '?', or '' when there is none. */
const queryOf = (request: FastifyRequest): string => {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
};

/**
 * Applies the fault matching this request, if any: waits, drops the connection, answers with the fault's
 * raw body, or with the fault's status. Returns true when the request was answered (or dropped) here.
 */
export async function applyFault(
  faults: FaultInjector,
  request: FastifyRequest,
  reply: FastifyReply,
  send: (reply: FastifyReply, error: PlatformError) => FastifyReply = sendError,
): Promise<boolean> {
  const fault = faults.match(request.method, pathOf(request), queryOf(request));
  if (fault === undefined) return false;
  if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault.drop === true) {
    request.raw.socket.destroy();
    void reply.hijack();
    return true;
  }
  if (fault.body !== undefined) {
    void reply
      .code(fault.status ?? 200)
      .type(fault.contentType ?? 'application/json')
      .send(fault.body);
    return true;
  }
  if (fault.status !== undefined) {
    const reason = fault.reason ?? `Injected fault: HTTP ${fault.status}`;
    void send(reply, new PlatformError(fault.status, reason, { bare: fault.status === 429 }));
    return true;
  }
  return false;
}

/**
 * Body parsing of the Synapse listener: JSON bodies parsed (an empty one, as synapseclient sends with
 * every add-part, complete and DELETE, is simply absent; fastify would refuse it with
 * FST_ERR_CTP_EMPTY_JSON_BODY), anything else handed to the route as a stream.
 */
export function configureJsonBodies(app: FastifyInstance): void {
  // fastify's own parser (with its prototype-poisoning guards) for every body that has content.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, done);
  });
  app.addContentTypeParser('*', (_request, payload, done) => {
    done(null, payload);
  });
}

/** Body parsing of the object store: whatever the content type, the bytes arrive as a stream. */
export function configureRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => {
    done(null, payload);
  });
}

/** Errors thrown by routes (or by fastify itself) as Synapse's error body; unknown routes as a 404. */
export function configureErrors(app: FastifyInstance): void {
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof PlatformError) return sendError(reply, error);
    const fastifyError = error as { statusCode?: number; message?: string };
    const status =
      fastifyError.statusCode !== undefined && fastifyError.statusCode < 500 ? fastifyError.statusCode : 500;
    return sendError(reply, new PlatformError(status, fastifyError.message ?? 'Internal error'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new PlatformError(404, `No such service: ${request.method} ${pathOf(request)}`)),
  );
}

/** The URL a listener answers at, as clients should be told it. */
export function urlOfAddress(address: string): string {
  return address.replace('[::1]', 'localhost');
}
