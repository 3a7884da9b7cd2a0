/**
 * A workflow engine in memory, for lifecycle tests without Docker. Each run is a record the test scripts:
 * it exits by itself after the lifecycle asked for its state a number of times, or when the test calls
 * `finish`; it prints lines (with Docker-style timestamps) and reports progress when told; the whole engine
 * can be made unavailable (then ping, list, state, start, stop, remove and new log reads throw
 * EngineUnavailableError, as a real backend does when its engine is down). Every call is recorded, so a
 * test can assert what the lifecycle asked for (the RunRequest above all).
 *
 * Like a Docker engine, runs outlive the daemon that started them: hand the same FakeEngine to a second
 * daemon to play a restart.
 */
import {
  EngineUnavailableError,
  type EngineJob,
  type EngineKind,
  type JobState,
  type LogLine,
  type RunRequest,
  type WorkflowEngine,
} from '../../src/engine/interfaces.js';

/** How a run behaves, chosen by the test before the lifecycle starts it. */
export interface RunScript {
  /** Exits by itself (with `exitCode`) once its state was asked for this many times while it ran. */
  exitAfterStates?: number;
  /** Exit code when it exits by itself (default 0). */
  exitCode?: number;
  /** Reported with that exit (Docker's OOMKilled flag). */
  oomKilled?: boolean;
  /** Printed at start (stdout unless the line starts with "stderr:"). */
  lines?: string[];
  /** /progress.txt's value from the start. */
  progress?: number;
  /** start() fails with this error (an ImagePullError, say), creating nothing. */
  startError?: Error;
  /** The engine goes down just as this run is asked to start (the start fails, nothing is created). */
  unavailableAtStart?: boolean;
  /** Created but never started (the orchestrator stopped in between): state 'pending', neverStarted. */
  neverStarted?: boolean;
}

export interface FakeRun {
  name: string;
  request: RunRequest;
  script: RunScript;
  status: 'created' | 'running' | 'exited';
  exitCode: number | undefined;
  oomKilled: boolean;
  progress: number | undefined;
  lines: LogLine[];
  /** How often the lifecycle asked for its state. */
  stateCalls: number;
  startedAt: Date;
  finishedAt: Date | undefined;
}

export interface EngineCall {
  method: 'ping' | 'start' | 'state' | 'startCreated' | 'progress' | 'stop' | 'remove' | 'list' | 'logs';
  /** The run's name, where the call names one. */
  name?: string;
  args: unknown[];
}

/** Exit code of a run the lifecycle stopped (Docker: SIGTERM's 143, within the grace period). */
export const STOPPED_EXIT_CODE = 143;

export class FakeEngine implements WorkflowEngine {
  readonly kind: EngineKind;
  readonly description = 'the fake engine';
  readonly templateDir: string;
  /** Every call, in order. */
  readonly calls: EngineCall[] = [];
  /** Runs that exist on the engine (removed ones are gone), by name. */
  readonly runs = new Map<string, FakeRun>();
  private available = true;
  private readonly scripts = new Map<string, RunScript>();
  private defaultScript: RunScript;
  /** Woken when any run prints, exits or goes, or a log read is closed. */
  private waiters: (() => void)[] = [];
  private lastNanos = 0n;

  constructor(options: { templateDir?: string; defaultScript?: RunScript; kind?: EngineKind } = {}) {
    this.kind = options.kind ?? 'docker';
    this.templateDir = options.templateDir ?? '';
    this.defaultScript = options.defaultScript ?? {};
  }

  // ---- scripting (the test's side) ----

  /** How the run of this submission behaves (its next start). */
  scriptFor(submissionId: string, script: RunScript): void {
    this.scripts.set(submissionId, script);
  }

  /** How runs of submissions without a script of their own behave. */
  scriptDefault(script: RunScript): void {
    this.defaultScript = script;
  }

  /** While false, the engine does not answer (EngineUnavailableError). */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  get isAvailable(): boolean {
    return this.available;
  }

  /** The run started for this submission (the latest, if it ran more than once), if any exists. */
  runOf(submissionId: string): FakeRun | undefined {
    return [...this.runs.values()].filter((run) => run.request.identity.submissionId === submissionId).at(-1);
  }

  /** The run named `name`; throws when there is none. */
  run(name: string): FakeRun {
    const run = this.runs.get(name);
    if (run === undefined) throw new Error(`FakeEngine: no run ${name}`);
    return run;
  }

  /** Ends a running run with this exit code. */
  finish(name: string, exitCode: number, options: { oomKilled?: boolean } = {}): void {
    const run = this.run(name);
    if (run.status === 'exited') return;
    run.status = 'exited';
    run.exitCode = exitCode;
    run.oomKilled = options.oomKilled ?? false;
    run.finishedAt = new Date();
    this.wake();
  }

  /** The run is gone from the engine, as if someone removed it behind the orchestrator's back. */
  vanish(name: string): void {
    this.run(name);
    this.runs.delete(name);
    this.wake();
  }

  /** The run prints a line (stdout unless `stream` says otherwise). */
  print(name: string, text: string, stream: LogLine['stream'] = 'stdout'): void {
    this.run(name).lines.push({ stream, timestamp: this.timestamp(), text });
    this.wake();
  }

  /** The run writes this to /progress.txt. */
  setProgress(name: string, progress: number | undefined): void {
    this.run(name).progress = progress;
  }

  /** The recorded calls of one method (optionally of one run). */
  callsTo(method: EngineCall['method'], name?: string): EngineCall[] {
    return this.calls.filter((call) => call.method === method && (name === undefined || call.name === name));
  }

