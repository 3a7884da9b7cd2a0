/**
 * Restarting the Docker engine once, in the middle of the run, without losing the workflow containers.
 *
 * Containers outlive their dockerd only with live-restore. ./scripts/ensure-docker-engine.sh starts
 * `dockerd` by hand (no systemd, `setsid nohup /usr/sbin/dockerd`, no flags unless it had to fall back),
 * so live-restore is off unless /etc/docker/daemon.json says otherwise. It is one of the settings dockerd
 * reloads on SIGHUP, so the harness turns it on that way: it adds `"live-restore": true` to the daemon's
 * configuration file (creating it when missing) and sends SIGHUP. The setting is left on: it changes
 * nothing until dockerd stops, and then keeps containers running, which is what a host running
 * workflows wants. Then: SIGTERM to dockerd, wait for it to exit, start it again with the same command
 * line, detached, logging to /var/log/dockerd.log as the script does, and wait until it answers.
 *
 * Done only when it is safe: as root, on the local socket, with a dockerd this harness can see and start
 * again, no running container but this run's own, and no one else's container event in the last minute
 * (someone else's tests would see their engine vanish for a few seconds). Otherwise the restart is
 * skipped and the reason reported; the run tries again a little later.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { LABELS } from '../../src/engine/interfaces.js';
import { REPO_ROOT } from '../support/paths.js';

const PID_FILE = '/var/run/docker.pid';
const DEFAULT_CONFIG = '/etc/docker/daemon.json';
const DOCKERD_LOG = '/var/log/dockerd.log';
const ENSURE_ENGINE = join(REPO_ROOT, 'scripts', 'ensure-docker-engine.sh');

export interface EngineRestart {
  done: boolean;
  /** Why it was skipped, or how it failed. */
  note: string;
  liveRestoreTurnedOn: boolean;
  /** Skipped for now (someone else's containers run): worth trying again a little later. */
  tryAgain?: boolean;
  at?: number;
  downMs?: number;
  /** This run's containers running before, and how many of those still ran after. */
  runningBefore?: number;
  survived?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isLive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function dockerdPid(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' && isLive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((part) => part !== '');
}

async function answers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

async function liveRestoreEnabled(docker: Docker): Promise<boolean> {
  const info = (await docker.info()) as { LiveRestoreEnabled?: boolean };
  return info.LiveRestoreEnabled === true;
}

/** Turns live-restore on through the configuration file and SIGHUP; undefined when it worked. */
async function turnOnLiveRestore(docker: Docker, pid: number, argv: string[]): Promise<string | undefined> {
  if (argv.some((arg) => arg.includes('live-restore'))) {
    return 'dockerd was started with a live-restore flag; its configuration file cannot change it';
  }
  const flagIndex = argv.findIndex((arg) => arg === '--config-file' || arg.startsWith('--config-file='));
  const flag = flagIndex < 0 ? undefined : argv[flagIndex];
  const path =
    flag === undefined ? DEFAULT_CONFIG : flag.includes('=') ? flag.split('=')[1] : argv[flagIndex + 1];
  if (path === undefined || path === '') return 'cannot tell where the daemon configuration file is';
  let config: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      return `${path} is not JSON: ${(error as Error).message}`;
    }
  }
  const temporary = `${path}.chaos-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify({ ...config, 'live-restore': true }, null, 2)}\n`);
  renameSync(temporary, path);
  process.kill(pid, 'SIGHUP');
  for (let i = 0; i < 50; i++) {
    if (await liveRestoreEnabled(docker)) return undefined;
    await sleep(100);
  }
  return `live-restore still off after writing ${path} and SIGHUP`;
}

/** How long no one else may have touched a container before the engine is restarted. */
const QUIET_SECONDS = 60;

/** Container events of others (not this run's instances) in the last QUIET_SECONDS: someone at work. */
async function othersActiveRecently(docker: Docker, instanceIds: ReadonlySet<string>): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const stream = await docker.getEvents({
    since: now - QUIET_SECONDS,
    until: now,
    filters: { type: ['container'] },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
        return !instanceIds.has(event.Actor?.Attributes?.[LABELS.orchestratorId] ?? '');
      } catch {
        return false;
      }
    }).length;
}

/** Restarts dockerd if it is safe; never throws. */
export async function restartDockerEngine(instanceIds: ReadonlySet<string>): Promise<EngineRestart> {
  const docker = new Docker();
  const skipped = (note: string, liveRestoreTurnedOn = false): EngineRestart => ({
    done: false,
    note,
    liveRestoreTurnedOn,
  });
  try {
    if (process.getuid?.() !== 0) return skipped('not root: dockerd cannot be restarted from here');
    const host = process.env.DOCKER_HOST;
    if (host !== undefined && host !== '' && host !== 'unix:///var/run/docker.sock') {
      return skipped(`DOCKER_HOST=${host} is not the local engine`);
    }
    const pid = dockerdPid();
    if (pid === undefined) return skipped(`no live dockerd named in ${PID_FILE}`);
    const running = await docker.listContainers();
    const others = running.filter((c) => !instanceIds.has(c.Labels[LABELS.orchestratorId] ?? ''));
    if (others.length > 0) {
      return {
        ...skipped(
          `other containers run on this engine (${others.map((c) => c.Names[0] ?? c.Id).join(', ')})`,
        ),
        tryAgain: true,
      };
    }
    const recent = await othersActiveRecently(docker, instanceIds);
    if (recent > 0) {
      return {
        ...skipped(
          `someone else used this engine in the last ${QUIET_SECONDS} s (${recent} container events)`,
        ),
        tryAgain: true,
      };
    }
    const argv = commandLine(pid);
    let turnedOn = false;
    if (!(await liveRestoreEnabled(docker))) {
      const problem = await turnOnLiveRestore(docker, pid, argv);
      if (problem !== undefined) return skipped(problem);
      turnedOn = true;
    }
    const ours = new Set(running.map((c) => c.Id));
    const at = Date.now();
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 300 && isLive(pid); i++) await sleep(100);
    if (isLive(pid)) return { ...skipped('dockerd did not exit within 30 s of SIGTERM', turnedOn), at };
    rmSync(PID_FILE, { force: true });
    const [program, ...args] = argv;
    if (program === undefined) return { ...skipped('empty dockerd command line', turnedOn), at };
    const log = openSync(DOCKERD_LOG, 'a');
    // Detached (its own session) so it outlives this process; no TMPDIR of a test run that will be removed.
    const child = spawn(program, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child.unref();
    closeSync(log);
    let up = false;
    for (let i = 0; i < 600 && !up; i++) {
      up = await answers(docker);
      if (!up) await sleep(100);
    }
    const downMs = Date.now() - at;
    if (!up) {
      // Leave the machine with an engine: the project's own script starts one the usual way.
      spawnSync(ENSURE_ENGINE, [], { stdio: 'ignore', timeout: 120_000 });
      return {
        done: false,
        note: `dockerd did not answer within 60 s of its restart (then ${ENSURE_ENGINE} ran)`,
        liveRestoreTurnedOn: turnedOn,
        at,
        downMs,
      };
    }
    const after = await docker.listContainers();
    return {
      done: true,
      note: `dockerd restarted with live-restore${turnedOn ? ' (turned on by this run)' : ''}`,
      liveRestoreTurnedOn: turnedOn,
      at,
      downMs,
      runningBefore: ours.size,
      survived: after.filter((c) => ours.has(c.Id)).length,
    };
  } catch (error) {
    return skipped(`engine restart failed: ${(error as Error).message}`);
  }
}
