/**
 * The engine's own record of the run: every event of a container carrying the orchestrator's submission
 * label (create, start, die, destroy…), read from Docker's event stream from before the first instance
 * starts. When the stream breaks (the engine restarting), it reconnects and asks again from a little
 * before the break; events seen twice are kept once.
 */
import Docker from 'dockerode';
import { LABELS } from '../../src/engine/interfaces.js';

export interface ContainerEvent {
  action: string;
  containerId: string;
  name: string;
  submissionId: string;
  instanceId: string;
  /** Milliseconds since the epoch. */
  time: number;
  exitCode?: number;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export class DockerEventLog {
  readonly events: ContainerEvent[] = [];
  /** Times the stream broke and was opened again. */
  reconnects = 0;
  private readonly seen = new Set<string>();
  private readonly docker = new Docker();
  private stream: NodeJS.ReadableStream | undefined;
  private stopped = false;
  private lastSeconds: number;
  private loop: Promise<void> | undefined;

  constructor(private readonly instanceIds: ReadonlySet<string>) {
    this.lastSeconds = Math.floor(Date.now() / 1000) - 1;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    // Events reach the stream a moment after they happen.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    this.stopped = true;
    (this.stream as { destroy?: () => void } | undefined)?.destroy?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      try {
        const stream = await this.docker.getEvents({
          since: this.lastSeconds - 2,
          filters: { type: ['container'], label: [LABELS.submissionId] },
        });
        if (!first) this.reconnects += 1;
        first = false;
        this.stream = stream;
        await this.read(stream);
      } catch {
        // The engine is down (restarting): try again shortly.
      }
      await new Promise((resolve) => setTimeout(resolve, this.isStopped() ? 0 : 500));
    }
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private read(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve) => {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          this.take(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
        }
      });
      const done = () => {
        resolve();
      };
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
  }

  private take(line: string): void {
    if (line.trim() === '') return;
    let raw: RawEvent;
    try {
      raw = JSON.parse(line) as RawEvent;
    } catch {
      return;
    }
    const attributes = raw.Actor?.Attributes ?? {};
    const instanceId = attributes[LABELS.orchestratorId] ?? '';
    const submissionId = attributes[LABELS.submissionId];
    if (submissionId === undefined || !this.instanceIds.has(instanceId)) return;
    const time = raw.timeNano !== undefined ? Math.round(raw.timeNano / 1e6) : (raw.time ?? 0) * 1000;
    const containerId = raw.Actor?.ID ?? '';
    const action = raw.Action ?? '';
    const key = `${containerId} ${action} ${raw.timeNano ?? raw.time ?? ''}`;
    if (raw.time !== undefined) this.lastSeconds = Math.max(this.lastSeconds, raw.time);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const exitCode = attributes.exitCode === undefined ? undefined : Number(attributes.exitCode);
    this.events.push({
      action,
      containerId,
      name: attributes.name ?? '',
      submissionId,
      instanceId,
      time,
      ...(exitCode === undefined ? {} : { exitCode }),
    });
  }
}
