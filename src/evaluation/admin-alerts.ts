/**
 * Messages to the people who run the challenge (NOTIFICATION_PRINCIPAL_ID, else the orchestrator's own
 * account) about pipeline problems: a broken template, an image that cannot be pulled, a job that vanished.
 * Each distinct problem is sent once per process, listing the submissions it hit so far; a failed send is
 * logged and retried with the next occurrence, and never fails the evaluation.
 */
import type { Logger } from '../logging/logger.js';
import type { SynapseClient } from '../synapse/client.js';

export interface AdminAlert {
  /** Identifies the problem: the same key is reported once. */
  key: string;
  subject: string;
  body: string;
  submissionId?: string;
}

export class AdminAlerts {
  private readonly sent = new Set<string>();

  constructor(
    private readonly client: SynapseClient,
    private readonly recipient: () => Promise<string>,
    private readonly logger: Logger,
  ) {}

  async report(alert: AdminAlert): Promise<void> {
    if (this.sent.has(alert.key)) {
      this.logger.info('Pipeline problem already reported to the admin', { problem: alert.key });
      return;
    }
    this.sent.add(alert.key);
    try {
      const recipient = await this.recipient();
      await this.client.messages.send({ recipients: [recipient], subject: alert.subject, body: alert.body });
      this.logger.info('Told the admin about a pipeline problem', { problem: alert.key, recipient });
    } catch (error) {
      this.sent.delete(alert.key);
      this.logger.error('Could not tell the admin about a pipeline problem', {
        problem: alert.key,
        error: (error as Error).message,
      });
    }
  }
}
