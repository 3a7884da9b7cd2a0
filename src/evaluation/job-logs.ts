/**
 * A job's log on this side: followed live from the engine into `<job dir>/workflow.log`, uploaded as
 * `<submission>_logs.zip` to the submission's log folder (shared when SHARE_RESULTS_IMMEDIATELY, else
 * _LOCKED) when due, and once more at the end after the container stopped. A log whose final upload failed
 * is kept in `<work dir>/unuploaded-logs/` (the orchestrator's user only) rather than removed with the job
 * directory.
 */
import { access, chmod, copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JobRecord } from './job-table.js';
import type { Services } from './services.js';
import { submissionFolderName } from './folders.js';
import { JobDirectory } from './job-directory.js';
import { LogFollower } from './logs/follower.js';
import { uploadLog } from './logs/upload.js';

export const LOG_FILE = 'workflow.log';

/** A follower and whether its stream ended (then a still-running job gets a new one). */
export interface FollowedJob {
  follower: LogFollower;
  finished: boolean;
}

export function logPathOf(ctx: Services, jobName: string): string {
  return JobDirectory.of(ctx.jobRoot, jobName).localFile(LOG_FILE);
}

/**
 * Starts following the job's output unless a follower is already on it. After a restart the new follower
 * reads where the log file ends and asks the engine only for later lines (also of a stopped container).
 */
export function ensureFollower(ctx: Services, record: JobRecord): void {
  const current = record.follower;
  if (current !== undefined && !current.finished) return;
  const follower = LogFollower.start(ctx.engine, record.jobName, logPathOf(ctx, record.jobName), ctx.logger);
  const entry: FollowedJob = { follower, finished: false };
  void follower.done.finally(() => {
    entry.finished = true;
  });
  record.follower = entry;
}

/**
 * Waits for the follower to write the last of a stopped container's output, starting one when this
 * process has none (a container that ended while the orchestrator was down): its output is read again
 * from the engine from where the log file ends. A big burst can take Docker longer to hand over than the
 * container took to print it, so the wait goes on while the file grows and ends when it stops growing for
 * `quietMs`.
 */
export async function finishFollowing(ctx: Services, record: JobRecord, quietMs = 10_000): Promise<void> {
  if (record.follower === undefined || record.follower.finished) {
    // A follower whose stream ended may have missed the very end: one more read from where the file ends.
    ensureFollower(ctx, record);
  }
  const entry = record.follower;
  delete record.follower;
  if (entry === undefined) return;
  const { follower } = entry;
  const state = { ended: false };
  void follower.done.finally(() => {
    state.ended = true;
  });
  let size = -1;
  while (!state.ended && follower.fileSize > size) {
    size = follower.fileSize;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      follower.done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, quietMs);
      }),
    ]);
    clearTimeout(timer);
  }
  follower.stop();
  await follower.done;
}

/** The folder logs go to: the submission's shared folder, or its _LOCKED one when results are locked. */
export function logFolderOf(ctx: Services, folders: { shared: string; locked: string }): string {
  return ctx.config.results.shareImmediately ? folders.shared : folders.locked;
}

/**
 * Uploads the job's log as a new version of its log file. `record`: the job's record in this process,
 * which remembers the log file entity from one upload to the next (a restarted process finds it again).
 */
export async function uploadJobLog(
  ctx: Services,
  submissionId: string,
  jobName: string,
  folderId: string,
  record?: JobRecord,
): Promise<{ truncated: boolean } | undefined> {
  let uploaded;
  try {
    uploaded = await uploadLog(ctx.client, {
      logPath: logPathOf(ctx, jobName),
      workDir: JobDirectory.of(ctx.jobRoot, jobName).localPath,
      submissionId,
      folderId,
      maxBytes: ctx.config.logs.maxBytes,
      entityId: record?.logEntityId,
    });
  } catch (error) {
    ctx.metrics.logUploads.inc({ result: 'failed' });
    throw error;
  }
  if (uploaded !== undefined) {
    if (record !== undefined) record.logEntityId = uploaded.entityId;
    ctx.metrics.logUploads.inc({ result: 'uploaded' });
    ctx.metrics.logUploadBytes.inc(uploaded.uploadedBytes);
  }
  return uploaded;
}

/** Where logs that could not be uploaded are kept, under the work directory. */
export const UNUPLOADED_LOGS_DIR = 'unuploaded-logs';

/** Left in the job directory once its log is kept (saying where), so a retried finish leaves the log alone. */
const KEPT_MARKER = `${LOG_FILE}.kept`;

/** A path as this process sees it, and as the Docker host does (what the organizers are told). */
export interface LocalAndHostPath {
  local: string;
  host: string;
}

/** `<work dir>/unuploaded-logs`, as this process and as the Docker host see it. */
export function unuploadedLogsDir(ctx: Services): LocalAndHostPath {
  return {
    local: join(dirname(ctx.jobRoot.local), UNUPLOADED_LOGS_DIR),
    host: join(dirname(ctx.jobRoot.host), UNUPLOADED_LOGS_DIR),
  };
}

function keptLogPaths(ctx: Services, submissionId: string): LocalAndHostPath {
  const name = `${submissionFolderName(submissionId)}_logs.txt`;
  const directory = unuploadedLogsDir(ctx);
  return { local: join(directory.local, name), host: join(directory.host, name) };
}

/** The job's log when an earlier finish already kept it (and it is still there); else undefined. */
export async function keptLogOf(
  ctx: Services,
  jobName: string,
  submissionId: string,
): Promise<LocalAndHostPath | undefined> {
  const marker = JobDirectory.of(ctx.jobRoot, jobName).localFile(KEPT_MARKER);
  const kept = keptLogPaths(ctx, submissionId);
  try {
    await access(marker);
    await access(kept.local);
  } catch {
    return undefined;
  }
  return kept;
}

/**
 * Moves the job's log out of its job directory (which is about to be removed) into
 * `<work dir>/unuploaded-logs/<submission>_logs.txt`: the directory readable by the orchestrator's user
 * only (0700), the file too (0600), since the log is not redacted. Nothing deletes these files; the
 * organizers remove them once read. Each one kept is named in the orchestrator's log at warn level.
 * Returns the path as the Docker host sees it (also when an earlier finish kept it already), or undefined
 * when there was no log or it could not be moved (logged).
 */
export async function keepUnuploadedLog(
  ctx: Services,
  jobName: string,
  submissionId: string,
): Promise<string | undefined> {
  const already = await keptLogOf(ctx, jobName, submissionId);
  if (already !== undefined) return already.host;
  const from = logPathOf(ctx, jobName);
  const directory = unuploadedLogsDir(ctx).local;
  const to = keptLogPaths(ctx, submissionId);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
    try {
      await rename(from, to.local);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(from, to.local);
      await rm(from, { force: true });
    }
    await chmod(to.local, 0o600);
    await writeFile(JobDirectory.of(ctx.jobRoot, jobName).localFile(KEPT_MARKER), `${to.host}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    ctx.logger.warn('Could not keep the log that was not uploaded', {
      submissionId,
      job: jobName,
      error: (error as Error).message,
    });
    return undefined;
  }
  ctx.logger.warn('Kept the final log that could not be uploaded', {
    submissionId,
    job: jobName,
    path: to.host,
  });
  return to.host;
}
