/**
 * The local platform's persistent store: the state object in `<dir>/state.json`, file bytes in
 * `<dir>/blobs/`. Every write is atomic (write a temporary file, then rename over the old one), so a crash
 * leaves either the old state or the new one, never half of each. The state survives a restart.
 */
import { randomUUID } from 'node:crypto';
import {
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

export class PlatformStore {
  readonly dir: string;
  readonly state: PlatformState;
  /** When each status and entity was written (in memory only; see journal.ts). */
  readonly journal = new WriteJournal();
  private readonly stateFile: string;
  private readonly blobDir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.stateFile = join(dir, 'state.json');
    this.blobDir = join(dir, 'blobs');
    mkdirSync(this.blobDir, { recursive: true });
    this.state = existsSync(this.stateFile)
      ? { ...emptyState(), ...(JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<PlatformState>) }
      : emptyState();
    this.journal.observe(this.state);
  }

  /** Runs a change to the state and persists it. Synchronous, so no other request interleaves. */
  change<T>(mutate: (state: PlatformState) => T): T {
    const result = mutate(this.state);
    this.journal.observe(this.state);
    this.save();
    return result;
  }

  save(): void {
    writeAtomically(this.stateFile, JSON.stringify(this.state));
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
