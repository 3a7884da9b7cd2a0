/**
 * The instances' message outboxes, read from disk: `<work dir>/state/outbox/*.json`, one file per message
 * with its `state` (held, ready, sent, failed). A run is over only when none holds a message still to
 * send. An instance without an outbox (a version before it) has nothing pending.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from './instances.js';

export interface PendingMessage {
  instanceId: string;
  key: string;
  state: string;
  lastError?: string;
}

export function pendingMessages(instances: readonly Instance[]): PendingMessage[] {
  const pending: PendingMessage[] = [];
  for (const instance of instances) {
    const directory = join(instance.workDir, 'state', 'outbox');
    if (!existsSync(directory)) continue;
    for (const name of readdirSync(directory).filter((n) => n.endsWith('.json'))) {
      let entry: { key?: unknown; state?: unknown; lastError?: unknown };
      try {
        entry = JSON.parse(readFileSync(join(directory, name), 'utf8')) as typeof entry;
      } catch {
        continue; // replaced while read (the outbox writes a temporary file, then renames it)
      }
      const state = typeof entry.state === 'string' ? entry.state : 'unknown';
      if (state === 'sent' || state === 'failed') continue;
      pending.push({
        instanceId: instance.id,
        key: typeof entry.key === 'string' ? entry.key : name,
        state,
        ...(typeof entry.lastError === 'string' ? { lastError: entry.lastError } : {}),
      });
    }
  }
  return pending;
}
