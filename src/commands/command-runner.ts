/**
 * What the organizer commands (`setup`, `submit`, `try`) share: the platform client made from the settings, and one way
 * to end: the result on stdout (text or --json), or the error on stderr (or as JSON) with exit status 2
 * when the configuration or the command line needs fixing and 1 otherwise. Everything printed goes
 * through the redactor; the token is never part of it.
 */
import { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { ConfigError } from '../config/config-error.js';
import { redactText } from '../logging/redact.js';
import { SynapseClient } from '../synapse/client.js';
import type { RetryPolicy } from '../synapse/retry.js';
import { UsageError } from '../organizer/errors.js';
import type { PlatformAccess } from '../organizer/platform-access.js';

/** Someone is waiting at a terminal: retry briefly, not for the daemon's ten minutes. */
const INTERACTIVE_RETRY: Partial<RetryPolicy> = { maxAttempts: 4, initialDelayMs: 500, totalTimeMs: 60_000 };

export function clientFor(access: PlatformAccess): SynapseClient {
  return new SynapseClient({ endpoint: access.endpoint, token: access.token, retry: INTERACTIVE_RETRY });
}

export function write(text: string): void {
  process.stdout.write(redactText(text));
}

export function printJson(value: unknown): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Runs a command's body and turns its outcome into output and an exit status. */
export async function runCommand(command: string, json: boolean, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return EXIT_OK;
  } catch (error) {
    const fixable = error instanceof ConfigError || error instanceof UsageError;
    const message = redactText(error instanceof Error ? error.message : String(error));
    if (json) {
      printJson({
        ok: false,
        error: message,
        ...(error instanceof ConfigError ? { problems: error.problems } : {}),
      });
    } else {
      process.stderr.write(`synapse-orchestrator ${command}: ${message}\n`);
    }
    return fixable ? EXIT_BAD_CONFIG : EXIT_FAILURE;
  }
}

/** Commander's collector for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
