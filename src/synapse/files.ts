/**
 * File handles over Synapse's REST API: multipart upload (the only way to upload bytes, synapse-rest.md
 * §5.3), external handles, download URLs (§5.5) and streamed downloads. Uploads read one part at a time
 * from disk, so memory stays at about one part whatever the file's size. Presigned and external URLs go
 * through SynapseHttp.fetchUrl, which never sends the Bearer token.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SynapseError, isSynapseError } from './errors.js';
import type { SynapseHttp } from './http.js';
import {
  CONCRETE,
  type AddPartResponse,
  type BatchFileRequest,
  type BatchFileResult,
  type FileHandle,
  type FileHandleAssociateType,
  type MultipartUploadRequest,
  type MultipartUploadStatus,
  type PartPresignedUrl,
} from './types.js';

const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Rounds of "upload missing parts, then complete" before giving up (the Python client allows 7). */
const COMPLETE_ATTEMPTS = 7;
/** Uploads of one part whose add came back ADD_FAILED before giving up. */
const PART_ATTEMPTS = 3;
/** Read size when hashing a file. */
const HASH_CHUNK = 1024 * 1024;
/** Resumptions of a download interrupted mid-stream. */
const DOWNLOAD_ATTEMPTS = 3;

export interface UploadOptions {
  /** Default: the file's base name. */
  fileName?: string;
  /** Default: application/octet-stream. */
  contentType?: string;
}

export interface FileAssociation {
  fileHandleId: string;
  associateObjectType: FileHandleAssociateType;
  associateObjectId: string;
}

export interface DownloadUrl {
  url: string;
  fileHandle: FileHandle;
}

export interface DownloadResult {
  bytes: number;
  md5: string;
}

/** POST /fileHandle/batch answered with a per-file failure instead of a URL. */
export class FileAccessError extends Error {
  readonly failureCode: 'NOT_FOUND' | 'UNAUTHORIZED';

  constructor(association: FileAssociation, failureCode: 'NOT_FOUND' | 'UNAUTHORIZED') {
    super(
      `Cannot get a download URL for file handle ${association.fileHandleId} of ${association.associateObjectType} ${association.associateObjectId}: ${failureCode}`,
    );
    this.name = 'FileAccessError';
    this.failureCode = failureCode;
  }
}

/** Where an upload's bytes come from: a file on disk or a buffer, read one part at a time. */
interface ByteSource {
  /** For error messages. */
  description: string;
  size: number;
  md5(): Promise<string>;
  /** The bytes at offset; for a file, in one reused buffer, valid until the next read. */
  read(offset: number, length: number): Promise<Buffer>;
}

/**
 * A file read one part at a time into a single buffer, reused for every part: allocating one per part
 * would leave several parts' worth of garbage waiting for the collector.
 */
function fileSource(path: string, size: number): ByteSource {
  let scratch: Buffer | undefined;
  return {
    description: path,
    size,
    async md5() {
      return (await md5OfFile(path)).digest('hex');
    },
    async read(offset, length) {
      if (scratch === undefined || scratch.length < length) scratch = Buffer.allocUnsafe(length);
      const buffer = scratch.subarray(0, length);
      const handle = await open(path, 'r');
      try {
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw new Error(`${path} became shorter while it was being uploaded`);
          filled += bytesRead;
        }
        return buffer;
      } finally {
        await handle.close();
      }
    },
  };
}

async function sizeOnDisk(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * A running MD5 over a file's current bytes (to hash an upload, or to continue hashing after a resumed
 * download). Reads into one buffer: a read stream's fresh chunk per read would pile up as garbage.
 */
async function md5OfFile(path: string): Promise<Hash> {
  const hash = createHash('md5');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) return hash;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

function bufferSource(bytes: Buffer, description: string): ByteSource {
  return {
    description,
    size: bytes.length,
    md5: () => Promise.resolve(createHash('md5').update(bytes).digest('hex')),
    read: (offset, length) => Promise.resolve(bytes.subarray(offset, offset + length)),
  };
}

/** Synapse's recommended part size: at least 5 MiB, and few enough parts (at most 10,000). */
export function partSizeFor(fileSize: number): number {
  return Math.max(MIN_PART_SIZE, Math.ceil(fileSize / MAX_PARTS));
}

/** Hashes bytes on their way to disk. */
class HashingPassThrough extends Transform {
  bytes = 0;

  constructor(private readonly hash: Hash) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

export class FileApi {
  constructor(private readonly http: SynapseHttp) {}

  /** Uploads a file from disk and returns its new (or, for identical earlier uploads, existing) handle. */
  async uploadFile(path: string, options: UploadOptions = {}): Promise<FileHandle> {
    return this.getFileHandle(await this.uploadFileForId(path, options));
  }

