/**
 * Local platform routes: the fake S3 behind presigned URLs (/s3/...), on the object store's own listener
 * (object-store-server.ts, which refuses an Authorization header). No Synapse token here: the URL's
 * signature is the credential. Parts and downloads are
 * streamed between the socket and the blob directory, so a part's size never shows up in memory.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline as pipeStreams, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply } from 'fastify';
import type { RouteModule } from '../context.js';
import { blobNameOf } from '../files.js';
import { checkPresigned, type PresignedQuery } from '../presign.js';
import { s3Error } from '../s3-errors.js';

/** The blob holding what the object store received for one part of an upload. */
export const partBlobName = (uploadId: string, partNumber: number) => `upload-${uploadId}-part-${partNumber}`;

function refusePresigned(reply: FastifyReply, verdict: 'expired' | 'bad signature'): FastifyReply {
  return verdict === 'expired'
    ? s3Error(reply, 403, 'AccessDenied', 'Request has expired')
    : s3Error(
        reply,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
}

/** The request body as a stream, whichever parser fastify picked for its content type. */
function bodyStream(body: unknown): Readable | undefined {
  if (body instanceof Readable) return body;
  if (Buffer.isBuffer(body)) return Readable.from([body]);
  if (typeof body === 'string') return Readable.from([Buffer.from(body)]);
  if (body === undefined || body === null) return Readable.from([]);
  return undefined;
}

/** Passes bytes through while computing their MD5 and count. */
class Md5Counter extends Transform {
  private readonly hash = createHash('md5');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Passes only `length` bytes starting at `start` (a resumed or partial download). */
class ByteSlice extends Transform {
  private skip: number;
  private remaining: number;

  constructor(start: number, length: number) {
    super();
    this.skip = start;
    this.remaining = length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const from = Math.min(this.skip, chunk.length);
    this.skip -= from;
    const piece = chunk.subarray(from, from + this.remaining);
    this.remaining -= piece.length;
    callback(null, piece.length > 0 ? piece : undefined);
  }
}

/** The byte range asked for by `Range: bytes=N-` or `bytes=N-M`, if any; other forms are ignored. */
function requestedRange(header: string | undefined): { start: number; end?: number } | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  return match[2] === '' || match[2] === undefined ? { start } : { start, end: Number(match[2]) };
}

/** attachment; filename="…" with a UTF-8 form for names that are not plain ASCII (RFC 6266). */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export const registerObjectStoreRoutes: RouteModule = (app, context) => {
  const { store } = context;

  app.put<{ Params: { uploadId: string; partNumber: string }; Querystring: PresignedQuery }>(
    '/s3/upload/:uploadId/:partNumber',
    async (request, reply) => {
      const { uploadId } = request.params;
      const partNumber = Number(request.params.partNumber);
      const verdict = checkPresigned(
        context,
        `/s3/upload/${uploadId}/${request.params.partNumber}`,
        request.query,
      );
      if (verdict !== 'ok') return refusePresigned(reply, verdict);
      const upload = store.state.uploads[uploadId];
      if (upload === undefined || upload.state === 'COMPLETED') {
        return s3Error(reply, 404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      }
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > upload.numberOfParts) {
        return s3Error(
          reply,
          400,
          'InvalidArgument',
          `Part number must be between 1 and ${upload.numberOfParts}.`,
        );
      }
      const source = bodyStream(request.body);
      if (source === undefined)
        return s3Error(reply, 400, 'InvalidRequest', 'The part body is not raw bytes.');

      const temporary = store.temporaryBlobPath();
      const counter = new Md5Counter();
      try {
        await pipeline(source, counter, createWriteStream(temporary));
      } catch (error) {
        rmSync(temporary, { force: true });
        throw error;
      }
      const md5 = counter.digest();
      store.adoptBlob(partBlobName(uploadId, partNumber), temporary);
      store.change((state) => {
        const current = state.uploads[uploadId];
        if (current === undefined) {
          // Restarted while the part was arriving.
          store.deleteBlob(partBlobName(uploadId, partNumber));
          return;
        }
        current.received[String(partNumber)] = md5;
        // New bytes for a part must be added again before they count.
        current.added = current.added.filter((n) => n !== partNumber);
        current.updatedOn = new Date().toISOString();
      });
      return reply.code(200).header('ETag', `"${md5}"`).send();
    },
  );

  app.get<{ Params: { fileHandleId: string }; Querystring: PresignedQuery }>(
    '/s3/download/:fileHandleId',
    (request, reply) => {
      const { fileHandleId } = request.params;
      const verdict = checkPresigned(context, `/s3/download/${fileHandleId}`, request.query);
      if (verdict !== 'ok') return refusePresigned(reply, verdict);
      const handle = store.state.fileHandles[fileHandleId];
      const blob = blobNameOf(fileHandleId);
      if (handle === undefined || !store.hasBlob(blob)) {
        return s3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
      }
      const size = store.blobSize(blob);
      void reply
        .header('Content-Type', handle.contentType ?? 'application/octet-stream')
        .header('Accept-Ranges', 'bytes')
        .header('ETag', `"${handle.contentMd5 ?? ''}"`)
        // Synapse's presigned URLs ask S3 for this header, which clients use to name the file.
        .header('Content-Disposition', contentDisposition(handle.fileName));
      const range = requestedRange(request.headers.range);
      if (range === undefined) {
        return reply.code(200).header('Content-Length', String(size)).send(store.streamBlob(blob));
      }
      const end = Math.min(range.end ?? size - 1, size - 1);
      if (range.start >= size || end < range.start) {
        void reply.header('Content-Range', `bytes */${size}`);
        return s3Error(reply, 416, 'InvalidRange', 'The requested range is not satisfiable');
      }
      const length = end - range.start + 1;
      // The callback form passes a read error on to the reply's stream, which then aborts the response.
      const slice = pipeStreams(store.streamBlob(blob), new ByteSlice(range.start, length), () => undefined);
      return reply
        .code(206)
        .header('Content-Length', String(length))
        .header('Content-Range', `bytes ${range.start}-${end}/${size}`)
        .send(slice);
    },
  );
};
