/**
 * A real GA4GH WES server for tests: Debian's Toil (`toil server`, its real ToilBackend and toil-cwl-runner)
 * started by the workspace's toil-wes tool, on a port and in a directory of its own, so test files and
 * a developer's own server do not meet. Workflows run on this host; their DockerRequirement steps on the
 * host's Docker engine.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { describe } from 'vitest';
import { describeWithDocker } from './docker.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

/**
 * WES tests need the Docker engine (for the workflows' steps) and Toil's server: skipped on a developer's
 * machine that cannot have Toil (scripts/ensure-toil-wes.sh said so: E2E_TOIL_WES=optional), never in CI.
 */
export function describeWithToilWes(name: string, body: () => void): void {
  if (process.env.E2E_TOIL_WES === 'optional' && process.env.CI !== 'true') {
    describe.skip(`${name} (skipped: Toil's WES server cannot be installed here)`, body);
  } else {
    describeWithDocker(name, body);
  }
}

/**
 * The toil-wes start script: TOIL_WES_START, or the workspace's shared tools beside the checkout (a clone
 * elsewhere on this machine finds them at /work/shared).
 */
export function toilWesScript(): string {
  const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
  const candidates = [
    process.env.TOIL_WES_START,
    join(root, '..', 'shared', 'tools', 'toil-wes', 'start-wes.sh'),
    '/work/shared/tools/toil-wes/start-wes.sh',
  ].filter((path): path is string => path !== undefined && path !== '');
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `The Toil WES start script is not found (looked at ${candidates.join(', ')}); set TOIL_WES_START to its path.`,
    );
  }
  return found;
}

export interface ToilWes {
  /** http://127.0.0.1:<port>/ga4gh/wes/v1 */
  endpoint: string;
  /** The server's own directory (its runs are under workflows/). */
  home: string;
  start(): Promise<void>;
  /** Stops the server (gunicorn master and worker; runs in flight die with it, as Toil's do). */
  stop(): Promise<void>;
  /** Removes step containers the server's runs left (Toil's cancel does not stop them). */
  removeStepContainers(): Promise<string[]>;
}

export async function startToilWes(): Promise<ToilWes> {
  const script = toilWesScript();
  const home = mkdtempSync(join(tmpdir(), 'toil-wes-'));
  const port = await freePort();
  mkdirSync(join(home, 'tmp'));
  // Every run's work (and so every step container's mounts) under the server's directory.
  const env = {
    ...process.env,
    WES_HOME: home,
    WES_PORT: String(port),
    WES_TOIL_OPTS: `--opt=--workDir=${join(home, 'tmp')}`,
  };
  const server: ToilWes = {
    endpoint: `http://127.0.0.1:${port}/ga4gh/wes/v1`,
    home,
    async start() {
      await run('bash', [script, 'start'], { env, timeout: 600_000 });
    },
    async stop() {
      // The whole process group (the script starts the server with setsid): gunicorn's master, its worker
      // and the runs in flight, as when the server's machine goes down. The script's own stop signals only
      // the master, whose worker keeps answering for a while.
      const pidFile = join(home, 'server.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 0) {
        signalGroup(pid, 'SIGTERM');
        for (let i = 0; i < 100 && signalGroup(pid, 0); i++) await new Promise((r) => setTimeout(r, 100));
        signalGroup(pid, 'SIGKILL');
      }
      await run('bash', [script, 'stop'], { env, timeout: 60_000 });
    },
    async removeStepContainers() {
      const docker = new Docker();
      const all = await docker.listContainers({ all: true });
      const left = all.filter((c) => c.Mounts.some((m) => m.Source.startsWith(home)));
      await Promise.all(
        left.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      return left.map((c) => c.Names[0] ?? c.Id);
    },
  };
  await server.start();
  return server;
}

/** Sends `signal` to process group `pgid`; false when no process of it is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