  /**
   * As uploadFile, returning only the handle's id: one call fewer (the handle is not read back), for
   * callers that only pass the id on (a log's file entity, a message body). The orchestrator uploads at
   * least two files per submission, so this is a good part of its calls.
   */
  async uploadFileForId(path: string, options: UploadOptions = {}): Promise<string> {
    const { size } = await stat(path);
    if (size === 0) {
      throw new Error(
        `Cannot upload ${path}: the file is empty, and Synapse only stores files of at least one byte.`,
      );
    }
    return this.upload(fileSource(path, size), options.fileName ?? basename(path), options.contentType);
  }

  /** Uploads a small text (a message body, say) through the same multipart protocol. */
  async uploadText(text: string, options: { fileName: string; contentType?: string }): Promise<FileHandle> {
    return this.getFileHandle(await this.uploadTextForId(text, options));
  }

  /** As uploadText, returning only the handle's id (see uploadFileForId). */
  async uploadTextForId(text: string, options: { fileName: string; contentType?: string }): Promise<string> {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length === 0) {
      throw new Error(
        `Cannot upload ${options.fileName}: the text is empty, and Synapse only stores files of at least one byte.`,
      );
    }
    return this.upload(
      bufferSource(bytes, options.fileName),
      options.fileName,
      options.contentType ?? 'text/plain; charset=utf-8',
    );
  }

  getFileHandle(id: string): Promise<FileHandle> {
    return this.http.request<FileHandle>({ api: 'file', method: 'GET', path: `/fileHandle/${id}` });
  }

  createExternalFileHandle(url: string, fileName?: string, contentType?: string): Promise<FileHandle> {
    return this.http.request<FileHandle>({
      api: 'file',
      method: 'POST',
      path: '/externalFileHandle',
      body: {
        concreteType: CONCRETE.externalFileHandle,
        externalURL: url,
        ...(fileName === undefined ? {} : { fileName }),
        ...(contentType === undefined ? {} : { contentType }),
      },
    });
  }

  /** A download URL for a handle reached through an object (entity, submission, message). */
  async getDownloadUrl(association: FileAssociation): Promise<DownloadUrl> {
    const request: BatchFileRequest = {
      requestedFiles: [association],
      includeFileHandles: true,
      includePreSignedURLs: true,
      includePreviewPreSignedURLs: false,
    };
    const result = await this.http.request<BatchFileResult>({
      api: 'file',
      method: 'POST',
      path: '/fileHandle/batch',
      body: request,
    });
    const item = result.requestedFiles.find((f) => f.fileHandleId === association.fileHandleId);
    if (item?.failureCode !== undefined) throw new FileAccessError(association, item.failureCode);
    if (item?.preSignedURL === undefined || item.fileHandle === undefined) {
      throw new Error(
        `Synapse answered the download request for file handle ${association.fileHandleId} without a URL.`,
      );
    }
    return { url: item.preSignedURL, fileHandle: item.fileHandle };
  }

  /**
   * Streams a presigned or external URL to `path` (no Bearer token), resuming with a Range request if the
   * transfer breaks off, and checks the MD5 when one is given. The file is removed on a mismatch.
   */
  async downloadToFile(url: string, path: string, expectedMd5?: string): Promise<DownloadResult> {
    let result: DownloadResult | undefined;
    for (let attempt = 1; result === undefined; attempt++) {
      try {
        result = await this.downloadOnce(url, path, attempt > 1);
      } catch (error) {
        const retryable = !(error instanceof SynapseError) || error.retryable;
        if (attempt >= DOWNLOAD_ATTEMPTS || !retryable) {
          await rm(path, { force: true });
          throw error;
        }
      }
    }
    if (expectedMd5 !== undefined && result.md5 !== expectedMd5.toLowerCase()) {
      await rm(path, { force: true });
      throw new Error(`The download to ${path} has MD5 ${result.md5}, not the expected ${expectedMd5}.`);
    }
    return result;
  }

  /** One GET of the URL; when resuming, asks only for the bytes not yet on disk. */
  private async downloadOnce(url: string, path: string, resume: boolean): Promise<DownloadResult> {
    let offset = resume ? await sizeOnDisk(path) : 0;
    let hash = offset > 0 ? await md5OfFile(path) : createHash('md5');
    let response;
    try {
      response = await this.http.fetchUrl({
        method: 'GET',
        url,
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        responseType: 'stream',
      });
    } catch (error) {
      // Asked to resume at the very end: everything had arrived.
      if (offset > 0 && isSynapseError(error, 416)) return { bytes: offset, md5: hash.digest('hex') };
      throw error;
    }
    if (offset > 0 && response.status !== 206) {
      // The server ignored the range: start over.
      offset = 0;
      hash = createHash('md5');
    }
    const counter = new HashingPassThrough(hash);
    await pipeline(
      response.data as Readable,
      counter,
      createWriteStream(path, { flags: offset > 0 ? 'a' : 'w' }),
    );
    return { bytes: offset + counter.bytes, md5: hash.digest('hex') };
  }

