/**
 * The one worker that empties the outbox (outbox.ts): in order of arrival, one message at a time, each
 * step written down before it is taken, so that a message is sent exactly once:
 *
 *   1. upload the body (its file handle identifies the message) and write the handle down;
 *   2. write down the time of the attempt, then POST /message;
 *   3. on success, mark it sent. On a 429 (never created) wait and go to 2. On anything else (a timeout,
 *      a dropped connection, a 5xx: it may have been created) wait until the request can no longer be in
 *      progress, then look for the handle in the Synapse outbox: found means sent; else go to 2.
 *
 * A process that stopped anywhere in between resumes at the right step from what was written down. Messages
 * about one submission keep their order (a "started" message that waits holds back that submission's
 * final message, not anyone else's). A message Synapse refuses for good (400, 403, 404) is marked failed
 * and logged; nothing retries it.
 *
 * Held final messages left by an earlier process are settled from the submission's status: released when
 * the status this job was to write is there, dropped when someone else decided it, left alone while the
 * submission still runs (its finish will come).
 */
import type { Logger } from '../logging/logger.js';
import { SynapseError } from '../synapse/errors.js';
import { mayHaveBeenCreated, type MessageApi } from '../synapse/messages.js';
import { backoffDelay, type RetryPolicy } from '../synapse/retry.js';
import type { SubmissionStatus } from '../synapse/types.js';
import type { Outbox, OutboxMessage } from './outbox.js';

/** Told about each message sent or given up on (the daemon's metrics). */
export interface MessageObserver {
  sent(kind: string): void;
  /** Given up on (an error that retrying cannot fix). */
  failed(kind: string): void;
}

export interface SenderDependencies {
  outbox: Outbox;
  messages: MessageApi;
  /** For held messages of an earlier process: the submission's status now. */
  statusOf: (submissionId: string) => Promise<SubmissionStatus>;
  /** The job a status belongs to (its WorkflowJobId annotation). */
  jobOf: (status: SubmissionStatus) => string | undefined;
  /** Whether a held message's submission is still running this job (then its finish will settle it). */
  isRunning: (status: SubmissionStatus) => boolean;
  /** A status's WorkflowLastUpdated (which identifies the write that set it). */
  writtenAtOf: (status: SubmissionStatus) => number | undefined;
  logger: Logger;
  retry: RetryPolicy;
  now?: () => number;
  random?: () => number;
  observer?: MessageObserver;
}

/** How often held messages of an earlier process are looked at. */
const HELD_CHECK_MS = 30_000;
/** The longest the worker sleeps with nothing to do before looking again. */
const IDLE_MS = 5_000;

