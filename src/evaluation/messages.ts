/**
 * The participant's messages of one run, by name: one "started" and one final message per job, each
 * with a key the outbox never accepts twice, so that redoing a step (after a restart, a lost answer, a
 * retried finish) can never send a second copy.
 */
import type { HeldFor } from '../outbox/outbox.js';
import type { Submission } from '../synapse/types.js';
import type { MessageDetails, MessageKind } from './notifications.js';
import type { Services } from './services.js';

export const startedKey = (submissionId: string, jobName: string) => `${submissionId}:${jobName}:started`;
export const finalKey = (submissionId: string, jobName: string | undefined) =>
  `${submissionId}:${jobName ?? 'no-job'}:final`;

/** Queues the "started" message; true when it is in the outbox (false when the mask turns it off). */
export async function queueStartedMessage(
  svc: Services,
  submission: Submission,
  jobName: string,
  logFolderId: string | undefined,
): Promise<boolean> {
  const result = await svc.notifier.queue(
    'started',
    { submission, logFolderId },
    startedKey(submission.id, jobName),
  );
  return result !== 'masked';
}

/**
 * Queues the final message, held until the final status is written (then `release`), so that nobody
 * reads "finished" about a status someone else decided.
 */
export async function holdFinalMessage(
  svc: Services,
  kind: MessageKind,
  details: MessageDetails & { finalStatus: string },
  jobName: string | undefined,
): Promise<{ key: string; queued: boolean }> {
  const key = finalKey(details.submission.id, jobName);
  const heldFor: HeldFor = { submissionId: details.submission.id, jobName, finalStatus: details.finalStatus };
  svc.sender.holding(key);
  const result = await svc.notifier.queue(kind, details, key, heldFor);
  return { key, queued: result !== 'masked' };
}
