import { describe, expect, it } from 'vitest';
import { SynapseError } from '../../../src/synapse/errors.js';
import {
  applyStatusChanges,
  updateSubmissionStatus,
  type StatusStore,
} from '../../../src/synapse/submission-status.js';
import type { SubmissionStatus } from '../../../src/synapse/types.js';

const P = 'orgSagebionetworksSynapseWorkflowOrchestrator';

/** A status as a workflow left it: its own v1 and v2 annotations. */
const current: SubmissionStatus = {
  id: '9731234',
  etag: 'etag-1',
  status: 'RECEIVED',
  statusVersion: 3,
  score: 0.5,
  annotations: {
    stringAnnos: [
      { key: 'workflow_note', value: 'from the workflow', isPrivate: false },
      { key: `${P}FailureReason`, value: 'old reason', isPrivate: false },
    ],
    longAnnos: [{ key: 'auc_rank', value: 3, isPrivate: true }],
    doubleAnnos: [],
  },
  submissionAnnotations: {
    id: '9731234',
    etag: 'etag-1',
    annotations: {
      auc: { type: 'DOUBLE', value: ['0.91'] },
      [`${P}FailureReason`]: { type: 'STRING', value: ['old reason'] },
    },
  },
};

describe('applyStatusChanges', () => {
  it("changes what it was asked to and keeps everyone else's annotations and fields", () => {
    const next = applyStatusChanges(current, {
      status: 'EVALUATION_IN_PROGRESS',
      canCancel: true,
      cancelRequested: false,
      set: [
        { key: `${P}WorkflowJobId`, type: 'STRING', value: 'job-1', isPrivate: false },
        { key: `${P}ExecutionStarted`, type: 'LONG', value: 1_714_564_800_000, isPrivate: true },
      ],
      remove: [`${P}FailureReason`],
    });
    expect(next).toMatchObject({
      status: 'EVALUATION_IN_PROGRESS',
      canCancel: true,
      cancelRequested: false,
      score: 0.5,
      etag: 'etag-1',
    });
    expect(next.annotations?.stringAnnos).toEqual([
      { key: 'workflow_note', value: 'from the workflow', isPrivate: false },
      { key: `${P}WorkflowJobId`, value: 'job-1', isPrivate: false },
    ]);
    expect(next.annotations?.longAnnos).toEqual([
      { key: 'auc_rank', value: 3, isPrivate: true },
      { key: `${P}ExecutionStarted`, value: 1_714_564_800_000, isPrivate: true },
    ]);
    expect(next.submissionAnnotations?.annotations).toEqual({
      auc: { type: 'DOUBLE', value: ['0.91'] },
      [`${P}WorkflowJobId`]: { type: 'STRING', value: ['job-1'] },
    });
  });

  it('writes a private annotation to v1 only, and removes a public v2 copy of the key', () => {
    const next = applyStatusChanges(current, {
      set: [{ key: `${P}FailureReason`, type: 'STRING', value: 'exit code 3', isPrivate: true }],
    });
    expect(next.annotations?.stringAnnos).toContainEqual({
      key: `${P}FailureReason`,
      value: 'exit code 3',
      isPrivate: true,
    });
    expect(next.submissionAnnotations?.annotations[`${P}FailureReason`]).toBeUndefined();
    expect(JSON.stringify(next.submissionAnnotations)).not.toContain('old reason');
  });

  it('replaces a key rather than duplicating it (Synapse rejects duplicate v1 keys)', () => {
    const next = applyStatusChanges(current, {
      set: [{ key: 'auc_rank', type: 'LONG', value: 1, isPrivate: true }],
    });
    expect(next.annotations?.longAnnos?.filter((a) => a.key === 'auc_rank')).toEqual([
      { key: 'auc_rank', value: 1, isPrivate: true },
    ]);
  });

  it('cuts string values to 499 characters and writes numbers as v2 strings', () => {
    const next = applyStatusChanges(current, {
      set: [
        { key: 'long_text', type: 'STRING', value: 'x'.repeat(600), isPrivate: false },
        { key: 'progress', type: 'DOUBLE', value: 42.5, isPrivate: false },
      ],
    });
    expect(next.annotations?.stringAnnos?.find((a) => a.key === 'long_text')?.value).toHaveLength(499);
    expect(next.submissionAnnotations?.annotations.progress).toEqual({ type: 'DOUBLE', value: ['42.5'] });
  });

  it('does not modify the status it was given', () => {
    const before = JSON.stringify(current);
    applyStatusChanges(current, {
      status: 'ACCEPTED',
      remove: ['auc'],
      set: [{ key: 'k', type: 'STRING', value: 'v', isPrivate: false }],
    });
    expect(JSON.stringify(current)).toBe(before);
  });

  it('works on a status that has no annotations yet', () => {
    const bare: SubmissionStatus = { id: '1', etag: 'e', status: 'RECEIVED', statusVersion: 0 };
    const next = applyStatusChanges(bare, { set: [{ key: 'k', type: 'LONG', value: 7, isPrivate: false }] });
    expect(next.annotations?.longAnnos).toEqual([{ key: 'k', value: 7, isPrivate: false }]);
    expect(next.submissionAnnotations).toEqual({
      id: '1',
      etag: 'e',
      annotations: { k: { type: 'LONG', value: ['7'] } },
    });
  });
});

