/**
 * How many processes a container had at most, read from its pids cgroup on this host, sampled often and
 * independently of the test's own loop. A fork bomb's process count rises and collapses many times a second
 * (each refused fork ends a subshell), so a reading taken now and then can land in a trough; the kernel's
 * own high-water mark (pids.peak) and its count of forks refused at the limit (pids.events "max") cannot.
 *
 * Both are read where the engine keeps them: cgroup v1 or v2, cgroupfs or systemd driver. When none of
 * those paths exists (an engine in another machine), `found` stays false and the caller says so.
 */
import { readFile } from 'node:fs/promises';

export interface PidsWatch {
  /** Whether the container's pids cgroup was found on this host. */
  readonly found: boolean;
  /** The most processes seen at once (pids.peak when the kernel has it, else the largest pids.current). */
  readonly peak: number;
  /** Forks the kernel refused because the container was at its limit. */
  readonly refusedAtLimit: number;
  /** The limit the cgroup holds, undefined when unlimited or not found. */
  readonly limit: number | undefined;
  stop(): void;
}

function cgroupDirs(containerId: string): string[] {
  return [
    `/sys/fs/cgroup/pids/docker/${containerId}`,
    `/sys/fs/cgroup/pids/system.slice/docker-${containerId}.scope`,
    `/sys/fs/cgroup/docker/${containerId}`,
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope`,
  ];
}

const readNumber = async (path: string): Promise<number | undefined> => {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
};

/** Starts sampling the container (its full id) every `everyMs` until stop() or the container is gone. */
export function watchContainerPids(containerId: string, everyMs = 50): PidsWatch {
  let dir: string | undefined;
  const state = { found: false, peak: 0, refusedAtLimit: 0, limit: undefined as number | undefined };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const sample = async () => {
    if (dir === undefined) {
      for (const candidate of cgroupDirs(containerId)) {
        if ((await readNumber(`${candidate}/pids.current`)) !== undefined) {
          dir = candidate;
          state.found = true;
          break;
        }
      }
      if (dir === undefined) return;
    }
    const current = await readNumber(`${dir}/pids.current`);
    const peak = await readNumber(`${dir}/pids.peak`);
    state.peak = Math.max(state.peak, current ?? 0, peak ?? 0);
    state.limit ??= await readNumber(`${dir}/pids.max`);
    const events = await readFile(`${dir}/pids.events`, 'utf8').catch(() => '');
    const refused = Number(/^max (\d+)/m.exec(events)?.[1] ?? 0);
    state.refusedAtLimit = Math.max(state.refusedAtLimit, refused);
  };
  const loop = async () => {
    if (stopped) return;
    await sample();
    timer = setTimeout(() => void loop(), everyMs);
  };
  void loop();

  return {
    get found() {
      return state.found;
    },
    get peak() {
      return state.peak;
    },
    get refusedAtLimit() {
      return state.refusedAtLimit;
    },
    get limit() {
      return state.limit;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
