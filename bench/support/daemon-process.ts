/**
 * The parent's side of daemon-host.ts: builds the host (compiled, as the daemon runs in production),
 * starts it with a configuration in its environment, sends it requests, and reads its memory and CPU from
 * /proc (Linux), so a sample is taken even while the daemon's own event loop is busy.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CallsSoFar,
  HostMessage,
  HostRequest,
  MemoryComposition,
  Span,
  TickTiming,
} from './daemon-host.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where bench/tsconfig.host.json puts the compiled host and the sources it imports (git-ignored). */
const BUILD_DIR = join(ROOT, '.bench-build');
const HOST = join(BUILD_DIR, 'bench', 'support', 'daemon-host.js');

/** Compiles the host and what it imports (src/), about 15 s. */
export function buildHost(): void {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'bench', 'tsconfig.host.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // The compiled sources read the version from ../../package.json, as dist/ does from the checkout's.
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(BUILD_DIR, { recursive: true });
  writeFileSync(
    join(BUILD_DIR, 'package.json'),
    `${JSON.stringify({ name: 'bench-build', private: true, type: 'module', version })}\n`,
  );
}

const MiB = 1024 * 1024;
/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** A field of /proc/<pid>/status in bytes (VmRSS: now, VmHWM: the peak so far), 0 once the process is gone. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) the process used so far, in ms. */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return 0;
  }
}

/** CPU time the whole machine spent busy so far (every core: user, nice, system, irq, softirq, steal), ms. */
export function machineBusyMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1000) / USER_HZ;
}

/** The container engine's own daemons (dockerd, containerd), by pid, when they run on this machine. */
export function engineDaemonPids(): number[] {
  return ['dockerd', 'containerd'].flatMap((name) => {
    try {
      return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map(Number);
    } catch {
      return [];
    }
  });
}

/** CPU use over a stretch of time: the machine's, the engine daemons', this process's (the platform). */
export class CpuMeter {
  private readonly machine = machineBusyMs();
  private readonly engine: number;
  private readonly self = process.cpuUsage();
  private readonly daemonStart: number;

  constructor(
    private readonly enginePids: number[],
    private readonly daemonPid?: number,
  ) {
    this.engine = enginePids.reduce((sum, pid) => sum + procCpuMs(pid), 0);
    this.daemonStart = daemonPid === undefined ? 0 : procCpuMs(daemonPid);
  }

  /** Seconds of CPU since the meter was made. */
  read(): CpuUse {
    const self = process.cpuUsage(this.self);
    return {
      machine: (machineBusyMs() - this.machine) / 1000,
      engineDaemons: (this.enginePids.reduce((sum, pid) => sum + procCpuMs(pid), 0) - this.engine) / 1000,
      bench: (self.user + self.system) / 1e6,
      daemon: this.daemonPid === undefined ? 0 : (procCpuMs(this.daemonPid) - this.daemonStart) / 1000,
    };
  }
}

/** CPU seconds: the whole machine, dockerd + containerd, the bench's process (the platform), the daemon. */
export interface CpuUse {
  machine: number;
  engineDaemons: number;
  bench: number;
  daemon: number;
}

/** Samples a process's RSS every `everyMs` (default 100 ms) until stopped. */
export class RssSampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
    }, this.everyMs);
    return this;
  }

  stop(): this {
    clearInterval(this.timer);
    this.sample();
    return this;
  }

  private sample(): void {
    const rss = procStatusBytes(this.pid, 'VmRSS');
    if (rss === 0) return;
    this.samples += 1;
    this.peak = Math.max(this.peak, rss);
  }
}

/**
 * Asks the daemon what its memory is made of every `everyMs` (default 500 ms) and keeps the answer given
 * at the highest RSS: what the peak was made of.
 */
export class CompositionSampler {
  atPeak: MemoryComposition | undefined;
  private timer: NodeJS.Timeout | undefined;
  private asking = false;

  /** `gc`: a collection before each sample (the daemon needs --expose-gc): the peak of what is held. */
  constructor(
    private readonly daemon: DaemonProcess,
    private readonly everyMs = 500,
    private readonly gc = false,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      if (this.asking) return;
      this.asking = true;
      this.daemon
        .memory(this.gc)
        .then((m) => {
          if (this.atPeak === undefined || m.rss > this.atPeak.rss) this.atPeak = m;
        })
        .catch(() => undefined)
        .finally(() => {
          this.asking = false;
        });
    }, this.everyMs);
    return this;
  }

  stop(): MemoryComposition | undefined {
    clearInterval(this.timer);
    return this.atPeak;
  }
}

export const mib = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

export interface DaemonProcessOptions {
  /** The configuration, as `run` reads it from the environment. */
  env: Record<string, string>;
  /** The daemon's log (its stdout and stderr). */
  logFile: string;
  /** Extra node options, e.g. --cpu-prof. */
  execArgv?: string[];
}

export class DaemonProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
  ) {
    child.on('message', (message: HostMessage) => {
      if (message.kind !== 'reply') return;
      const pending = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) pending?.resolve(message.result);
      else pending?.reject(new Error(`daemon host: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const pending of this.waiting.values()) {
        pending.reject(new Error(`the daemon process exited (${code ?? signal ?? '?'})`));
      }
      this.waiting.clear();
    });
  }

  /** Starts the host and waits until the daemon is created (engine and platform reached). */
  static async start(options: DaemonProcessOptions): Promise<DaemonProcess> {
    const log = openSync(options.logFile, 'a');
    const child = fork(HOST, [], {
      cwd: ROOT,
      // Only what is given: no .env of the checkout, no variable of the bench's own shell leaks in.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    const pid = await new Promise<number>((resolve, reject) => {
      child.on('message', (message: HostMessage) => {
        if (message.kind === 'ready') resolve(message.pid);
      });
      child.once('exit', (code) => {
        reject(
          new Error(
            `the daemon process exited (${code ?? 'signal'}) before it was ready; see ${options.logFile}`,
          ),
        );
      });
    });
    return new DaemonProcess(child, pid);
  }

  private request<T>(request: HostRequest): Promise<T> {
    if (this.exited) return Promise.reject(new Error('the daemon process has exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  /** The daemon's own schedule, as `run` starts it. */
  startSchedule(): Promise<void> {
    return this.request({ op: 'start' });
  }

  tick(): Promise<TickTiming> {
    return this.request({ op: 'tick' });
  }

  settle(timeoutMs: number): Promise<void> {
    return this.request({ op: 'settle', timeoutMs });
  }

  calls(reset = false): Promise<CallsSoFar> {
    return this.request({ op: 'calls', reset });
  }

  /** Time spent in each kind of step since the last reset. */
  spans(reset = false): Promise<Record<string, Span>> {
    return this.request({ op: 'spans', reset });
  }

  /** The daemon's own view of its memory (heap spaces, external, array buffers). */
  memory(gc = false): Promise<MemoryComposition> {
    return this.request({ op: 'memory', gc });
  }

  get rss(): number {
    return procStatusBytes(this.pid, 'VmRSS');
  }

  /** The kernel's high-water mark of the process's RSS. */
  get peakRss(): number {
    return procStatusBytes(this.pid, 'VmHWM');
  }

  get cpuMs(): number {
    return procCpuMs(this.pid);
  }

  /** Stops the daemon (running containers are left, as `run` leaves them) and waits for the process. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
    });
    try {
      await this.request({ op: 'stop' });
    } catch {
      this.child.kill('SIGKILL');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
