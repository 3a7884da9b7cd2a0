/**
 * The organizers' message about a final log that could not be stored in the submission's folder.
 *
 * A 403 is told apart: the account lost a right on the folder (a workflow step can take it away; see
 * lost-rights.ts), named with the folder and what to change. That is one problem per queue and right,
 * since a template that does it does it to every submission, so it is reported once; the message says
 * that later submissions hit by it have their logs kept in the same directory without another message,
 * and the orchestrator's own log names each one (keepUnuploadedLog). Any other failure is reported per
 * submission.
 */
import type { Submission } from '../synapse/types.js';
import type { AdminAlert } from './admin-alerts.js';
import type { Services } from './services.js';
import { unuploadedLogsDir } from './job-logs.js';
import { describeLostRight, diagnoseLostRight, type LostRight } from './lost-rights.js';

export interface UnuploadedLog {
  submission: Submission;
  folderId: string;
  error: unknown;
  /** Where the log is kept on the Docker host; undefined when it could not be kept. */
  keptAt: string | undefined;
  /** The directory kept logs go to, on the Docker host. */
  keptIn: string;
}

/** The alert for `log`; `lost` when the upload was refused for a right the account no longer has. */
export function unuploadedLogAlert(log: UnuploadedLog, lost: LostRight | undefined): AdminAlert {
  const { submission, folderId, error, keptAt, keptIn } = log;
  const what = `The final log of submission ${submission.id} (evaluation queue ${submission.evaluationId}) could not be uploaded`;
  const kept =
    keptAt === undefined
      ? "The log could not be kept either (see the orchestrator's own log)."
      : `The log is kept on the Docker host at ${keptAt} (every log that cannot be uploaded goes to ${keptIn}, readable by the orchestrator's user only); nothing deletes it, so remove it once read.`;
  if (lost === undefined) {
    return {
      key: `log-upload:${submission.id}`,
      subject: 'Submission Pipeline Failed',
      submissionId: submission.id,
      body: `${what}: ${(error as Error).message}\n${kept}`,
    };
  }
  return {
    key: `lost-right:${submission.evaluationId}:${lost.right}`,
    subject: 'Submission Pipeline Failed',
    submissionId: submission.id,
    body: [
      `${what}: ${(error as Error).message}`,
      '',
      describeLostRight(lost),
      '',
      `The submission was finished all the same (status, message and clean-up); only its final log is missing from folder ${folderId}. ${kept}`,
      '',
      `This message is sent once for queue ${submission.evaluationId} and this right. Later submissions that hit the same problem are finished the same way and their final logs kept in ${keptIn} as well, without another message; the orchestrator's own log names each one at warn level ("Kept the final log that could not be uploaded").`,
    ].join('\n'),
  };
}

/** Tells the organizers that the final log could not be stored (diagnosing a 403 first). */
export async function reportUnuploadedLog(
  ctx: Services,
  submission: Submission,
  folderId: string,
  error: unknown,
  keptAt: string | undefined,
): Promise<void> {
  const lost = await diagnoseLostRight(ctx.client, error, folderId);
  ctx.alerts.report(
    unuploadedLogAlert({ submission, folderId, error, keptAt, keptIn: unuploadedLogsDir(ctx).host }, lost),
  );
}
