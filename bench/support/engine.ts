/**
 * The container engine's own figures, to set beside the orchestrator's: a bare `docker run --rm` of a
 * container, timed; create-and-start of the engine container alone; and the direct baseline of the
 * overhead scenario, the same engine containers created, started, waited and removed with dockerode.
 *
 * "The same container" is the orchestrator's own engine container: local/cwl-engine:2 running cwltool on a
 * job directory laid out as the orchestrator lays it out (the template's wf.cwl, job.yaml with the same
 * inputs, .synapseConfig), with the same command (engineCommand), binds, environment and host settings as
 * DockerEngine.startContainer. A busybox `true` would leave out cwltool's own start (a second or more of
 * Python), which is most of what a trivial job costs, and make any orchestrator look slow.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import Docker from 'dockerode';
import pLimit from 'p-limit';
import { engineCommand } from '../../src/engine/docker/command.js';
import { DEFAULT_PIDS_LIMIT } from '../../src/engine/docker/engine.js';
import { LABELS } from '../../src/engine/interfaces.js';
import { JOB_FILE, JobDirectory, type JobRoot } from '../../src/evaluation/job-directory.js';
import { ENGINE_IMAGE } from './challenge.js';

export const SOCKET = '/var/run/docker.sock';

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** The q-quantile by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[high] ?? Number.NaN;
  return a + (b - a) * (position - low);
}

/** Runs a command, resolves with its wall time in ms; rejects when it fails. */
export function timed(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else
        reject(new Error(`${command} ${args.join(' ')} exited ${code ?? 'by a signal'}: ${stderr.trim()}`));
    });
  });
}

/** A job directory as the orchestrator makes one for `workflow`, under `root`. */
export async function jobDirectoryFor(root: string, name: string, workflow: string): Promise<JobDirectory> {
  const jobRoot: JobRoot = { local: root, host: root, source: 'same as work directory' };
  const directory = await JobDirectory.create(jobRoot, name);
  writeFileSync(directory.localFile('wf.cwl'), workflow);
  await directory.writeCredentials('bench', 'not-a-token');
  await directory.writeJobFile({
    submissionId: '1',
    workflowSynapseId: 'syn1',
    submitterUploadSynId: 'syn2',
    adminUploadSynId: 'syn3',
  });
  return directory;
}

/** The engine container's command and settings, as DockerEngine.startContainer gives them. */
export function engineContainer(directory: JobDirectory, name: string, labels: Record<string, string>) {
  const jobDir = directory.hostPath;
  return {
    name,
    Image: ENGINE_IMAGE,
    Cmd: engineCommand('cwltool', [], {
      hostDir: jobDir,
      templateDir: '',
      rootTemplate: 'wf.cwl',
      jobFile: JOB_FILE,
    }),
    WorkingDir: jobDir,
    Env: [`TMPDIR=${jobDir}`, `TEMP=${jobDir}`, `TMP=${jobDir}`, `DOCKER_HOST=unix://${SOCKET}`],
    Labels: labels,
    HostConfig: {
      Binds: [`${SOCKET}:${SOCKET}`, `${jobDir}:${jobDir}`],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1g', 'max-file': '2' } },
      PidsLimit: DEFAULT_PIDS_LIMIT,
    },
  };
}

/** `docker run --rm` of the engine container on a job directory (the same command, binds and settings). */
export function dockerRunArgs(directory: JobDirectory): string[] {
  const spec = engineContainer(directory, '', {});
  return [
    'run',
    '--rm',
    '--init',
    '--security-opt',
    'no-new-privileges',
    '--pids-limit',
    String(DEFAULT_PIDS_LIMIT),
    '-v',
    `${SOCKET}:${SOCKET}`,
    '-v',
    `${directory.hostPath}:${directory.hostPath}`,
    '-w',
    directory.hostPath,
    ...spec.Env.flatMap((e) => ['-e', e]),
    ENGINE_IMAGE,
    ...spec.Cmd,
  ];
}

export interface DirectRun {
  /** From the first create to the last removal. */
  wallMs: number;
  /** Per container: create + start, the engine's own time to a running container. */
  startMs: number[];
  /** Per container: create to removed. */
  jobMs: number[];
}

/**
 * The baseline: `count` engine containers, at most `concurrency` at a time (p-limit), each created,
 * started, waited for and removed with dockerode. Job directories are made before the clock starts.
 */
