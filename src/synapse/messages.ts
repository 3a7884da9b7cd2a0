/**
 * Sending Synapse messages (synapse-rest.md §7) so that none is lost and none is sent twice. The body is
 * uploaded as its own text file, so each message has a unique file handle; that handle is how a retry
 * recognises a message the server created although the answer never arrived. Sends are paced to Synapse's
 * per-sender limit (10 per 60 s), and a 429 means waiting, never giving up early.
 */
import { randomUUID } from 'node:crypto';
import { SynapseError } from './errors.js';
import type { FileApi } from './files.js';
import type { SynapseHttp } from './http.js';
import { backoffDelay } from './retry.js';
import type { MessageToUser, PaginatedResults } from './types.js';

export interface MessageApiOptions {
  /** Messages per rolling window (Synapse: 10). */
  limit?: number;
  /** The rolling window (Synapse: 60 s). */
  windowMs?: number;
  /**
   * How long one message may spend waiting out failures (429s, 5xx, network errors) before send() fails.
   * Time queued behind the pacing does not count. Default 30 minutes.
   */
  maxTotalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface OutgoingMessage {
  /** User or team ids. */
  recipients: string[];
  subject: string;
  /** Plain text. */
  body: string;
}

/** How many of the newest sent messages to look through for one whose answer was lost. */
const OUTBOX_LOOKBACK = 50;

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

export class MessageApi {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxTotalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** When recent sends went out, oldest first (at most `limit` kept). */
  private readonly sentAt: number[] = [];
  /** Sends take their slot in the window one after another, in call order. */
  private slotQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly http: SynapseHttp,
    private readonly files: FileApi,
    options: MessageApiOptions = {},
  ) {
    this.limit = options.limit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxTotalMs = options.maxTotalMs ?? 30 * 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    if (!(this.limit >= 1) || !(this.windowMs > 0))
      throw new Error('MessageApi needs limit >= 1 and windowMs > 0.');
  }

  async send(message: OutgoingMessage): Promise<MessageToUser> {
    const handle = await this.files.uploadText(message.body, {
      fileName: `message-${randomUUID()}.txt`,
      contentType: 'text/plain; charset=utf-8',
    });
    const request = { recipients: message.recipients, subject: message.subject, fileHandleId: handle.id };
    let waited = 0;
    let throttled = 0;
    let failed = 0;
    /** After a failure that may have happened once the message existed, look before sending again. */
    let mayExist = false;
    for (;;) {
      let error: SynapseError;
      try {
        if (mayExist) {
          const created = await this.findSent(handle.id);
          if (created !== undefined) return created;
          mayExist = false;
        }
        await this.takeSlot();
        return await this.http.request<MessageToUser>({
          api: 'repo',
          method: 'POST',
          path: '/message',
          body: request,
          retry: false,
        });
      } catch (caught) {
        if (!(caught instanceof SynapseError) || !caught.retryable) throw caught;
        error = caught;
      }
      let delay: number;
      if (error.status === 429 && !mayExist) {
        // Not created. Someone else may be sending as this user too: back off, starting at one slot's
        // worth of the window and never waiting longer than the whole window.
        throttled += 1;
        const slot = this.windowMs / this.limit;
        delay = Math.min(this.windowMs, slot * 2 ** (throttled - 1)) * (0.5 + this.random());
      } else {
        mayExist = true;
        failed += 1;
        delay = backoffDelay(this.http.policy, failed, error.status === 429, this.random());
      }
      delay = Math.round(delay);
      if (waited + delay > this.maxTotalMs) throw error;
      waited += delay;
      await this.sleep(delay);
    }
  }

  /** Waits until one more message fits in the rolling window, and counts it. */
  private takeSlot(): Promise<void> {
    const slot = this.slotQueue.then(async () => {
      for (;;) {
        const now = this.now();
        while (this.sentAt.length > 0 && (this.sentAt[0] ?? 0) <= now - this.windowMs) this.sentAt.shift();
        if (this.sentAt.length < this.limit) {
          this.sentAt.push(now);
          return;
        }
        await this.sleep((this.sentAt[0] ?? now) + this.windowMs - now + 1);
      }
    });
    this.slotQueue = slot.catch(() => undefined);
    return slot;
  }

  /**
   * Whether a message with this subject already went to `recipient` (among the newest sent ones): how a
   * restarted process avoids sending again what it sent just before it stopped.
   */
  async wasSent(subject: string, recipient: string): Promise<boolean> {
    const outbox = await this.http.request<PaginatedResults<MessageToUser>>({
      api: 'repo',
      method: 'GET',
      path: '/message/outbox',
      query: { limit: OUTBOX_LOOKBACK, offset: 0 },
    });
    return outbox.results.some((m) => m.subject === subject && m.recipients.includes(recipient));
  }

  /** The message carrying this body, if the server did create it. */
  private async findSent(fileHandleId: string): Promise<MessageToUser | undefined> {
    const outbox = await this.http.request<PaginatedResults<MessageToUser>>({
      api: 'repo',
      method: 'GET',
      path: '/message/outbox',
      query: { limit: OUTBOX_LOOKBACK, offset: 0 },
    });
    return outbox.results.find((m) => m.fileHandleId === fileHandleId);
  }
}
