/**
 * The persistent outbox: every message the daemon sends (to participants and to the admin) is first
 * written here, one file per message under `<work dir>/state/outbox/`, and sent by one worker
 * (sender.ts). A crash, a restart or a send whose answer never came therefore neither loses a message
 * nor sends it twice:
 *
 * - Each message has a key (e.g. `<submission>:<job>:final`). Adding a key the outbox already holds, sent or
 *   not, does nothing, so a step redone after a restart cannot queue a second copy.
 * - Before a send, the body's file handle and the time of the attempt are written down; after a crash, the
 *   worker looks for that handle in the Synapse outbox before sending again.
 * - A final message is added *held* before the final status is written, and released once the write has
 *   landed (or dropped when someone else changed the status first). Held messages left by a process that
 *   stopped in between are settled by the worker from the submission's status.
 *
 * Files are replaced atomically (write, then rename). Sent messages are kept for SENT_KEPT_MS so their
 * keys keep working, then removed.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export type OutboxState = 'held' | 'ready' | 'sent' | 'failed';

/** What a held final message waits for: the submission's final status written by this job. */
export interface HeldFor {
  submissionId: string;
  jobName: string | undefined;
  finalStatus: string;
  /** The WorkflowLastUpdated the write sets, when known: only that very write releases the message. */
  writtenAt?: number;
}

export interface OutboxMessage {
  key: string;
  /** Order of arrival; messages about one submission go out in this order. */
  seq: number;
  /** Who it concerns: a submission id (its messages keep their order), or undefined for admin messages. */
  submissionId: string | undefined;
  /** For logs: started, completed, failed, …, or admin. */
  kind: string;
  recipients: string[];
  subject: string;
  body: string;
  state: OutboxState;
  heldFor?: HeldFor;
  createdAt: number;
  /** The body's file handle, once uploaded. */
  fileHandleId?: string;
  /** When the first POST that may have created it was made (then the Synapse outbox is searched first). */
  firstAttemptAt?: number;
  /**
   * Set just before a POST and cleared once its answer says what happened. Still set means the answer
   * never came (or the process stopped meanwhile): the server may yet create the message, so nothing is
   * done until that can no longer happen.
   */
  inFlightSince?: number;
  /** Not before this time (backoff, or waiting until an unanswered POST can no longer be in progress). */
  nextAttemptAt?: number;
  attempts: number;
  sentAt?: number;
  /** The last error (never a token: errors are redacted at their source). */
  lastError?: string;
}

export type NewMessage = Pick<
  OutboxMessage,
  'key' | 'submissionId' | 'kind' | 'recipients' | 'subject' | 'body'
>;

/** Sent messages are kept this long, so their keys still stop a second copy. */
export const SENT_KEPT_MS = 30 * 24 * 3600_000;

const fileNameOf = (key: string) => `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`;

export class Outbox {
  private readonly messages = new Map<string, OutboxMessage>();
  private nextSeq = 1;
  private readonly listeners = new Set<() => void>();
  /** Writes of one message happen one after another, in call order. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly directory: string) {}

  /** Opens (creating it when missing) the outbox in `directory`; damaged files are set aside, not fatal. */
  static async open(directory: string, now = Date.now()): Promise<Outbox> {
    const outbox = new Outbox(directory);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    for (const name of await readdir(directory)) {
      if (!name.endsWith('.json')) continue;
      const path = join(directory, name);
      try {
        const message = JSON.parse(await readFile(path, 'utf8')) as OutboxMessage;
        if (typeof message.key !== 'string' || typeof message.seq !== 'number')
          throw new Error('not a message');
        if (message.state === 'sent' && now - (message.sentAt ?? 0) > SENT_KEPT_MS) {
          await rm(path, { force: true });
          continue;
        }
        outbox.messages.set(message.key, message);
        outbox.nextSeq = Math.max(outbox.nextSeq, message.seq + 1);
      } catch {
        await rename(path, `${path}.damaged`).catch(() => undefined);
      }
    }
    return outbox;
  }

  /** Whether a message with this key was ever added (sent or not). */
  has(key: string): boolean {
    return this.messages.has(key);
  }

  get(key: string): OutboxMessage | undefined {
    const message = this.messages.get(key);
    return message === undefined ? undefined : { ...message };
  }

  /** Adds a message to send; a key already here is left as it is. Resolves once it is on disk. */
  async add(message: NewMessage, now = Date.now()): Promise<boolean> {
    return this.insert(message, 'ready', undefined, now);
  }

  /** Adds a message that waits for release() (a final message waiting for its final status). */
  async hold(message: NewMessage, heldFor: HeldFor, now = Date.now()): Promise<boolean> {
    return this.insert(message, 'held', heldFor, now);
  }

  /** A held message may go. */
  async release(key: string): Promise<void> {
    const message = this.messages.get(key);
    if (message?.state !== 'held') return;
    message.state = 'ready';
    delete message.heldFor;
    await this.save(message);
    this.wake();
  }

  /** A held message will never go (its final status was not written by us); forgotten. */
  async drop(key: string): Promise<void> {
    const message = this.messages.get(key);
    if (message?.state !== 'held') return;
    this.messages.delete(key);
    await this.queueWrite(key, () => rm(join(this.directory, fileNameOf(key)), { force: true }));
  }

  /** Records what happened to a message (the sender's steps). */
  async update(key: string, change: Partial<OutboxMessage>): Promise<void> {
    const message = this.messages.get(key);
    if (message === undefined) return;
    Object.assign(message, change);
    await this.save(message);
  }

  /** Messages not sent yet, in order of arrival. */
  pending(): OutboxMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.state === 'ready' || m.state === 'held')
      .sort((a, b) => a.seq - b.seq)
      .map((m) => ({ ...m }));
  }

  /** Counts by state, for logs and status. */
  counts(): Record<OutboxState, number> {
    const counts: Record<OutboxState, number> = { held: 0, ready: 0, sent: 0, failed: 0 };
    for (const message of this.messages.values()) counts[message.state] += 1;
    return counts;
  }

  /** Calls `listener` whenever a message becomes ready; returns the unsubscribe. */
  onReady(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every write begun so far is on disk. */
  async flushed(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  private async insert(
    fields: NewMessage,
    state: OutboxState,
    heldFor: HeldFor | undefined,
    now: number,
  ): Promise<boolean> {
    if (this.messages.has(fields.key)) return false;
    const message: OutboxMessage = {
      ...fields,
      seq: this.nextSeq++,
      state,
      ...(heldFor === undefined ? {} : { heldFor }),
      createdAt: now,
      attempts: 0,
    };
    this.messages.set(message.key, message);
    await this.save(message);
    if (state === 'ready') this.wake();
    return true;
  }

  private save(message: OutboxMessage): Promise<void> {
    const snapshot = JSON.stringify(message);
    const path = join(this.directory, fileNameOf(message.key));
    return this.queueWrite(message.key, async () => {
      // Written in full and synced before it replaces the old file: a power cut leaves one or the other.
      const temporary = `${path}.tmp`;
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(snapshot);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
    });
  }

  private queueWrite(key: string, write: () => Promise<unknown>): Promise<void> {
    const previous = this.writes.get(key) ?? Promise.resolve();
    const next = previous.then(write, write).then(() => undefined);
    this.writes.set(key, next);
    // The caller gets the failure; this bookkeeping must not leave a rejection unhandled.
    const forget = () => {
      if (this.writes.get(key) === next) this.writes.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  private wake(): void {
    for (const listener of this.listeners) listener();
  }
}
