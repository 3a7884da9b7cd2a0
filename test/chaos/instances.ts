/**
 * The orchestrator instances: real `synapse-orchestrator run` processes (the built dist/cli.js), each
 * with its own ORCHESTRATOR_ID and work directory, all on the same queues. A kill is SIGKILL; the restart
 * that follows uses the same id and work directory, as a crashed service restarted by its supervisor
 * would. Everything a process prints goes to `<run dir>/instance-<n>.log`, each start marked by a line
 * beginning with `=== chaos:`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../support/paths.js';

export const ENGINE_IMAGE = 'local/cwl-engine:2';

export interface InstanceEnvironment {
  platformUrl: string;
  token: string;
  templates: Record<string, string>;
  outputRootId: string;
  notificationPrincipalId: string;
  maxConcurrent: number;
  messagesPerMinute: number;
  logUploadIntervalSeconds: number;
}

export interface StopResult {
  id: string;
  exitCode: number | null;
  signal: string | null;
  /** Time from SIGTERM to exit; undefined when it had not exited 10 s later (it was then killed). */
  exitedAfterMs: number | undefined;
}

export class Instance {
  readonly workDir: string;
  readonly logPath: string;
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: string | null }> | undefined;
  starts = 0;
  kills = 0;

  constructor(
    readonly id: string,
    readonly index: number,
    runDir: string,
    workRoot: string,
    private readonly environment: InstanceEnvironment,
  ) {
    this.workDir = join(workRoot, `instance-${index}`);
    this.logPath = join(runDir, `instance-${index}.log`);
    mkdirSync(this.workDir, { recursive: true });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private env(): Record<string, string> {
    const e = this.environment;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      SYNAPSE_ENDPOINT: e.platformUrl,
      SYNAPSE_PAT: e.token,
      EVALUATION_TEMPLATES: JSON.stringify(e.templates),
      WORKFLOW_OUTPUT_ROOT_ENTITY_ID: e.outputRootId,
      NOTIFICATION_PRINCIPAL_ID: e.notificationPrincipalId,
      DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
      WORKFLOW_ENGINE_DOCKER_IMAGE: ENGINE_IMAGE,
      WORKFLOW_ENGINE_COMMAND: 'cwltool',
      IMAGE_PULL_POLICY: 'never',
      ORCHESTRATOR_ID: this.id,
      ORCHESTRATOR_WORK_DIR: this.workDir,
      POLL_INTERVAL_SECONDS: '1',
      MAX_CONCURRENT_WORKFLOWS: String(e.maxConcurrent),
      MESSAGES_PER_MINUTE: String(e.messagesPerMinute),
      LOG_UPLOAD_INTERVAL_SECONDS: String(e.logUploadIntervalSeconds),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
      // Several instances on one host (and other tests beside them): no fixed status port.
      STATUS_PORT: '0',
    };
  }

  private mark(text: string): void {
    const fd = openSync(this.logPath, 'a');
    try {
      writeSync(fd, `=== chaos: ${new Date().toISOString()} ${text}\n`);
    } finally {
      closeSync(fd);
    }
  }

  start(): void {
    if (this.child !== undefined) throw new Error(`${this.id} is already running`);
    this.starts += 1;
    this.mark(`start ${this.starts} of ${this.id}`);
    const fd = openSync(this.logPath, 'a');
    // `node -- cli.js`: see docs/development.md (Node would take a later --env-file as its own).
    const child = spawn(process.execPath, ['--', CLI, 'run'], {
      cwd: this.workDir,
      env: this.env(),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.child = undefined;
        resolve({ code, signal });
      });
    });
  }

  /** SIGKILL: a crash. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.kills += 1;
    this.mark(`SIGKILL ${this.kills} of ${this.id}`);
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, as a supervisor stops a service; 10 s to exit 0, then SIGKILL. */
  async stop(): Promise<StopResult> {
    const child = this.child;
    if (child === undefined || this.exited === undefined) {
      return { id: this.id, exitCode: null, signal: 'not running', exitedAfterMs: undefined };
    }
    this.mark(`SIGTERM to ${this.id}`);
    const sent = Date.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          resolve(undefined);
        }, 10_000);
      }),
    ]);
    clearTimeout(timer);
    if (inTime !== undefined) {
      return { id: this.id, exitCode: inTime.code, signal: inTime.signal, exitedAfterMs: Date.now() - sent };
    }
    this.mark(`no exit 10 s after SIGTERM; SIGKILL to ${this.id}`);
    child.kill('SIGKILL');
    const late = await this.exited;
    return { id: this.id, exitCode: late.code, signal: late.signal, exitedAfterMs: undefined };
  }

  /** For an exiting harness: no process of ours outlives it. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }
}
