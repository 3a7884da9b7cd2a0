/**
 * A job's log on this side: followed live from the engine into `<job dir>/workflow.log`, uploaded as
 * `<submission>_logs.zip` to the submission's log folder (shared when SHARE_RESULTS_IMMEDIATELY, else
 * _LOCKED) when due, and once more at the end after the container stopped. A log whose final upload failed
 * is kept in `<work dir>/unuploaded-logs/` rather than removed with the job directory.
 */
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunContext } from './context.js';
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

export function logPathOf(ctx: RunContext, jobName: string): string {
  return JobDirectory.of(ctx.jobRoot, jobName).localFile(LOG_FILE);
}

/** Starts following the job's output unless a follower is already on it. */
export function ensureFollower(ctx: RunContext, jobName: string): void {
  const current = ctx.followers.get(jobName);
  if (current !== undefined && !current.finished) return;
  const follower = LogFollower.start(ctx.engine, jobName, logPathOf(ctx, jobName), ctx.logger);
  const entry: FollowedJob = { follower, finished: false };
  void follower.done.finally(() => {
    entry.finished = true;
  });
  ctx.followers.set(jobName, entry);
}

/**
 * Waits for the follower to write the last of a stopped container's output. A big burst can take Docker
 * longer to hand over than the container took to print it, so the wait goes on while the file grows and
 * ends when it stops growing for `quietMs`.
 */
export async function finishFollowing(ctx: RunContext, jobName: string, quietMs = 10_000): Promise<void> {
  const entry = ctx.followers.get(jobName);
  ctx.followers.delete(jobName);
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
export function logFolderOf(ctx: RunContext, folders: { shared: string; locked: string }): string {
  return ctx.config.results.shareImmediately ? folders.shared : folders.locked;
}

export async function uploadJobLog(
  ctx: RunContext,
  submissionId: string,
  jobName: string,
  folderId: string,
): Promise<{ truncated: boolean } | undefined> {
  return uploadLog(ctx.client, {
    logPath: logPathOf(ctx, jobName),
    workDir: JobDirectory.of(ctx.jobRoot, jobName).localPath,
    submissionId,
    folderId,
    maxBytes: ctx.config.logs.maxBytes,
  });
}

/** Where logs that could not be uploaded are kept, under the work directory. */
export const UNUPLOADED_LOGS_DIR = 'unuploaded-logs';

/**
 * Moves the job's log out of its job directory (which is about to be removed) into
 * `<work dir>/unuploaded-logs/<submission>_logs.txt`. Returns that path as the Docker host sees it, or
 * undefined when there was no log or it could not be moved (logged).
 */
export async function keepUnuploadedLog(
  ctx: RunContext,
  jobName: string,
  submissionId: string,
): Promise<string | undefined> {
  const from = logPathOf(ctx, jobName);
  const name = `${submissionFolderName(submissionId)}_logs.txt`;
  const directory = join(dirname(ctx.jobRoot.local), UNUPLOADED_LOGS_DIR);
  const to = join(directory, name);
  try {
    await mkdir(directory, { recursive: true });
    try {
      await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(from, to);
      await rm(from, { force: true });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    ctx.logger.warn('Could not keep the log that was not uploaded', {
      submissionId,
      job: jobName,
      error: (error as Error).message,
    });
    return undefined;
  }
  return join(dirname(ctx.jobRoot.host), UNUPLOADED_LOGS_DIR, name);
}
