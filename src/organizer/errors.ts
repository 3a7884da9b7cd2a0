/**
 * Errors of the organizer commands. A UsageError means the command line (an option, an argument, a file
 * it names) needs fixing, and its message names what to change; anything else is a failure on the way
 * (the platform refused, the network broke) and says what was being done.
 */
import { redactText } from '../logging/redact.js';
import type { SynapseClient } from '../synapse/client.js';
import { isSynapseError } from '../synapse/errors.js';
import type { UserProfile } from '../synapse/types.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(redactText(message));
    this.name = 'UsageError';
  }
}

/** A failure while doing `what`, with Synapse's own reason when there is one. */
export class OrganizerError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(redactText(message), options);
    this.name = 'OrganizerError';
  }
}

/** Synapse's reason (or the error's message) for showing after "because". */
export function reasonOf(error: unknown): string {
  if (isSynapseError(error)) {
    return error.status === undefined
      ? `${error.reason} (${error.code ?? 'network error'})`
      : `${error.reason} (HTTP ${error.status})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Wraps `error` as an OrganizerError saying what failed, unless it already explains itself. */
export function failure(what: string, error: unknown): Error {
  if (error instanceof UsageError || error instanceof OrganizerError) return error;
  return new OrganizerError(`${what} failed: ${reasonOf(error)}`, { cause: error });
}

/** Runs `step`, turning anything it throws into an error that says which step it was. */
export async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw failure(what, error);
  }
}

/**
 * The token's account. A refused token or an endpoint that does not answer is something to fix in the
 * settings, so it is a UsageError naming the variable.
 */
export async function whoAmI(client: SynapseClient): Promise<UserProfile> {
  try {
    return await client.profiles.me();
  } catch (error) {
    if (isSynapseError(error, 401) || isSynapseError(error, 403)) {
      throw new UsageError(
        `SYNAPSE_PAT was refused (${error.reason}): check the token, and SYNAPSE_ENDPOINT if it belongs to another Synapse stack.`,
      );
    }
    if (isSynapseError(error) && error.status === undefined) {
      throw new UsageError(
        `SYNAPSE_ENDPOINT did not answer (${error.reason}): check the URL, and that the platform is running.`,
      );
    }
    throw failure('Reading the account of SYNAPSE_PAT', error);
  }
}