  // --- multipart upload

  /** The multipart upload; resolves with the resulting file handle's id. */
  private async upload(source: ByteSource, fileName: string, contentType?: string): Promise<string> {
    const request: MultipartUploadRequest = {
      concreteType: CONCRETE.multipartUploadRequest,
      fileName,
      contentType: contentType ?? 'application/octet-stream',
      contentMD5Hex: await source.md5(),
      fileSizeBytes: source.size,
      partSizeBytes: partSizeFor(source.size),
      generatePreview: false,
    };
    let status = await this.startUpload(request);
    for (let round = 1; ; round++) {
      // An identical earlier upload may have finished already: then there is nothing to send.
      if (status.state === 'COMPLETED') {
        if (status.resultFileHandleId === undefined) {
          throw new Error(`Synapse completed upload ${status.uploadId} without naming its file handle.`);
        }
        return status.resultFileHandleId;
      }
      for (let index = 0; index < status.partsState.length; index++) {
        if (status.partsState[index] === '1') continue;
        const partNumber = index + 1;
        const offset = index * request.partSizeBytes;
        const length = Math.min(request.partSizeBytes, source.size - offset);
        await this.uploadPart(status.uploadId, partNumber, source, offset, length);
      }
      try {
        status = await this.http.request<MultipartUploadStatus>({
          api: 'file',
          method: 'PUT',
          path: `/file/multipart/${status.uploadId}/complete`,
        });
      } catch (error) {
        // A part went missing (re-uploaded elsewhere, say): ask which, and try another round.
        if (!isSynapseError(error, 400) || round >= COMPLETE_ATTEMPTS) throw error;
        status = await this.startUpload(request);
        continue;
      }
      if (status.state !== 'COMPLETED' && round >= COMPLETE_ATTEMPTS) {
        throw new Error(
          `Upload of ${source.description} did not complete after ${COMPLETE_ATTEMPTS} attempts (upload ${status.uploadId}).`,
        );
      }
      if (status.state !== 'COMPLETED') status = await this.startUpload(request);
    }
  }

  private startUpload(request: MultipartUploadRequest): Promise<MultipartUploadStatus> {
    return this.http.request<MultipartUploadStatus>({
      api: 'file',
      method: 'POST',
      path: '/file/multipart',
      query: { forceRestart: false },
      body: request,
    });
  }

  /** Sends one part and adds it, re-sending it when Synapse reports the add as failed. */
  private async uploadPart(
    uploadId: string,
    partNumber: number,
    source: ByteSource,
    offset: number,
    length: number,
  ): Promise<void> {
    const bytes = await source.read(offset, length);
    const md5 = createHash('md5').update(bytes).digest('hex');
    let lastError = '';
    for (let attempt = 1; attempt <= PART_ATTEMPTS; attempt++) {
      await this.putPart(uploadId, partNumber, bytes);
      const added = await this.http.request<AddPartResponse>({
        api: 'file',
        method: 'PUT',
        path: `/file/multipart/${uploadId}/add/${partNumber}`,
        query: { partMD5Hex: md5 },
      });
      if (added.addPartState === 'ADD_SUCCESS') return;
      lastError = added.errorMessage ?? 'no reason given';
    }
    throw new Error(
      `Part ${partNumber} of ${source.description} could not be added after ${PART_ATTEMPTS} attempts: ${lastError}`,
    );
  }

  /** PUTs a part to a freshly presigned URL; a 403 (expired URL) gets one new URL and one more try. */
  private async putPart(uploadId: string, partNumber: number, bytes: Buffer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const presigned = await this.presignPart(uploadId, partNumber);
      const headers: Record<string, string> = { ...presigned.signedHeaders };
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/octet-stream';
      }
      try {
        await this.http.fetchUrl({ method: 'PUT', url: presigned.uploadPresignedUrl, headers, body: bytes });
        return;
      } catch (error) {
        if (attempt >= 2 || !isSynapseError(error, 403)) throw error;
      }
    }
  }

  private async presignPart(uploadId: string, partNumber: number): Promise<PartPresignedUrl> {
    const response = await this.http.request<{ partPresignedUrls: PartPresignedUrl[] }>({
      api: 'file',
      method: 'POST',
      path: `/file/multipart/${uploadId}/presigned/url/batch`,
      body: { uploadId, partNumbers: [partNumber] },
    });
    const presigned = response.partPresignedUrls.find((p) => p.partNumber === partNumber);
    if (presigned === undefined)
      throw new Error(`Synapse gave no upload URL for part ${partNumber} of upload ${uploadId}.`);
    return presigned;
  }
}
