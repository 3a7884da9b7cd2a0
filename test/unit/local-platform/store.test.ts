/**
 * The local platform's store on disk: submissions appended once to submissions.jsonl, the rest rewritten
 * atomically to state.json; what a restart (and a crash at the wrong moment) gives back.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlatformStore } from '../../../src/local-platform/store.js';
import type { Submission } from '../../../src/synapse/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'store-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A submission and its RECEIVED status, as createSubmission writes them. */
function addSubmission(store: PlatformStore, name: string): Submission {
  return store.change((state) => {
    const id = store.nextId();
    const submission: Submission = {
      id,
      userId: '1',
      evaluationId: '9',
      entityId: 'syn1',
      versionNumber: 1,
      entityBundleJSON: JSON.stringify({ entity: { id: 'syn1', name } }),
      name,
      createdOn: PlatformStore.now(),
    };
    state.submissions[id] = submission;
    state.statuses[id] = {
      id,
      etag: PlatformStore.etag(),
      modifiedOn: PlatformStore.now(),
      status: 'RECEIVED',
      statusVersion: 0,
      submissionAnnotations: {},
    };
    return submission;
  });
}

const submissionsFile = () => join(dir, 'submissions.jsonl');
const stateFile = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;

describe('the local platform store', () => {
  it('keeps submissions and their statuses across a restart, each submission written once', () => {
    const store = new PlatformStore(dir);
    const first = addSubmission(store, 'first');
    const second = addSubmission(store, 'second');
    const sizeAfterCreation = statSync(submissionsFile()).size;
    expect(stateFile()['submissions']).toEqual({});

    // Status writes rewrite state.json only.
    for (let i = 0; i < 5; i++) {
      store.change((state) => {
        const status = state.statuses[first.id];
        if (status !== undefined) status.status = 'EVALUATION_IN_PROGRESS';
      });
    }
    expect(statSync(submissionsFile()).size).toBe(sizeAfterCreation);
    expect(readFileSync(submissionsFile(), 'utf8').trim().split('\n')).toHaveLength(2);

    const reopened = new PlatformStore(dir);
    expect(reopened.state.submissions).toEqual({ [first.id]: first, [second.id]: second });
    expect(reopened.state.statuses[first.id]?.status).toBe('EVALUATION_IN_PROGRESS');
    expect(reopened.nextId()).toBe(String(Number(second.id) + 1));
  });

  it('drops a last line cut short by a crash, and goes on appending after it', () => {
    const store = new PlatformStore(dir);
    const kept = addSubmission(store, 'kept');
    appendFileSync(submissionsFile(), '{"id":"12345","userId":"1","evalu');

    const reopened = new PlatformStore(dir);
    expect(Object.keys(reopened.state.submissions)).toEqual([kept.id]);
    const later = addSubmission(reopened, 'later');
    expect(Object.keys(new PlatformStore(dir).state.submissions).sort()).toEqual([kept.id, later.id].sort());
  });

  it('does not load a submission whose status never reached state.json (a crash between the two writes)', () => {
    const store = new PlatformStore(dir);
    const kept = addSubmission(store, 'kept');
    const orphan = { ...kept, id: '99999999', name: 'orphan' };
    appendFileSync(submissionsFile(), `${JSON.stringify(orphan)}\n`);

    expect(Object.keys(new PlatformStore(dir).state.submissions)).toEqual([kept.id]);
  });

  it('reads a data directory of an earlier version (submissions inside state.json) and moves them out at its first change', () => {
    const store = new PlatformStore(dir);
    const old = addSubmission(store, 'old');
    // As an earlier version wrote it: everything in state.json, no submissions.jsonl.
    writeFileSync(join(dir, 'state.json'), JSON.stringify(store.state));
    rmSync(submissionsFile());

    const upgraded = new PlatformStore(dir);
    expect(upgraded.state.submissions[old.id]).toEqual(old);
    const added = addSubmission(upgraded, 'new');
    expect(stateFile()['submissions']).toEqual({});
    const lines = readFileSync(submissionsFile(), 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as Submission).id).sort()).toEqual(
      [old.id, added.id].sort(),
    );
    expect(Object.keys(new PlatformStore(dir).state.submissions).sort()).toEqual([old.id, added.id].sort());
  });
});
