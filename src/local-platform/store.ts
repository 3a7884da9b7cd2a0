/**
 * The local platform's persistent store: the state object in `<dir>/state.json`, except its submissions,
 * which are in `<dir>/submissions.jsonl`, and file bytes in `<dir>/blobs/`. The state survives a restart.
 *
 * A submission never changes once created (its status is a record of its own), and submissions are most of
 * the state's bytes (each carries its entity bundle): they are appended to their file once, when created,
 * so that a write does not rewrite the whole backlog (bench/README.md, queue scale: at 5,000 submissions a
 * write cost some 35 ms of JSON before). Everything else is rewritten on every change, atomically (a
 * temporary file, then a rename over the old one), after the change's new submissions were appended: a
 * crash leaves the old state or the new one. A submission whose status never reached state.json (a crash
 * in between) is not loaded, nor is a last line cut short. State directories of earlier versions (their
 * submissions inside state.json) are read as they are and moved to the new layout at their first change.
 */
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  createReadStream,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { WriteJournal } from './journal.js';
import { emptyState, type PlatformState } from './state.js';
import type { Submission } from '../synapse/types.js';

export class PlatformStore {
  readonly dir: string;
  readonly state: PlatformState;
  /** When each status and entity was written (in memory only; see journal.ts). */
  readonly journal = new WriteJournal();
  private readonly stateFile: string;
  private readonly submissionsFile: string;
  private readonly blobDir: string;
  /** Ids of the submissions already in submissions.jsonl. */
  private readonly appended = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
    this.stateFile = join(dir, 'state.json');
    this.submissionsFile = join(dir, 'submissions.jsonl');
    this.blobDir = join(dir, 'blobs');
    mkdirSync(this.blobDir, { recursive: true });
    this.state = existsSync(this.stateFile)
      ? { ...emptyState(), ...(JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<PlatformState>) }
      : emptyState();
    for (const submission of this.readAppendedSubmissions()) {
      this.appended.add(submission.id);
      if (this.state.statuses[submission.id] !== undefined)
        this.state.submissions[submission.id] ??= submission;
    }
    this.journal.observe(this.state);
  }

  /** The submissions file's records; a last line cut short by a crash is dropped from the file too. */
  private readAppendedSubmissions(): Submission[] {
    if (!existsSync(this.submissionsFile)) return [];
    const text = readFileSync(this.submissionsFile, 'utf8');
    const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    if (complete.length !== text.length) writeAtomically(this.submissionsFile, complete);
    return complete
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Submission);
  }

  /** Runs a change to the state and persists it. Synchronous, so no other request interleaves. */
  change<T>(mutate: (state: PlatformState) => T): T {
    const result = mutate(this.state);
    this.journal.observe(this.state);
    this.save();
    return result;
  }

  save(): void {
    const { submissions, ...rest } = this.state;
    const fresh = Object.values(submissions).filter((submission) => !this.appended.has(submission.id));
    if (fresh.length > 0) {
      appendFileSync(
        this.submissionsFile,
        fresh.map((submission) => `${JSON.stringify(submission)}\n`).join(''),
      );
      for (const submission of fresh) this.appended.add(submission.id);
    }
    writeAtomically(this.stateFile, JSON.stringify({ ...rest, submissions: {} }));
  }

  /** A new numeric id, as Synapse's are: a string of digits. */
  nextId(): string {
    this.state.nextId += 1;
    return String(this.state.nextId);
  }

  nextEntityId(): string {
    return `syn${this.nextId()}`;
  }

  static etag(): string {
    return randomUUID();
  }

  static now(): string {
    return new Date().toISOString();
  }

  // --- blobs (file bytes, upload parts)

  private blobPath(name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad blob name ${name}`);
    return join(this.blobDir, name);
  }

  writeBlob(name: string, bytes: Buffer): void {
    writeAtomically(this.blobPath(name), bytes);
  }

  /** Moves a finished temporary file into the blob store. */
  adoptBlob(name: string, temporaryPath: string): void {
    renameSync(temporaryPath, this.blobPath(name));
  }

  /** A path in the blob directory for a file being written; adopt it when complete. */
  temporaryBlobPath(): string {
    return join(this.blobDir, `.incoming-${randomUUID()}`);
  }

  hasBlob(name: string): boolean {
    return existsSync(this.blobPath(name));
  }

  blobSize(name: string): number {
    return statSync(this.blobPath(name)).size;
  }

  readBlob(name: string): Buffer {
    return readFileSync(this.blobPath(name));
  }

  streamBlob(name: string): Readable {
    return createReadStream(this.blobPath(name));
  }

  deleteBlob(name: string): void {
    rmSync(this.blobPath(name), { force: true });
  }
}

export function writeAtomically(path: string, data: string | Buffer): void {
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}
