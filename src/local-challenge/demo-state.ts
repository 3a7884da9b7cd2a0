/**
 * What the demo seeded on its local platform, kept in `<demo dir>/demo.json` (tokens included, so the
 * file is readable by its owner only) so a second run reuses the same challenge, accounts and queues.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import type { SeededUser } from '../local-platform/admin-client.js';
import type { Team } from '../synapse/types.js';
import type { SeededChallenge } from './seed-challenge.js';

export interface DemoState {
  challenge: SeededChallenge;
  participants: { alice: SeededUser; bob: SeededUser };
  team: Team;
}

export function readDemoState(path: string): DemoState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DemoState;
  } catch {
    return undefined;
  }
}

export async function writeDemoState(path: string, state: DemoState): Promise<void> {
  await writeFile(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}
