/**
 * What this process knows about each evaluation it is running: one record per job (by container name),
 * created when the job is claimed or first seen running, and forgotten in one call when it ends. Nothing
 * here is needed to recover after a restart (the platform's status, the engine's containers and the job
 * directory hold that); it only saves work and keeps one process from doing the same thing twice.
 */
import type { FollowedJob } from './job-logs.js';

export interface JobRecord {
  readonly jobName: string;
  readonly submissionId: string;
  /** The live log follower, while one runs. */
  follower?: FollowedJob;
  /** The log file entity this process stored the job's log in: a later upload adds a version to it directly. */
  logEntityId?: string;
  /** When the last periodic log upload failed, so it is retried at the next interval, not every tick. */
  uploadFailedAt?: number;
  /** When its progress was last read (a command run in the engine container; see monitor.ts). */
  progressReadAt?: number;
  /** When this process saw the job's status changed under it while it ran (it is then left to finish). */
  detachedAt?: number;
  /** A start, stop or finish of this job still under way (a tick does not begin another meanwhile). */
  busy?: Promise<void>;
}

/** How long an ended job is remembered, so a listing read before it ended cannot bring it back. */
const ENDED_KEPT_MS = 15 * 60_000;

export class JobTable {
  private readonly records = new Map<string, JobRecord>();
  /** Jobs that ended here, with when: a running listing older than that is stale for them. */
  private readonly ended = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  get(jobName: string): JobRecord | undefined {
    return this.records.get(jobName);
  }

  /** The job's record, created when new. */
  record(jobName: string, submissionId: string): JobRecord {
    let record = this.records.get(jobName);
    if (record === undefined) {
      record = { jobName, submissionId };
      this.records.set(jobName, record);
    }
    return record;
  }

  /** Runs `work` as the job's one update in progress; `isBusy` is true until it settles. */
  track<T>(record: JobRecord, work: () => Promise<T>): Promise<T> {
    const result = work();
    const busy: Promise<void> = result.then(
      () => undefined,
      () => undefined,
    );
    record.busy = busy;
    void busy.then(() => {
      if (record.busy === busy) delete record.busy;
    });
    return result;
  }

  isBusy(jobName: string): boolean {
    return this.records.get(jobName)?.busy !== undefined;
  }

  /** Whether the job ended in this process (recently): a listing that still shows it running is stale. */
  hasEnded(jobName: string): boolean {
    return this.ended.has(jobName);
  }

  /** Everything this process holds for the job goes: its follower stops, and it is remembered as ended. */
  forget(jobName: string, ended = true): void {
    const record = this.records.get(jobName);
    record?.follower?.follower.stop();
    this.records.delete(jobName);
    if (ended) this.ended.set(jobName, this.now());
    const cutoff = this.now() - ENDED_KEPT_MS;
    for (const [name, at] of this.ended) if (at < cutoff) this.ended.delete(name);
  }

  /** Updates still under way (a shutdown gives them a moment). */
  inProgress(): Promise<void>[] {
    return [...this.records.values()].flatMap((r) => (r.busy === undefined ? [] : [r.busy]));
  }

  /** Stops every log follower (their streams would keep the process alive); the containers go on. */
  stopFollowing(): void {
    for (const record of this.records.values()) {
      record.follower?.follower.stop();
      delete record.follower;
    }
  }

  get size(): number {
    return this.records.size;
  }
}