export class OutboxSender {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Keys of held messages whose finish runs in this process (the worker leaves those alone). */
  private readonly heldHere = new Set<string>();
  private lastHeldCheck = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: SenderDependencies) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** Marks a held message as this process's own (released or dropped by its finish, not by the worker). */
  holding(key: string): void {
    this.heldHere.add(key);
  }

  /** The finish settled its held message. */
  settled(key: string): void {
    this.heldHere.delete(key);
  }

  start(): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.unsubscribe = this.deps.outbox.onReady(() => this.wakeUp?.());
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /**
   * Stops after the step in progress, waiting at most `graceMs` for it. A POST cut short is resumed from
   * what was written down at the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wakeUp?.();
    const running = this.running;
    if (running === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  /** Resolves once no message is ready to go (all sent, or held), or after `timeoutMs`. Needs start(). */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.waitingCount() > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, deadline - Date.now())));
    }
    return true;
  }

  private waitingCount(): number {
    return this.deps.outbox.pending().filter((m) => m.state === 'ready').length;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.now() - this.lastHeldCheck >= HELD_CHECK_MS) {
          this.lastHeldCheck = this.now();
          await this.settleHeldOfEarlierProcess();
        }
        const next = this.nextDue();
        if (next !== undefined) {
          await this.process(next);
          continue;
        }
        await this.sleep(this.untilNextDue());
      } catch (error) {
        this.deps.logger.error('The message outbox hit an error; going on', {
          error: (error as Error).message,
        });
        await this.sleep(1_000);
      }
    }
  }

  /** The first ready message that is due and not behind an unsent message about the same submission. */
  private nextDue(): OutboxMessage | undefined {
    const blocked = new Set<string>();
    const now = this.now();
    for (const message of this.deps.outbox.pending()) {
      const group = message.submissionId;
      if (group !== undefined && blocked.has(group)) continue;
      if (group !== undefined) blocked.add(group);
      if (message.state !== 'ready') continue;
      if (this.dueAt(message) > now) continue;
      return message;
    }
    return undefined;
  }

  /** When a message may be tried: after its backoff, and never while an unanswered POST may still land. */
  private dueAt(message: OutboxMessage): number {
    const uncertainUntil =
      message.inFlightSince === undefined ? 0 : message.inFlightSince + this.deps.messages.uncertainWaitMs;
    return Math.max(message.nextAttemptAt ?? 0, uncertainUntil);
  }

  private untilNextDue(): number {
    const now = this.now();
    const times = this.deps.outbox
      .pending()
      .filter((m) => m.state === 'ready')
      .map((m) => this.dueAt(m) - now);
    return Math.max(50, Math.min(IDLE_MS, ...times));
  }

  private async process(message: OutboxMessage): Promise<void> {
    const { outbox, messages, logger } = this.deps;
    const context = {
      message: message.kind,
      ...(message.submissionId === undefined ? {} : { submissionId: message.submissionId }),
    };
    try {
      let fileHandleId = message.fileHandleId;
      if (fileHandleId === undefined) {
        fileHandleId = await messages.uploadBody(message.body);
        await outbox.update(message.key, { fileHandleId });
      }
      if (message.firstAttemptAt !== undefined) {
        const found = await messages.findSent(fileHandleId, message.firstAttemptAt);
        if (found !== undefined) {
          await this.markSent(message, 'found in the outbox after an unanswered send');
          return;
        }
      }
      await messages.post(
        { recipients: message.recipients, subject: message.subject, fileHandleId },
        async () => {
          // Written once the pacing let it go, right before the request: from here on it may exist.
          const now = this.now();
          await outbox.update(message.key, {
            firstAttemptAt: message.firstAttemptAt ?? now,
            inFlightSince: now,
            attempts: message.attempts + 1,
          });
        },
      );
      await this.markSent(message);
    } catch (error) {
      const failure = error instanceof SynapseError ? error : undefined;
      const retryable = failure === undefined ? isNetworkLike(error) : failure.retryable;
      if (!retryable) {
        await outbox.update(message.key, {
          state: 'failed',
          inFlightSince: undefined,
          lastError: (error as Error).message,
        });
        this.deps.observer?.failed(message.kind);
        logger.error('A message could not be sent and will not be tried again', {
          ...context,
          recipients: message.recipients,
          error: (error as Error).message,
        });
        return;
      }
      const attempts = message.attempts + 1;
      // Throttled (429): nothing was created, wait for a slot. Anything else may have created it: wait until
      // the request can no longer be in progress; the next attempt looks in the Synapse outbox first.
      const uncertain = mayHaveBeenCreated(error);
      const delay = Math.round(
        uncertain
          ? Math.max(messages.uncertainWaitMs, backoffDelay(this.deps.retry, attempts, false, this.random()))
          : messages.throttledDelay(attempts),
      );
      await outbox.update(message.key, {
        ...(uncertain ? {} : { inFlightSince: undefined }),
        attempts,
        nextAttemptAt: this.now() + delay,
        lastError: (error as Error).message,
      });
      logger.warn('Could not send a message yet; it stays in the outbox', {
        ...context,
        retryInMs: delay,
        error: (error as Error).message,
      });
    }
  }

  private async markSent(message: OutboxMessage, how?: string): Promise<void> {
    await this.deps.outbox.update(message.key, {
      state: 'sent',
      sentAt: this.now(),
      inFlightSince: undefined,
    });
    this.deps.observer?.sent(message.kind);
    this.deps.logger.info('Message sent', {
      message: message.kind,
      ...(message.submissionId === undefined ? {} : { submissionId: message.submissionId }),
      recipients: message.recipients,
      ...(how === undefined ? {} : { how }),
    });
  }

  /** Held messages no finish of this process is settling: release, drop or leave them, per the status. */
  private async settleHeldOfEarlierProcess(): Promise<void> {
    const held = this.deps.outbox
      .pending()
      .filter((m) => m.state === 'held' && m.heldFor !== undefined && !this.heldHere.has(m.key));
    for (const message of held) {
      const heldFor = message.heldFor;
      if (heldFor === undefined) continue;
      try {
        const status = await this.deps.statusOf(heldFor.submissionId);
        const sameJob = heldFor.jobName === undefined || this.deps.jobOf(status) === heldFor.jobName;
        if (sameJob && this.deps.isRunning(status)) continue; // its finish is still to come
        if (this.heldHere.has(message.key)) continue; // a finish of this process took it meanwhile
        const sameWrite =
          heldFor.writtenAt === undefined || this.deps.writtenAtOf(status) === heldFor.writtenAt;
        if (sameJob && sameWrite && status.status === heldFor.finalStatus) {
          await this.deps.outbox.release(message.key);
          this.deps.logger.info('Releasing a final message held by an earlier run; its status was written', {
            submissionId: heldFor.submissionId,
          });
        } else {
          await this.deps.outbox.drop(message.key);
          this.deps.logger.warn(
            'Dropping a final message held by an earlier run; the status was decided otherwise',
            {
              submissionId: heldFor.submissionId,
              status: status.status,
            },
          );
        }
      } catch (error) {
        this.deps.logger.warn('Could not check a held message; looking again later', {
          submissionId: heldFor.submissionId,
          error: (error as Error).message,
        });
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        resolve();
      }
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function isNetworkLike(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('E');
}