/** A status store that checks etags as Synapse does (412 on a stale one), counting reads and writes. */
class EtagStore implements StatusStore {
  reads = 0;
  writes = 0;
  private version = 1;
  constructor(public stored: SubmissionStatus) {}

  getStatus(): Promise<SubmissionStatus> {
    this.reads++;
    return Promise.resolve(structuredClone(this.stored));
  }

  putStatus(status: SubmissionStatus): Promise<SubmissionStatus> {
    this.writes++;
    if (status.etag !== this.stored.etag) {
      return Promise.reject(
        new SynapseError({ status: 412, reason: 'etag mismatch', method: 'PUT', path: '/status' }),
      );
    }
    this.version++;
    this.stored = { ...structuredClone(status), etag: `etag-${String(this.version)}` };
    return Promise.resolve(structuredClone(this.stored));
  }

  /** Someone else (an organizer, the workflow) writes an annotation. */
  otherWrites(key: string, value: string): void {
    this.version++;
    this.stored = applyStatusChanges(this.stored, {
      set: [{ key, type: 'STRING', value, isPrivate: false }],
    });
    this.stored.etag = `etag-${String(this.version)}`;
  }
}

describe('updateSubmissionStatus with the status this process last wrote', () => {
  const running: SubmissionStatus = { ...current, status: 'EVALUATION_IN_PROGRESS' };
  const note = (key: string, value: string) => ({
    set: [{ key, type: 'STRING' as const, value, isPrivate: false }],
  });
  const noSleep = () => Promise.resolve();

  it('writes with its etag and no read when nobody wrote since', async () => {
    const store = new EtagStore(structuredClone(running));
    const first = await updateSubmissionStatus(store, running.id, note('a', '1'));
    store.reads = 0;
    store.writes = 0;
    const second = await updateSubmissionStatus(store, running.id, note('b', '2'), { current: first.status });
    expect(second.applied).toBe(true);
    expect({ reads: store.reads, writes: store.writes }).toEqual({ reads: 0, writes: 1 });
    expect(store.stored.submissionAnnotations?.annotations).toMatchObject({ a: {}, b: {} });
  });

  it('keeps an annotation someone else wrote after it: the stale etag is refused, re-read and merged', async () => {
    const store = new EtagStore(structuredClone(running));
    const first = await updateSubmissionStatus(store, running.id, note('a', '1'));
    store.otherWrites('organizer_note', 'looked at it');
    store.reads = 0;
    const second = await updateSubmissionStatus(store, running.id, note('b', '2'), {
      current: first.status,
      sleep: noSleep,
    });
    expect(second.applied).toBe(true);
    expect(store.reads).toBe(1);
    expect(store.stored.submissionAnnotations?.annotations).toMatchObject({
      organizer_note: { type: 'STRING', value: ['looked at it'] },
      a: {},
      b: {},
    });
    expect(store.stored.annotations?.stringAnnos).toContainEqual({
      key: 'organizer_note',
      value: 'looked at it',
      isPrivate: false,
    });
  });

  it('checks a precondition the cached status fails against a fresh read before giving up', async () => {
    const store = new EtagStore(structuredClone(running));
    const stale: SubmissionStatus = { ...structuredClone(running), status: 'RECEIVED', etag: 'etag-0' };
    const result = await updateSubmissionStatus(store, running.id, note('b', '2'), {
      current: stale,
      precondition: (s) => s.status === 'EVALUATION_IN_PROGRESS',
    });
    expect(result.applied).toBe(true);
    expect(store.reads).toBe(1);
    const refused = await updateSubmissionStatus(store, running.id, note('c', '3'), {
      current: stale,
      precondition: (s) => s.status === 'ACCEPTED',
    });
    expect(refused.applied).toBe(false);
    expect(store.stored.submissionAnnotations?.annotations.c).toBeUndefined();
  });
});
