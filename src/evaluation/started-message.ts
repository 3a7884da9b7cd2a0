/**
 * The "started" message, sent in the background: Synapse lets an account send 10 messages a minute, and
 * the client waits its turn, so a tick that awaited every "started" message could stand still for a
 * minute while running jobs (a cancel, a time-out) wait. The tick starts the send and moves on; a later
 * tick records the outcome (SubmissionProcessingStartedSent) once it is known, or starts it again after
 * a failure.
 */
import type { RunContext } from './context.js';
import type { MessageDetails } from './notifications.js';

/** What became of a "started" message: settled or still on its way. */
export type StartedMessageState = 'sent' | 'masked' | 'failed' | 'pending';

export interface InFlightStartedMessage {
  state: StartedMessageState;
  error?: string;
  /** Settles when the send does (never rejects). */
  done?: Promise<void>;
}

/** Starts sending unless a send for this job is already on its way. */
export function sendStartedMessage(
  ctx: RunContext,
  jobName: string,
  details: MessageDetails,
  checkOutbox: boolean,
): void {
  const current = ctx.startedMessages.get(jobName);
  if (current !== undefined && current.state !== 'failed') return;
  const inFlight: InFlightStartedMessage = { state: 'pending' };
  ctx.startedMessages.set(jobName, inFlight);
  inFlight.done = ctx.notifier.send('started', details, checkOutbox).then(
    (result) => {
      inFlight.state = result === 'masked' ? 'masked' : 'sent';
    },
    (error: unknown) => {
      inFlight.state = 'failed';
      inFlight.error = (error as Error).message;
      ctx.logger.warn('Could not send the "started" message; trying again next tick', {
        submissionId: details.submission.id,
        error: inFlight.error,
      });
    },
  );
}

/** The state of this job's send, or undefined when none was started by this process. */
export function startedMessageState(ctx: RunContext, jobName: string): StartedMessageState | undefined {
  return ctx.startedMessages.get(jobName)?.state;
}

/** Waits up to `ms` for the send to settle (a quick send is recorded in the same status write). */
export async function settleStartedMessage(
  ctx: RunContext,
  jobName: string,
  ms: number,
): Promise<StartedMessageState | undefined> {
  const done = ctx.startedMessages.get(jobName)?.done;
  if (done !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
  return startedMessageState(ctx, jobName);
}

/** Resolves when this job's "started" message, if one is on its way, has gone out or failed. */
export async function startedMessageSettled(ctx: RunContext, jobName: string): Promise<void> {
  await ctx.startedMessages.get(jobName)?.done;
}

/** Every send still on its way (for a shutdown that waits for them). */
export function pendingStartedMessages(ctx: RunContext): Promise<void>[] {
  return [...ctx.startedMessages.values()].flatMap((inFlight) =>
    inFlight.state === 'pending' && inFlight.done !== undefined ? [inFlight.done] : [],
  );
}

/** Forgets the job's send (when the job is finished). */
export function forgetStartedMessage(ctx: RunContext, jobName: string): void {
  ctx.startedMessages.delete(jobName);
}