export async function directRun(options: {
  docker: Docker;
  root: string;
  count: number;
  concurrency: number;
  workflow: string;
  label: string;
}): Promise<DirectRun> {
  const { docker } = options;
  mkdirSync(options.root, { recursive: true });
  const directories: JobDirectory[] = [];
  for (let i = 0; i < options.count; i++) {
    directories.push(await jobDirectoryFor(options.root, `direct-${i}`, options.workflow));
  }
  const limit = pLimit(options.concurrency);
  const startMs: number[] = [];
  const jobMs: number[] = [];
  const started = performance.now();
  await Promise.all(
    directories.map((directory, i) =>
      limit(async () => {
        const t0 = performance.now();
        const container = await docker.createContainer(
          engineContainer(directory, `${options.label}-direct-${i}`, {
            [LABELS.orchestratorId]: options.label,
          }),
        );
        await container.start();
        startMs.push(performance.now() - t0);
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        await container.remove({ force: true });
        jobMs.push(performance.now() - t0);
        if (StatusCode !== 0) throw new Error(`direct engine container ${i} exited ${StatusCode}`);
      }),
    ),
  );
  return { wallMs: performance.now() - started, startMs, jobMs };
}

/** Creates and starts the engine container `times` times, one at a time; the ms each took to running. */
export async function createStartTimes(options: {
  docker: Docker;
  root: string;
  times: number;
  workflow: string;
  label: string;
}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < options.times; i++) {
    const directory = await jobDirectoryFor(options.root, `start-${i}`, options.workflow);
    const t0 = performance.now();
    const container = await options.docker.createContainer(
      engineContainer(directory, `${options.label}-start-${i}`, { [LABELS.orchestratorId]: options.label }),
    );
    await container.start();
    times.push(performance.now() - t0);
    await container.wait();
    await container.remove({ force: true });
  }
  return times;
}

/**
 * The engine's floor for one tick's starts: `count` engine containers created and started, `concurrency`
 * at a time (the orchestrator starts 4 at a time); the wall time until all run. They are then removed.
 */
export async function createStartBatch(options: {
  docker: Docker;
  root: string;
  count: number;
  concurrency: number;
  workflow: string;
  label: string;
}): Promise<number> {
  const directories: JobDirectory[] = [];
  for (let i = 0; i < options.count; i++) {
    directories.push(await jobDirectoryFor(options.root, `batch-${i}`, options.workflow));
  }
  const limit = pLimit(options.concurrency);
  const containers: Docker.Container[] = [];
  const started = performance.now();
  await Promise.all(
    directories.map((directory, i) =>
      limit(async () => {
        const container = await options.docker.createContainer(
          engineContainer(directory, `${options.label}-batch-${i}`, {
            [LABELS.orchestratorId]: options.label,
          }),
        );
        containers.push(container);
        await container.start();
      }),
    ),
  );
  const wallMs = performance.now() - started;
  await Promise.all(containers.map((c) => c.remove({ force: true }).catch(() => undefined)));
  return wallMs;
}

/** Removes every container labelled with one of the bench's orchestrator ids (only the bench's own). */
export async function removeLabelled(docker: Docker, orchestratorId: string): Promise<number> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.orchestratorId}=${orchestratorId}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  return containers.length;
}

/** One container's run as the engine saw it: its start and die events, ms since the epoch. */
export interface ContainerRun {
  startedAt: number;
  diedAt?: number;
}

/**
 * The engine's own account of a set of containers (by orchestrator-id label): when each started and died,
 * from Docker's event stream. Gives the time the engine spent running containers, and so how much of the
 * slots' time was left idle.
 */
export class ContainerTimeline {
  readonly runs = new Map<string, ContainerRun>();
  private stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;

  static async watch(docker: Docker, labels: string[]): Promise<ContainerTimeline> {
    const timeline = new ContainerTimeline();
    const stream: NodeJS.ReadableStream & { destroy?: () => void } = await docker.getEvents({
      filters: { type: ['container'], event: ['start', 'die'], label: labels },
    });
    timeline.stream = stream;
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') timeline.record(JSON.parse(line) as DockerEvent);
      }
    });
    return timeline;
  }

  private record(event: DockerEvent): void {
    const id = event.id ?? event.Actor?.ID;
    if (id === undefined || event.timeNano === undefined) return;
    const at = event.timeNano / 1e6;
    if (event.status === 'start' || event.Action === 'start') this.runs.set(id, { startedAt: at });
    if (event.status === 'die' || event.Action === 'die') {
      const run = this.runs.get(id);
      if (run !== undefined) run.diedAt = at;
    }
  }

  /** Milliseconds containers ran, summed (only those that started and died while watched). */
  get runningMs(): number {
    let sum = 0;
    for (const run of this.runs.values()) if (run.diedAt !== undefined) sum += run.diedAt - run.startedAt;
    return sum;
  }

  /** Each finished container's start-to-die time, ms. */
  get runMs(): number[] {
    return [...this.runs.values()].flatMap((r) => (r.diedAt === undefined ? [] : [r.diedAt - r.startedAt]));
  }

  stop(): void {
    this.stream?.destroy?.();
  }
}

/** The parts of a Docker event this file reads. */
export interface DockerEvent {
  id?: string;
  status?: string;
  Action?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}
