/**
 * Downloads with a size cap. URLs (external links, TRS answers) go through SynapseHttp.fetchUrl, which
 * retries network errors and 5xx and never sends the Synapse token; a transfer cut off mid-body starts
 * again a few times. Uploaded Synapse files use the client's own presigned download.
 */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SynapseClient } from '../synapse/client.js';
import { SynapseError } from '../synapse/errors.js';
import { FileAccessError } from '../synapse/files.js';
import type { SynapseHttp } from '../synapse/http.js';
import type { FileHandle } from '../synapse/types.js';
import { TemplateError } from './errors.js';
import { formatBytes } from './limits.js';
import { displayUrl } from './url.js';

/** Whole-body attempts when a transfer breaks off after the response started. */
const BODY_ATTEMPTS = 3;

class SizeExceeded extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

/** Passes bytes on until more than `limit` went through, then fails the pipeline. */
class SizeLimit extends Transform {
  bytes = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new SizeExceeded(this.limit));
      return;
    }
    callback(null, chunk);
  }
}

function tooLarge(entityId: string, what: string, limit: number): TemplateError {
  return new TemplateError(
    entityId,
    'too-large',
    `${what} is larger than the ${formatBytes(limit)} allowed for a template. Make the archive smaller (leave data out of it), or raise the template size limit.`,
  );
}

/** "HTTP 404" or "ECONNREFUSED": what went wrong, without the body (which could echo a URL's signature). */
function failureOf(error: unknown): string {
  if (error instanceof SynapseError) {
    return error.status === undefined ? (error.code ?? 'network error') : `HTTP ${error.status}`;
  }
  if (error instanceof FileAccessError) return `Synapse refused the download: ${error.failureCode}`;
  if (error instanceof Error && error.message.includes('MD5')) return 'the content does not match its MD5';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'the transfer failed';
}

function downloadFailed(entityId: string, what: string, error: unknown): TemplateError {
  return new TemplateError(
    entityId,
    'download',
    `could not download ${what} (${failureOf(error)}). Check that the URL is right and reachable from the orchestrator without logging in.`,
    { cause: error },
  );
}

/**
 * GETs `url` into `dest`, failing with 'too-large' beyond `maxBytes` (announced or counted) and with
 * 'download' when the server cannot be reached or answers with an error. Returns the byte count.
 */
export async function downloadUrl(
  http: SynapseHttp,
  url: string,
  dest: string,
  maxBytes: number,
  entityId: string,
): Promise<number> {
  const shown = displayUrl(url);
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await http.fetchUrl({ method: 'GET', url, responseType: 'stream' });
      const body = response.data as Readable;
      const announced = Number(response.headers['content-length']);
      if (Number.isFinite(announced) && announced > maxBytes) {
        body.destroy();
        throw new SizeExceeded(maxBytes);
      }
      const limit = new SizeLimit(maxBytes);
      await pipeline(body, limit, createWriteStream(dest));
      return limit.bytes;
    } catch (error) {
      await rm(dest, { force: true });
      if (error instanceof SizeExceeded) throw tooLarge(entityId, `The file at ${shown}`, maxBytes);
      // fetchUrl has already retried what it could; only a body cut off mid-way is tried again here.
      if (attempt >= BODY_ATTEMPTS || error instanceof SynapseError) {
        throw downloadFailed(entityId, shown, error);
      }
    }
  }
}

/** Downloads the entity's own uploaded file through a presigned URL, after checking its recorded size. */
export async function downloadSynapseFile(
  client: SynapseClient,
  entityId: string,
  fileHandle: FileHandle,
  dest: string,
  maxBytes: number,
): Promise<number> {
  const what = `the file ${fileHandle.fileName}`;
  if (fileHandle.contentSize !== undefined && fileHandle.contentSize > maxBytes) {
    throw tooLarge(entityId, `The uploaded ${what} (${formatBytes(fileHandle.contentSize)})`, maxBytes);
  }
  try {
    const { url } = await client.files.getDownloadUrl({
      fileHandleId: fileHandle.id,
      associateObjectType: 'FileEntity',
      associateObjectId: entityId,
    });
    await client.files.downloadToFile(url, dest, fileHandle.contentMd5);
  } catch (error) {
    await rm(dest, { force: true });
    throw downloadFailed(entityId, `${what} uploaded to Synapse`, error);
  }
  const { size } = await stat(dest);
  if (size > maxBytes) {
    await rm(dest, { force: true });
    throw tooLarge(entityId, `The uploaded ${what}`, maxBytes);
  }
  return size;
}
