/**
 * What the run left, gathered once every instance has stopped: the platform's own state (dump, write
 * journal, messages with their bodies), the engine's events, the stored logs' contents, and whatever
 * the instances left behind (containers with their labels, job directories, credential files).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { LABELS } from '../../src/engine/interfaces.js';
import { blobNameOf } from '../../src/local-platform/files.js';
import type { Journal } from '../../src/local-platform/journal.js';
import type { PlatformState, StoredMessage } from '../../src/local-platform/state.js';
import { unzip } from '../support/archives.js';
import type { ChaosChallenge } from './challenge.js';
import type { ContainerEvent } from './docker-events.js';
import type { Instance } from './instances.js';

export type Message = StoredMessage & { body: string };

export interface Leftovers {
  containers: string[];
  jobDirectories: string[];
  credentialFiles: string[];
  /** Final logs the instances kept because they could not upload them (not leftovers; reported). */
  keptLogs: string[];
}

export interface Observations {
  dump: Omit<PlatformState, 'tokens'>;
  journal: Journal;
  messages: Message[];
  events: ContainerEvent[];
  leftovers: Leftovers;
  /** The text of a stored file (a log zip's one entry), by file handle id. */
  logText(fileHandleId: string): Promise<string | undefined>;
}

function walk(dir: string, found: (path: string, isDirectory: boolean) => void): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      continue;
    }
    found(path, isDirectory);
    if (isDirectory) walk(path, found);
  }
}

export async function findLeftovers(instances: readonly Instance[]): Promise<Leftovers> {
  const ids = new Set(instances.map((i) => i.id));
  const all = await new Docker().listContainers({ all: true });
  const containers = all
    .filter((c) => ids.has(c.Labels[LABELS.orchestratorId] ?? ''))
    .map((c) => `${c.Names[0] ?? c.Id} (${c.State}, submission ${c.Labels[LABELS.submissionId] ?? '?'})`);
  const jobDirectories: string[] = [];
  const credentialFiles: string[] = [];
  const keptLogs: string[] = [];
  for (const instance of instances) {
    const jobs = join(instance.workDir, 'jobs');
    if (existsSync(jobs)) jobDirectories.push(...readdirSync(jobs).map((name) => join(jobs, name)));
    walk(instance.workDir, (path, isDirectory) => {
      if (!isDirectory && path.endsWith('/.synapseConfig')) credentialFiles.push(path);
    });
    const kept = join(instance.workDir, 'unuploaded-logs');
    if (existsSync(kept)) keptLogs.push(...readdirSync(kept).map((name) => join(kept, name)));
  }
  return { containers, jobDirectories, credentialFiles, keptLogs };
}

export async function observe(
  challenge: ChaosChallenge,
  events: ContainerEvent[],
  leftovers: Leftovers,
): Promise<Observations> {
  const { admin, platform } = challenge;
  const [dump, journal, messages] = await Promise.all([admin.dump(), admin.journal(), admin.messages()]);
  const scratch = mkdtempSync(join(tmpdir(), 'chaos-logs-'));
  const texts = new Map<string, Promise<string | undefined>>();
  const logText = (fileHandleId: string) => {
    let text = texts.get(fileHandleId);
    if (text === undefined) {
      text = (async () => {
        const name = blobNameOf(fileHandleId);
        if (!platform.store.hasBlob(name)) return undefined;
        const path = join(scratch, `${fileHandleId}.zip`);
        writeFileSync(path, platform.store.readBlob(name));
        try {
          const [content] = (await unzip(path)).values();
          return content?.toString('utf8');
        } finally {
          rmSync(path, { force: true });
        }
      })();
      texts.set(fileHandleId, text);
    }
    return text;
  };
  return { dump, journal, messages, events, leftovers, logText };
}
