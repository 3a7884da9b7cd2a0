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

export async function messagesAbout(
  admin: LocalPlatformAdmin,
  submissionIds: readonly string[],
): Promise<ReceivedMessage[]> {
  const received: ReceivedMessage[] = [];
  for (const message of await admin.messages()) {
    const subject = message.subject ?? '';
    const submissionId = submissionIds.find((id) => subject.includes(`Submission ${id} `));
    if (submissionId === undefined) continue;
    received.push({ to: message.recipients, subject, body: message.body, submissionId });
  }
  return received;
}
