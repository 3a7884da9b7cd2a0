/**
 * Messages to participants (Synapse delivers them as email): started, completed, failed, stopped on
 * request, timed out. Each kind has its bit in SUBMITTER_NOTIFICATION_MASK (1, 2, 4, 8, 16). The recipient
 * is the team for a team submission, else the user. Names are inserted as plain text, never through a
 * pattern replacement, so `$1` or `\` in a team name arrive unchanged.
 *
 * With SHARE_RESULTS_IMMEDIATELY=false no log content and no folder link reaches the participant. A failure
 * message quotes the failing step's own error when there is one fit to show (failure-reason.ts), else the
 * last lines of the log.
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import type { HeldFor, Outbox } from '../outbox/outbox.js';
import type { SynapseClient } from '../synapse/client.js';
import type { Submission } from '../synapse/types.js';
import { stepErrorForMessage, type StepError } from './failure-reason.js';
import { failureReason, type Outcome } from './outcome.js';

export type MessageKind = 'started' | 'completed' | 'failed' | 'stopped' | 'timed-out';

export const MASK_BITS: Record<MessageKind, number> = {
  started: 1,
  completed: 2,
  failed: 4,
  stopped: 8,
  'timed-out': 16,
};

export function messageKindFor(outcome: Outcome): MessageKind {
  if (outcome.kind === 'succeeded') return 'completed';
  if (outcome.kind === 'stopped-on-request') return 'stopped';
  if (outcome.kind === 'timed-out') return 'timed-out';
  if (outcome.kind === 'submission-failed' && outcome.timedOut) return 'timed-out';
  return 'failed';
}

export interface MessageDetails {
  submission: Submission;
  /** The folder holding the logs (shared or locked per configuration). */
  logFolderId?: string | undefined;
  outcome?: Outcome;
  /** The last lines of the log; only used when results are shared and no step error is quoted. */
  logTail?: string | undefined;
  /**
   * The failing step's own error (failure-reason.ts), already chosen as fit for the participant; one from
   * the log is still quoted only when results are shared.
   */
  stepError?: StepError | undefined;
  /** The status the submission ends in, e.g. ACCEPTED. */
  finalStatus?: string;
}

export interface ComposedMessage {
  recipient: string;
  subject: string;
  body: string;
}

export class ParticipantNotifier {
  private readonly names = new Map<string, Promise<string>>();
  private readonly queueNames = new Map<string, Promise<string>>();

