/**
 * Sending Synapse messages (synapse-rest.md §7) so that none is lost and none is sent twice. The body is
 * uploaded as its own text file, so each message has a unique file handle; that handle is how a retry
 * recognises a message the server created although the answer never arrived. Sends are paced to Synapse's
 * per-sender limit (10 per 60 s by default), and a 429 means waiting, never giving up early.
 *
 * After an answer that never came (a timeout, a dropped connection, a 5xx), the server may still be working
 * on the request: looking in the outbox at once and sending again when the message is not there yet is how
 * a message goes out twice. So the look waits until the request can no longer be in progress
 * (`uncertainWaitMs`, the request timeout by default), and only then sends again.
 *
 * The daemon's participant and admin messages go through the persistent outbox (src/outbox/), which uses
 * the steps below one by one and keeps each step on disk; `send()` is the same rule for a caller that needs
 * no persistence.
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
  /**
   * How long after an answer that never came the outbox is searched for the message (default: the request
   * timeout): until then the server may still create it.
   */
  uncertainWaitMs?: number;
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

/** Outbox page size when looking for a message whose answer was lost. */
const OUTBOX_PAGE = 50;
/** Outbox entries created this long before the first attempt are still looked at (clock skew). */
const CLOCK_SLACK_MS = 5 * 60_000;

/** Whether a failed POST /message may still have created the message (a 429 never does). */
export function mayHaveBeenCreated(error: unknown): boolean {
  return !(error instanceof SynapseError) || error.status !== 429;
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

export class MessageApi {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxTotalMs: number;
  readonly uncertainWaitMs: number;
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
    this.uncertainWaitMs = options.uncertainWaitMs ?? http.policy.requestTimeoutMs;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    if (!(this.limit >= 1) || !(this.windowMs > 0))
      throw new Error('MessageApi needs limit >= 1 and windowMs > 0.');
  }

  /** Sends one message, riding out throttling and failures, never twice (see the top of this file). */
  async send(message: OutgoingMessage): Promise<MessageToUser> {
    const fileHandleId = await this.uploadBody(message.body);
    const firstAttempt = this.now();
    let waited = 0;
    let throttled = 0;
    let failed = 0;
    /** After a failure that may have happened once the message existed, look before sending again. */
    let mayExist = false;
    for (;;) {
      let error: SynapseError;
      try {
        if (mayExist) {
          const created = await this.findSent(fileHandleId, firstAttempt);
          if (created !== undefined) return created;
        }
        return await this.post({ recipients: message.recipients, subject: message.subject, fileHandleId });
      } catch (caught) {
        if (!(caught instanceof SynapseError) || !caught.retryable) throw caught;
        error = caught;
      }
      let delay: number;
      if (!mayHaveBeenCreated(error)) {
        throttled += 1;
        delay = this.throttledDelay(throttled);
      } else {
        mayExist = true;
        failed += 1;
        delay = Math.max(this.uncertainWaitMs, backoffDelay(this.http.policy, failed, false, this.random()));
      }
      delay = Math.round(delay);
      if (waited + delay > this.maxTotalMs) throw error;
      waited += delay;
      await this.sleep(delay);
    }
  }

  /**
   * The wait after the `count`th 429 in a row. Someone else may be sending as this user too: back off,
   * starting at one slot's worth of the window and never waiting longer than the whole window.
   */
  throttledDelay(count: number): number {
    const slot = this.windowMs / this.limit;
    return Math.min(this.windowMs, slot * 2 ** (count - 1)) * (0.5 + this.random());
  }

  /** Uploads a message body as its own file; the handle identifies the message from then on. */
  async uploadBody(body: string): Promise<string> {
    return this.files.uploadTextForId(body, {
      fileName: `message-${randomUUID()}.txt`,
      contentType: 'text/plain; charset=utf-8',
    });
  }

  /**
   * One POST /message, in its turn under the pacing; no retry (the caller decides, see mayHaveBeenCreated).
   * `sending` runs once the turn has come, just before the request goes (the outbox records the time there).
   */
  async post(
    request: { recipients: string[]; subject: string; fileHandleId: string },
    sending?: () => Promise<void>,
  ): Promise<MessageToUser> {
    await this.takeSlot();
    await sending?.();
    return this.http.request<MessageToUser>({
      api: 'repo',
      method: 'POST',
      path: '/message',
      body: request,
      retry: false,
    });
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
   * The message carrying this body, if the server created it: the outbox is read newest first, back to
   * messages created a little before `since` (when the first attempt was made).
   */
  async findSent(fileHandleId: string, since: number): Promise<MessageToUser | undefined> {
    for (let offset = 0; ; offset += OUTBOX_PAGE) {
      const page = await this.http.request<PaginatedResults<MessageToUser>>({
        api: 'repo',
        method: 'GET',
        path: '/message/outbox',
        query: { limit: OUTBOX_PAGE, offset, orderBy: 'SEND_DATE', descending: true },
      });
      const found = page.results.find((m) => m.fileHandleId === fileHandleId);
      if (found !== undefined) return found;
      const oldest = page.results.at(-1);
      if (page.results.length < OUTBOX_PAGE || oldest === undefined) return undefined;
      if (Date.parse(oldest.createdOn) < since - CLOCK_SLACK_MS) return undefined;
    }
  }
}
