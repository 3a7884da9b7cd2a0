/**
 * Messages to the people who run the challenge (NOTIFICATION_PRINCIPAL_ID, else the orchestrator's own
 * account) about pipeline problems: a broken template, an image that cannot be pulled, a log upload that
 * keeps failing, a job that vanished.
 *
 * Problems are collected during a tick and handed to the outbox (src/outbox/) at its end: one message per
 * distinct problem, listing every submission it hit in that tick. A problem already reported is not
 * reported again, not even after a restart (the reported keys are kept in a small file in the work
 * directory, and the outbox itself refuses a second message with the same key). The outbox sends it
 * once, retrying as long as it takes; it never fails an evaluation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../logging/logger.js';
import type { Outbox } from '../outbox/outbox.js';

export interface AdminAlert {
  /** Identifies the problem: the same key is reported once. */
  key: string;
  subject: string;
  body: string;
  submissionId?: string;
}

interface PendingAlert {
  alert: AdminAlert;
  submissions: Set<string>;
}

/** Kept so the file stays small: the oldest keys are forgotten first. */
const MAX_REMEMBERED = 5_000;

export class AdminAlerts {
  private readonly pending = new Map<string, PendingAlert>();
  private readonly reported: Set<string>;

  constructor(
    private readonly outbox: Outbox,
    private readonly recipient: () => Promise<string>,
    private readonly logger: Logger,
    private readonly stateFile?: string,
  ) {
    this.reported = new Set(readKeys(stateFile));
  }

  /** Notes a problem; sent by the next flush() unless it was reported before. */
  report(alert: AdminAlert): void {
    if (this.reported.has(alert.key)) {
      // A problem of the instance (no submission named: a silent instance, unclaimed running submissions)
      // is seen again at every tick while it lasts; only a submission newly hit by a known problem is news.
      const level = alert.submissionId === undefined ? 'debug' : 'info';
      this.logger.log(level, 'Pipeline problem already reported to the admin', {
        problem: alert.key,
        ...(alert.submissionId === undefined ? {} : { submissionId: alert.submissionId }),
      });
      return;
    }
    const entry = this.pending.get(alert.key) ?? { alert, submissions: new Set<string>() };
    if (alert.submissionId !== undefined) entry.submissions.add(alert.submissionId);
    this.pending.set(alert.key, entry);
  }

  async flush(): Promise<void> {
    for (const [key, { alert, submissions }] of [...this.pending]) {
      const affected = [...submissions];
      const body =
        affected.length > 1
          ? `${alert.body}\n\nThe same problem hit ${affected.length} submissions: ${affected.join(', ')}.`
          : alert.body;
      try {
        const recipient = await this.recipient();
        await this.outbox.add({
          key: `admin:${key}`,
          submissionId: undefined,
          kind: 'admin',
          recipients: [recipient],
          subject: alert.subject,
          body,
        });
        this.pending.delete(key);
        this.reported.add(key);
        await this.save();
        this.logger.info('Message to the admin about a pipeline problem queued', {
          problem: key,
          recipient,
          affected,
        });
      } catch (error) {
        this.logger.error('Could not queue the message about a pipeline problem; trying again next tick', {
          problem: key,
          error: (error as Error).message,
        });
      }
    }
  }

  private async save(): Promise<void> {
    if (this.stateFile === undefined) return;
    const keys = [...this.reported].slice(-MAX_REMEMBERED);
    await mkdir(dirname(this.stateFile), { recursive: true });
    const temporary = `${this.stateFile}.tmp`;
    await writeFile(temporary, JSON.stringify(keys));
    await rename(temporary, this.stateFile);
  }
}

function readKeys(file: string | undefined): string[] {
  if (file === undefined || !existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}
