/**
 * The object store's error answers, in S3's own shape: a small XML document with a Code and a Message,
 * not Synapse's JSON ErrorResponse. Every answer from the store's listener takes this shape, refusals by
 * the routes, unknown paths, fastify's own errors and injected faults alike, so a client that reads S3's
 * errors reads all of them.
 */
import type { FastifyReply } from 'fastify';

/** S3's usual code for a status, where a route did not name one. */
const CODE_FOR_STATUS: Record<number, string> = {
  400: 'InvalidRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  405: 'MethodNotAllowed',
  413: 'EntityTooLarge',
  500: 'InternalError',
  503: 'SlowDown',
};

export function s3CodeFor(status: number): string {
  return CODE_FOR_STATUS[status] ?? (status >= 500 ? 'InternalError' : 'InvalidRequest');
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function s3Error(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>\n`;
  return reply.code(status).type('application/xml').send(xml);
}
