/**
 * Local platform routes: messages (/repo/v1/message), with Synapse's recipient rules and its per-sender
 * rate limit (synapse-rest.md §7), plus /__local/messages, which shows each message with its decoded body
 * so tests can read what was sent.
 */
import type { MessageToUser, PaginatedResults } from '../../synapse/types.js';
import type { RouteModule } from '../context.js';
import { badRequest, forbidden, tooManyRequests } from '../errors.js';
import { blobNameOf } from '../files.js';
import { principalsOf } from '../permissions.js';
import type { PlatformState, StoredMessage } from '../state.js';

const MAX_RECIPIENTS = 50;
const MAX_PAGE = 100;

interface NewMessage {
  recipients?: unknown;
  subject?: unknown;
  fileHandleId?: unknown;
}

/** An id sent as a JSON string or number, as a string. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function messageView(message: StoredMessage): MessageToUser {
  return {
    id: message.id,
    createdBy: message.createdBy,
    fileHandleId: message.fileHandleId,
    createdOn: message.createdOn,
    recipients: [...message.recipients],
    ...(message.subject === undefined ? {} : { subject: message.subject }),
  };
}

/** The recipients as distinct principal id strings, checked against Synapse's rules. */
function validRecipients(state: PlatformState, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest('recipients must be set.');
  const recipients = [...new Set(value.map((id: unknown) => idOf(id) ?? JSON.stringify(id)))];
  if (recipients.length > MAX_RECIPIENTS) {
    throw badRequest(
      `May not message more than ${MAX_RECIPIENTS} at once.  Consider grouping the recipients in a Team if possible.`,
    );
  }
  const unknown = recipients.filter((id) => state.users[id] === undefined && state.teams[id] === undefined);
  if (unknown.length > 0) {
    throw badRequest(`One or more of the following IDs are not recognized: [${unknown.join(', ')}]`);
  }
  return recipients;
}

/** A sender may attach a handle they created, or one from a message they sent or received. */
function mayAttach(state: PlatformState, sender: string, fileHandleId: string): boolean {
  const handle = state.fileHandles[fileHandleId];
  if (handle === undefined) return false;
  if (handle.createdBy === sender) return true;
  const principals = principalsOf(state, sender);
  return state.messages.some(
    (m) =>
      m.fileHandleId === fileHandleId &&
      (m.createdBy === sender || m.recipients.some((r) => principals.has(r))),
  );
}

/** Synapse's numbers read best without trailing zeros: 60 seconds, or 0.3 seconds in a fast test. */
function secondsOf(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

function pagingNumber(value: string | undefined, name: string, fallback: number, max?: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || (max !== undefined && number > max)) {
    throw badRequest(
      max === undefined ? `${name} must be a non-negative integer` : `${name} must be between 0 and ${max}`,
    );
  }
  return number;
}

export const registerMessageRoutes: RouteModule = (app, { store, messageLimit }) => {
  app.post<{ Body: NewMessage | undefined }>('/repo/v1/message', (request, reply) => {
    const sender = request.principalId;
    const body = request.body ?? {};
    const state = store.state;
    const recipients = validRecipients(state, body.recipients);
    const fileHandleId = idOf(body.fileHandleId);
    if (fileHandleId === undefined) throw badRequest('fileHandleId must be set.');
    if (!mayAttach(state, sender, fileHandleId)) throw forbidden('Invalid file handle given');
    const subject = typeof body.subject === 'string' ? body.subject : undefined;

    const now = Date.now();
    const recent = (state.messageTimes[sender] ?? []).filter((time) => time > now - messageLimit.windowMs);
    if (recent.length >= messageLimit.count) {
      throw tooManyRequests(
        `Please slow down.  You may send a maximum of ${messageLimit.count} message(s) every ${secondsOf(messageLimit.windowMs)} second(s)`,
      );
    }
    const message = store.change((s) => {
      const created: StoredMessage = {
        id: store.nextId(),
        createdBy: sender,
        recipients,
        ...(subject === undefined ? {} : { subject }),
        fileHandleId,
        createdOn: new Date(now).toISOString(),
      };
      s.messages.push(created);
      s.messageTimes[sender] = [...recent, now];
      return created;
    });
    return reply.code(201).send(messageView(message));
  });

  app.get<{ Querystring: { limit?: string; offset?: string; descending?: string } }>(
    '/repo/v1/message/outbox',
    (request) => {
      const limit = pagingNumber(request.query.limit, 'limit', 10, MAX_PAGE);
      const offset = pagingNumber(request.query.offset, 'offset', 0);
      const oldestFirst = request.query.descending === 'false';
      // Messages are stored in creation order, and ids only grow.
      const sent = store.state.messages.filter((m) => m.createdBy === request.principalId);
      if (!oldestFirst) sent.reverse();
      const results = sent.slice(offset, offset + limit).map(messageView);
      const page: PaginatedResults<MessageToUser> = {
        totalNumberOfResults: offset + results.length + (results.length >= limit ? 1 : 0),
        results,
      };
      return page;
    },
  );

  // --- administration (not Synapse)

  app.get('/__local/messages', () => {
    const state = store.state;
    return state.messages.map((message) => {
      const handle = state.fileHandles[message.fileHandleId];
      const blob = blobNameOf(message.fileHandleId);
      const body =
        handle !== undefined && handle.externalURL === undefined && store.hasBlob(blob)
          ? store.readBlob(blob).toString('utf8')
          : undefined;
      return {
        ...messageView(message),
        ...(body === undefined ? {} : { body }),
        recipientNames: message.recipients.map(
          (id) => state.users[id]?.userName ?? state.teams[id]?.name ?? id,
        ),
      };
    });
  });
};

/** What GET /__local/messages returns for each message. */
export type LocalMessage = MessageToUser & { body?: string; recipientNames: string[] };
