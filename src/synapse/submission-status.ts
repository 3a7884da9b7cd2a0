/**
 * Changing a submission status without losing anyone else's change.
 *
 * A status PUT replaces the whole object and is guarded by its etag, while workflows, submitters (cancel)
 * and admins write the same status. So callers state only what they change; the change is applied to the
 * latest status, and on 412 the status is read again and the change re-applied. Annotations that others
 * wrote, in the v1 lists or in v2 `submissionAnnotations`, are carried over untouched; v2 is never rebuilt
 * from v1 (SWO did, wiping workflow-written v2 annotations).
 *
 * Privacy: v1 entries carry `isPrivate`; v2 has no privacy, so a private annotation is written to v1 only,
 * and any public v2 copy of that key is removed.
 */
import { isSynapseError } from './errors.js';
import type { SubmissionStatus, SubmissionStatusEnum, V1Annotations } from './types.js';

/** Synapse allows 500 characters per v2 STRING annotation; SWO cut at 499 and so do we. */
export const MAX_STRING_ANNOTATION_LENGTH = 499;

export interface StatusAnnotation {
  key: string;
  type: 'STRING' | 'LONG' | 'DOUBLE';
  value: string | number;
  isPrivate: boolean;
}

export interface StatusChanges {
  status?: SubmissionStatusEnum;
  canCancel?: boolean;
  cancelRequested?: boolean;
  set?: StatusAnnotation[];
  /** Keys to remove from both v1 and v2. */
  remove?: string[];
}

function withoutKeys(annotations: V1Annotations, keys: Set<string>): V1Annotations {
  return {
    ...annotations,
    stringAnnos: (annotations.stringAnnos ?? []).filter((a) => !keys.has(a.key)),
    longAnnos: (annotations.longAnnos ?? []).filter((a) => !keys.has(a.key)),
    doubleAnnos: (annotations.doubleAnnos ?? []).filter((a) => !keys.has(a.key)),
  };
}

function normalised(annotation: StatusAnnotation): { text: string; number: number } {
  if (annotation.type === 'STRING') {
    return { text: String(annotation.value).slice(0, MAX_STRING_ANNOTATION_LENGTH), number: Number.NaN };
  }
  const number = annotation.type === 'LONG' ? Math.trunc(Number(annotation.value)) : Number(annotation.value);
  if (!Number.isFinite(number))
    throw new Error(`Annotation ${annotation.key}: ${String(annotation.value)} is not a number`);
  return { text: String(number), number };
}

/** The status with `changes` applied; everything else (others' annotations included) is kept. Pure. */
export function applyStatusChanges(current: SubmissionStatus, changes: StatusChanges): SubmissionStatus {
  const set = changes.set ?? [];
  const touched = new Set([...(changes.remove ?? []), ...set.map((a) => a.key)]);
  let v1 = withoutKeys(current.annotations ?? {}, touched);
  const v2 = Object.fromEntries(
    Object.entries(current.submissionAnnotations?.annotations ?? {}).filter(([key]) => !touched.has(key)),
  );

  for (const annotation of set) {
    const { text, number } = normalised(annotation);
    const { key, isPrivate } = annotation;
    if (annotation.type === 'STRING')
      v1 = { ...v1, stringAnnos: [...(v1.stringAnnos ?? []), { key, value: text, isPrivate }] };
    if (annotation.type === 'LONG')
      v1 = { ...v1, longAnnos: [...(v1.longAnnos ?? []), { key, value: number, isPrivate }] };
    if (annotation.type === 'DOUBLE')
      v1 = { ...v1, doubleAnnos: [...(v1.doubleAnnos ?? []), { key, value: number, isPrivate }] };
    if (!isPrivate) v2[key] = { type: annotation.type, value: [text] };
  }

  return {
    ...current,
    ...(changes.status === undefined ? {} : { status: changes.status }),
    ...(changes.canCancel === undefined ? {} : { canCancel: changes.canCancel }),
    ...(changes.cancelRequested === undefined ? {} : { cancelRequested: changes.cancelRequested }),
    annotations: v1,
    submissionAnnotations: { id: current.id, etag: current.etag, annotations: v2 },
  };
}

export interface StatusStore {
  getStatus(submissionId: string): Promise<SubmissionStatus>;
  putStatus(status: SubmissionStatus): Promise<SubmissionStatus>;
}

export interface UpdateOptions {
  /**
   * The status as last read or written by this process (saves a GET). Trusted only for its etag: when it is
   * stale the PUT is refused (412) and the status is read again and the change re-applied, and a
   * precondition it fails is checked again on a fresh read before giving up.
   */
  current?: SubmissionStatus;
  /** Checked against the latest status before each attempt; false stops without writing (e.g. "still RECEIVED"). */
  precondition?: (status: SubmissionStatus) => boolean;
  /**
   * Recognises this very change in a status read after a 412. A PUT whose answer was lost is retried and
   * meets its own write (the etag moved on): then the change did land, and the precondition (say, "still
   * RECEIVED") no longer holds because of it.
   */
  landed?: (status: SubmissionStatus) => boolean;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface UpdateResult {
  /** False when the precondition failed: nothing was written. */
  applied: boolean;
  /** The status after the write, or the latest read when not applied. */
  status: SubmissionStatus;
}

export class StatusConflictError extends Error {
  constructor(submissionId: string, attempts: number) {
    super(`Submission ${submissionId}: status kept changing under us; gave up after ${attempts} attempts.`);
    this.name = 'StatusConflictError';
  }
}

export async function updateSubmissionStatus(
  store: StatusStore,
  submissionId: string,
  changes: StatusChanges,
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  const maxAttempts = options.maxAttempts ?? 8;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let status = options.current ?? (await store.getStatus(submissionId));
  let fresh = options.current === undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (options.precondition !== undefined && !options.precondition(status)) {
      if (fresh) return { applied: false, status };
      // The status this process had may be older than the change that seems to rule the write out.
      status = await store.getStatus(submissionId);
      fresh = true;
      if (!options.precondition(status)) return { applied: false, status };
    }
    try {
      return { applied: true, status: await store.putStatus(applyStatusChanges(status, changes)) };
    } catch (error) {
      if (!isSynapseError(error, 412)) throw error;
      // Someone else wrote in between: give them a moment, then merge onto their version.
      if (attempt > 1) await sleep(Math.min(2_000, 100 * 2 ** (attempt - 2)));
      status = await store.getStatus(submissionId);
      fresh = true;
      if (options.landed?.(status) === true) return { applied: true, status };
    }
  }
  throw new StatusConflictError(submissionId, maxAttempts);
}