  /** The RunRequests the lifecycle started, in order. */
  get requests(): RunRequest[] {
    return this.callsTo('start').map((call) => call.args[0] as RunRequest);
  }

  // ---- WorkflowEngine (the lifecycle's side) ----

  async ping(): Promise<void> {
    this.calls.push({ method: 'ping', args: [] });
    this.answer();
  }

  async start(request: RunRequest): Promise<string> {
    this.calls.push({ method: 'start', name: request.name, args: [request] });
    const submissionId = request.identity.submissionId;
    const script = this.scripts.get(submissionId) ?? this.defaultScript;
    if (script.unavailableAtStart === true) {
      // Once: the next start of this submission finds the engine back (when the test made it available).
      this.available = false;
      this.scripts.set(submissionId, { ...script, unavailableAtStart: false });
    }
    this.answer();
    if (script.startError !== undefined) throw script.startError;
    if (this.runs.has(request.name)) throw new Error(`FakeEngine: ${request.name} already exists`);
    const run: FakeRun = {
      name: request.name,
      request,
      script,
      status: script.neverStarted === true ? 'created' : 'running',
      exitCode: undefined,
      oomKilled: false,
      progress: script.progress,
      lines: [],
      stateCalls: 0,
      startedAt: new Date(),
      finishedAt: undefined,
    };
    this.runs.set(request.name, run);
    for (const line of script.lines ?? []) {
      const stderr = line.startsWith('stderr:');
      this.print(request.name, stderr ? line.slice('stderr:'.length) : line, stderr ? 'stderr' : 'stdout');
    }
    return request.name;
  }

  async state(name: string): Promise<JobState> {
    this.calls.push({ method: 'state', name, args: [name] });
    this.answer();
    const run = this.runs.get(name);
    if (run === undefined) return { kind: 'missing' };
    if (run.status === 'created') return { kind: 'pending', neverStarted: true };
    if (run.status === 'running') {
      run.stateCalls++;
      const after = run.script.exitAfterStates;
      if (after !== undefined && run.stateCalls >= after) this.finish(name, run.script.exitCode ?? 0);
    }
    if (run.status === 'exited') {
      return {
        kind: 'exited',
        exitCode: run.exitCode ?? 0,
        oomKilled: run.oomKilled,
        finishedAt: run.finishedAt,
      };
    }
    return { kind: 'running', startedAt: run.startedAt };
  }

  async startCreated(name: string): Promise<void> {
    this.calls.push({ method: 'startCreated', name, args: [name] });
    this.answer();
    const run = this.run(name);
    if (run.status === 'created') run.status = 'running';
  }

  /** Like Docker's: undefined when it cannot be read (also when the engine does not answer). */
  async progress(name: string): Promise<number | undefined> {
    this.calls.push({ method: 'progress', name, args: [name] });
    if (!this.available) return undefined;
    return this.runs.get(name)?.progress;
  }

  async stop(name: string, graceSeconds?: number): Promise<void> {
    this.calls.push({ method: 'stop', name, args: [name, graceSeconds] });
    this.answer();
    const run = this.runs.get(name);
    if (run !== undefined && run.status !== 'exited') this.finish(name, STOPPED_EXIT_CODE);
  }

  async remove(name: string, jobDir: string | undefined): Promise<void> {
    this.calls.push({ method: 'remove', name, args: [name, jobDir] });
    this.answer();
    this.runs.delete(name);
    this.wake();
  }

  async list(orchestratorId: string): Promise<EngineJob[]> {
    this.calls.push({ method: 'list', args: [orchestratorId] });
    this.answer();
    return [...this.runs.values()]
      .filter((run) => run.request.identity.orchestratorId === orchestratorId)
      .map((run) => ({
        name: run.name,
        identity: { ...run.request.identity },
        jobDir: run.request.hostDir,
        running: run.status === 'running',
      }));
  }

  /**
   * Like Docker's: lines later than `since`; with `follow`, open until the run is no longer running (or
   * the reader returns early); nothing for a run that does not exist.
   */
  logs(name: string, options: { follow: boolean; since?: string }): AsyncIterable<LogLine> {
    this.calls.push({ method: 'logs', name, args: [name, options] });
    const since = options.since === undefined || options.since === '' ? undefined : options.since;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<LogLine> => {
        let index = 0;
        let closed = false;
        let first = true;
        const done = { done: true as const, value: undefined };
        return {
          next: async () => {
            if (first) {
              first = false;
              this.answer();
            }
            for (;;) {
              const run = this.runs.get(name);
              if (closed || run === undefined) return done;
              while (index < run.lines.length) {
                const line = run.lines[index++];
                if (line !== undefined && (since === undefined || line.timestamp > since)) {
                  return { done: false, value: line };
                }
              }
              if (!options.follow || run.status !== 'running') return done;
              await new Promise<void>((resolve) => this.waiters.push(resolve));
            }
          },
          return: async () => {
            closed = true;
            this.wake();
            return done;
          },
        };
      },
    };
  }

  // ---- internals ----

  private answer(): void {
    if (!this.available) throw new EngineUnavailableError(`${this.description} does not answer`);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A Docker-style timestamp (UTC, nine fraction digits), strictly later than the previous one. */
  private timestamp(): string {
    const now = BigInt(Date.now()) * 1_000_000n;
    this.lastNanos = now > this.lastNanos ? now : this.lastNanos + 1n;
    const seconds = this.lastNanos / 1_000_000_000n;
    const fraction = (this.lastNanos % 1_000_000_000n).toString().padStart(9, '0');
    return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
  }
}