  constructor(
    private readonly client: SynapseClient,
    private readonly config: Config,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  enabled(kind: MessageKind): boolean {
    return (this.config.notifications.submitterMask & MASK_BITS[kind]) !== 0;
  }

  /**
   * Puts the message in the outbox (outbox.ts), which sends it once, unless the mask turns it off. `key`
   * names it for good: the same key again (a step redone after a restart) adds nothing. With `heldFor`
   * it waits until released (a final message waits for its final status).
   */
  async queue(
    kind: MessageKind,
    details: MessageDetails,
    key: string,
    heldFor?: HeldFor,
  ): Promise<'queued' | 'masked' | 'already-queued'> {
    if (!this.enabled(kind)) return 'masked';
    if (this.outbox.has(key)) return 'already-queued';
    const message = await this.compose(kind, details);
    const fields = {
      key,
      submissionId: details.submission.id,
      kind,
      recipients: [message.recipient],
      subject: message.subject,
      body: message.body,
    };
    const added =
      heldFor === undefined ? await this.outbox.add(fields) : await this.outbox.hold(fields, heldFor);
    if (!added) return 'already-queued';
    this.logger.info('Message to the participant queued', {
      submissionId: details.submission.id,
      evaluationId: details.submission.evaluationId,
      kind,
      recipient: message.recipient,
      ...(heldFor === undefined ? {} : { until: `status ${heldFor.finalStatus} is written` }),
    });
    return 'queued';
  }

  async compose(kind: MessageKind, details: MessageDetails): Promise<ComposedMessage> {
    const { submission } = details;
    const recipient = submission.teamId ?? submission.userId;
    // A name that cannot be looked up (a deleted team, Synapse down) must not hold up the status this
    // message accompanies: the message goes with a plainer greeting instead.
    const [name, queue] = await Promise.all([
      this.nameOf(submission).catch((error: unknown) => {
        this.logger.warn('Could not look up the participant’s name; the message greets them without it', {
          submissionId: submission.id,
          error: (error as Error).message,
        });
        return submission.teamId === undefined ? 'participant' : 'team';
      }),
      this.queueName(submission.evaluationId).catch(() => `evaluation queue ${submission.evaluationId}`),
    ]);
    const shared = this.config.results.shareImmediately;
    const where = `${queue} (evaluation queue ${submission.evaluationId})`;
    const id = submission.id;
    const logs =
      shared && details.logFolderId !== undefined ? this.folderLink(details.logFolderId) : undefined;
    const lines: string[] = [`Hello ${name},`, ''];
    let subject: string;
    switch (kind) {
      case 'started':
        subject = `Submission ${id} is being evaluated: ${queue}`;
        lines.push(`Your submission ${id} to ${where} has started running.`);
        if (logs !== undefined) lines.push(`Its logs are uploaded while it runs, to ${logs}`);
        lines.push('', 'You will get another message when it finishes.');
        break;
      case 'completed':
        subject = `Submission ${id} finished: ${queue}`;
        lines.push(
          `Your submission ${id} to ${where} ran to the end without errors; its status is now ${details.finalStatus ?? 'ACCEPTED'}.`,
        );
        if (logs !== undefined) lines.push(`Its logs are in ${logs}`);
        lines.push(
          '',
          'Scores or other results, if this challenge reports any, are published by the organizers.',
        );
        break;
      case 'stopped':
        subject = `Submission ${id} was stopped: ${queue}`;
        lines.push(
          `Your submission ${id} to ${where} was stopped because its cancellation was requested. Nothing more runs for it.`,
        );
        if (logs !== undefined) lines.push(`The logs up to that point are in ${logs}`);
        lines.push('', 'You can submit again whenever you are ready.');
        break;
      case 'timed-out':
        subject = `Submission ${id} ran out of time: ${queue}`;
        lines.push(`Your submission ${id} to ${where} was stopped before it finished.`);
        lines.push(`Reason: ${reasonOf(details)}`);
        if (logs !== undefined) lines.push(`The logs up to that point are in ${logs}`);
        lines.push('', 'To fit within the limit, make the submission faster or lighter, then submit again.');
        break;
      case 'failed': {
        subject = `Submission ${id} failed: ${queue}`;
        lines.push(`Your submission ${id} to ${where} could not be evaluated.`);
        lines.push(`Reason: ${reasonOf(details)}`);
        const { stepError } = details;
        if (stepError !== undefined && (stepError.source === 'annotation' ? !stepError.isPrivate : shared)) {
          lines.push('', stepErrorForMessage(stepError));
        } else if (shared && details.logTail !== undefined && details.logTail.length > 0) {
          lines.push('', 'The last lines of its log:', details.logTail);
        }
        if (logs !== undefined) lines.push('', `The full logs are in ${logs}`);
        const ours = details.outcome !== undefined && details.outcome.kind !== 'failed';
        lines.push(
          '',
          ours && details.outcome?.kind !== 'out-of-memory' && details.outcome?.kind !== 'submission-failed'
            ? 'This was a problem on the evaluation side, not in your submission; you may submit again once the organizers have fixed it.'
            : 'Please check your submission against the challenge instructions, fix what the reason points to, and submit again.',
        );
        break;
      }
    }
    lines.push('', `Submission ${id} · ${queue}`);
    return { recipient, subject, body: lines.join('\n') };
  }

  /** A web link to a folder on Synapse, or its id on another platform (the local one). */
  private folderLink(folderId: string): string {
    return this.config.synapse.endpoint.isSynapseOrg
      ? `https://www.synapse.org/#!Synapse:${folderId}`
      : `folder ${folderId} on ${this.config.synapse.endpoint.baseUrl}`;
  }

  /** "First Last (userName)" or the user name; the team's name for a team. Cached per id. */
  private nameOf(submission: Submission): Promise<string> {
    const id = submission.teamId ?? submission.userId;
    let pending = this.names.get(id);
    if (pending === undefined) {
      pending = (async () => {
        if (submission.teamId !== undefined) return (await this.client.profiles.team(submission.teamId)).name;
        const user = await this.client.profiles.user(submission.userId);
        const full = [user.firstName, user.lastName].filter((p) => p !== undefined && p.length > 0).join(' ');
        return full.length > 0 ? `${full} (${user.userName})` : user.userName;
      })();
      pending.catch(() => this.names.delete(id));
      this.names.set(id, pending);
    }
    return pending;
  }

  private queueName(evaluationId: string): Promise<string> {
    let pending = this.queueNames.get(evaluationId);
    if (pending === undefined) {
      pending = this.client.evaluations.get(evaluationId).then((evaluation) => evaluation.name);
      pending.catch(() => this.queueNames.delete(evaluationId));
      this.queueNames.set(evaluationId, pending);
    }
    return pending;
  }
}

function reasonOf(details: MessageDetails): string {
  return details.outcome === undefined ? 'unknown' : (failureReason(details.outcome) ?? 'unknown');
}
