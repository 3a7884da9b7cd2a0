/**
 * What an instance tells whoever looks at its work directory: `state/instance.json` (written by the daemon
 * at every tick: running, draining or stopped, how many workflows run, the outbox's counts), and the
 * drain request `state/drain` (written by `synapse-orchestrator drain`, read by the daemon at every tick;
 * it stays until `drain --resume`, so a restarted instance keeps draining).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface InstanceState {
  orchestratorId: string;
  pid: number;
  state: 'running' | 'draining' | 'stopped';
  drainReason?: string;
  runningJobs: number;
  lastTickAt?: string;
  messages: Record<string, number>;
  updatedAt: string;
}

const stateDir = (workDir: string) => join(workDir, 'state');
export const instanceStateFile = (workDir: string) => join(stateDir(workDir), 'instance.json');
export const drainFile = (workDir: string) => join(stateDir(workDir), 'drain');

export function drainRequested(workDir: string): boolean {
  return existsSync(drainFile(workDir));
}

/** Asks the instance using `workDir` to drain (or, with `on` false, to take new submissions again). */
export async function requestDrain(workDir: string, on: boolean): Promise<void> {
  if (!on) {
    await rm(drainFile(workDir), { force: true });
    return;
  }
  await mkdir(stateDir(workDir), { recursive: true });
  await writeFile(drainFile(workDir), `requested ${new Date().toISOString()}\n`);
}

export async function writeInstanceState(workDir: string, state: InstanceState): Promise<void> {
  await mkdir(stateDir(workDir), { recursive: true });
  const file = instanceStateFile(workDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function readInstanceState(workDir: string): Promise<InstanceState | undefined> {
  try {
    return JSON.parse(await readFile(instanceStateFile(workDir), 'utf8')) as InstanceState;
  } catch {
    return undefined;
  }
}
