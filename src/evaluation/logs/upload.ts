/**
 * Uploads a job's log file as SWO did: zipped to `<submission>_logs.zip` (one entry,
 * `<submission>_logs.txt`) and stored in the folder as one FileEntity that gets a new version per upload
 * (an upload with the same bytes adds none). The zip is capped at `maxBytes` of log (see archive.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SynapseClient } from '../../synapse/client.js';
import { buildLogArchive, logArchiveNames } from './archive.js';

export interface LogUpload {
  entityId: string;
  versionNumber: number | undefined;
  /** True when the middle of the log was left out to fit maxBytes. */
  truncated: boolean;
  /** Size of the log file that was uploaded. */
  originalBytes: number;
  /** Size of the archive sent. */
  uploadedBytes: number;
}

/**
 * Zips the log into a temporary file in `workDir`, uploads it and stores it in `folderId`. Returns
 * undefined, uploading nothing, when the log is missing or empty (as SWO did). Errors propagate; the
 * temporary zip is removed in every case.
 */
export async function uploadLog(
  client: SynapseClient,
  options: {
    logPath: string;
    workDir: string;
    submissionId: string;
    folderId: string;
    maxBytes: number;
    /** The log file entity an earlier upload of this job stored (saves finding it again). */
    entityId?: string | undefined;
  },
): Promise<LogUpload | undefined> {
  const names = logArchiveNames(options.submissionId);
  await mkdir(options.workDir, { recursive: true });
  const zipPath = join(options.workDir, `.${names.zip}.${randomUUID()}.tmp`);
  try {
    const archive = await buildLogArchive(options.logPath, zipPath, {
      entryName: names.text,
      maxBytes: options.maxBytes,
    });
    if (archive === undefined) return undefined;
    const { size: uploadedBytes } = await stat(zipPath);
    const handleId = await client.files.uploadFileForId(zipPath, {
      fileName: names.zip,
      contentType: 'application/zip',
    });
    const entity = await client.entities.createOrUpdateFile(
      options.folderId,
      names.zip,
      handleId,
      options.entityId === undefined ? {} : { knownId: options.entityId },
    );
    return {
      entityId: entity.id,
      versionNumber: entity.versionNumber,
      truncated: archive.truncated,
      originalBytes: archive.originalBytes,
      uploadedBytes,
    };
  } finally {
    await rm(zipPath, { force: true });
  }
}
