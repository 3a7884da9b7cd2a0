/** The messages the local platform delivered about some submissions (their subjects name them). */
import type { LocalPlatformAdmin } from '../local-platform/admin-client.js';

export interface ReceivedMessage {
  /** Recipient principal ids (a user or a team). */
  to: string[];
  subject: string;
  body: string;
  submissionId: string;
}

/** Every message the platform delivered, oldest first. */
export async function allMessages(admin: LocalPlatformAdmin): Promise<ReceivedMessage[]> {
  return (await admin.messages()).map((message) => ({
    to: message.recipients,
    subject: message.subject ?? '',
    body: message.body,
    submissionId: /Submission (\d+) /.exec(message.subject ?? '')?.[1] ?? '',
  }));
}

/** The messages about `submissionIds`, oldest first. */
export async function messagesAbout(
  admin: LocalPlatformAdmin,
  submissionIds: readonly string[],
): Promise<ReceivedMessage[]> {
  const wanted = new Set(submissionIds);
  return (await allMessages(admin)).filter((message) => wanted.has(message.submissionId));
}
