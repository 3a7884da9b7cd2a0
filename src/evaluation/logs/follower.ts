/**
 * Follows an engine container's output into a text file on the orchestrator's side, live, so that the
 * log survives the container and Docker's log rotation, and an upload never asks Docker for the whole
 * history again (SWO did, every 30 minutes).
 *
 * The file has one line per line of output:
 *
 *     STDOUT 2026-11-21T19:52:22.697409123Z Running step "train"
 *     STDERR 2026-11-21T19:52:23.001200400Z WARNING: no GPU found
 *
 * that is `<STDOUT|STDERR> <Docker's timestamp> <the line as written, without its newline>`, in the order
 * Docker returned them (src/engine/log-format.ts). A timestamp Docker did not give is written as '-'.
 * Where Docker lost lines before they could be read, a line starting with '----- ' (GAP_MARKER) says so.
 * Plain text, for people and grep. The output is read as blocks of lines already in that form
 * (WorkflowEngine.logBlocks): following gigabytes makes no string per line.
 *
 * After a restart of the orchestrator, a new follower reads the last line's timestamp from the end of the
 * file and asks only for later lines, so no line is written twice. When the live stream ends, one more
 * plain read adds any lines it missed (Docker 20.10 misses some, see run()).
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, truncate } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { WorkflowEngine } from '../../engine/interfaces.js';
import { formatLogLine, logBlocksOf, parseLogFileLine } from '../../engine/log-format.js';
import type { Logger } from '../../logging/logger.js';

/** An RFC 3339 timestamp as Docker writes them (anything else in a damaged file is passed over). */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;
/** First read from the end of the file when looking for the last line. */
const TAIL_WINDOW = 64 * 1024;
/** Longest stretch read from the end: lines are at most about 1 MiB (the engine cuts longer ones). */
const TAIL_LIMIT = 8 * 1024 * 1024;
/** Lines are written in batches of about this many bytes (one write per line costs a lot)… */
const BATCH_BYTES = 64 * 1024;
/** …or after this long, so that a quiet container's last lines reach the file soon. */
const BATCH_MS = 200;

export interface LogFileEnd {
  size: number;
  /** Length up to the end of the last complete line; less than size when a write was cut off. */
  complete: number;
  /** Timestamp of the last complete line that has one. */
  lastTimestamp: string | undefined;
}

/** How the log file ends, read from its tail only. Undefined when there is no file. */
export async function readLogFileEnd(path: string): Promise<LogFileEnd | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    for (let window = Math.min(size, TAIL_WINDOW); ; window = Math.min(size, window * 2)) {
      const start = size - window;
      const buffer = Buffer.alloc(window);
      const { bytesRead } = await handle.read(buffer, 0, window, start);
      const bytes = buffer.subarray(0, bytesRead);
      const found = lastTimestampIn(bytes, start === 0);
      const complete = bytes.lastIndexOf(0x0a);
      const done = found !== undefined || start === 0 || window >= TAIL_LIMIT;
      if (done) {
        return {
          size,
          complete: complete === -1 ? (start === 0 ? 0 : size) : start + complete + 1,
          lastTimestamp: found,
        };
      }
    }
  } finally {
    await handle.close();
  }
}

/** The timestamp of the last complete line in `bytes` that has one (the first line only if `whole`). */
function lastTimestampIn(bytes: Buffer, whole: boolean): string | undefined {
  let end = bytes.lastIndexOf(0x0a);
  while (end !== -1) {
    const previous = end === 0 ? -1 : bytes.lastIndexOf(0x0a, end - 1);
    // The first line in the window may be cut off at the front, unless the window starts the file.
    if (previous === -1 && !whole) return undefined;
    const start = previous + 1;
    // The stream and the timestamp are in the first few dozen bytes.
    const line = parseLogFileLine(bytes.toString('utf8', start, Math.min(end, start + 80)));
    if (line !== undefined && TIMESTAMP.test(line.timestamp)) return line.timestamp;
    end = previous;
  }
  return undefined;
}

/** Put where lines were lost (Docker no longer had them when read). Not in the line format. */
export const GAP_MARKER =
  '----- Some lines may be missing here: the live output stream from Docker fell behind or ended early ' +
  "(Docker's log rotation, for one); the lines below are those Docker still had. -----\n";

/** The RFC 3339 timestamp one nanosecond earlier, in UTC with nine digits (undefined if unreadable). */
export function nanosecondBefore(timestamp: string): string | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`);
  if (Number.isNaN(ms)) return undefined;
  const nanos = BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0')) - 1n;
  const seconds = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** How a follower ended: the output ended (the container stopped), stop() was called, or it broke. */
export type FollowEnd = 'ended' | 'stopped' | 'failed';

/** Followers running in this process, by file, so one file never gets two writers. */
const active = new Map<string, LogFollower>();

export class LogFollower {
  /** Resolves, never rejects, once following ended and everything was written to the file. */
  readonly done: Promise<void>;
  private stopped = false;
  private iterator: AsyncIterator<unknown> | undefined;
  private output: WriteStream | undefined;
  private writeError: Error | undefined;
  /** Formatted lines not yet handed to the file stream, and their size. */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private startSize = 0;
  private lines = 0;
  private recovered = 0;
  private gap = false;
  private last: string | undefined;
  private endedAs: FollowEnd | undefined;
  private failure: unknown;

  private constructor(
    private readonly engine: WorkflowEngine,
    readonly jobName: string,
    readonly logPath: string,
    private readonly logger: Logger,
  ) {
    this.done = this.run();
  }

  /**
   * Starts appending the output of `jobName` to `logPath`, after what the file already holds. While a
   * follower of this process is still on the file, that one is returned instead. Start a new one after
   * `done` when the container still runs (its stream broke).
   */
  static start(engine: WorkflowEngine, jobName: string, logPath: string, logger: Logger): LogFollower {
    const key = resolve(logPath);
    const current = active.get(key);
    if (current !== undefined) return current;
    const follower = new LogFollower(engine, jobName, logPath, logger);
    active.set(key, follower);
    void follower.done.then(() => {
      if (active.get(key) === follower) active.delete(key);
    });
    return follower;
  }

  /** Ends following early (for shutdown); `done` resolves once the file is flushed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Aborts a pending read, with engines that support it (DockerEngine does).
    this.iterator?.return?.().catch(() => undefined);
  }

  /** Bytes this follower added to the file (written to disk so far). */
  get bytesWritten(): number {
    return this.output?.bytesWritten ?? 0;
  }

  /** The file's size as far as this follower knows: what was there before plus what it wrote. */
  get fileSize(): number {
    return this.startSize + this.bytesWritten;
  }

  get linesWritten(): number {
    return this.lines;
  }

  /** Lines the live stream missed and the final plain read found (see run()). */
  get linesRecovered(): number {
    return this.recovered;
  }

  /** True when lines were lost: Docker no longer had the last line written when recovering. */
  get linesLost(): boolean {
    return this.gap;
  }

  /** Timestamp of the last line in the file. */
  get lastTimestamp(): string | undefined {
    return this.last;
  }

  /** Undefined while following. */
  get result(): FollowEnd | undefined {
    return this.endedAs;
  }

  /** Why it failed, when result is 'failed'. */
  get error(): unknown {
    return this.failure;
  }

  private async run(): Promise<void> {
    const context = { container: this.jobName, logPath: this.logPath };
    try {
      await mkdir(dirname(this.logPath), { recursive: true });
      const end = await readLogFileEnd(this.logPath);
      if (end !== undefined && end.complete < end.size) {
        // The previous writer was cut off mid-line; that line comes again, whole.
        this.logger.warn('dropping an incomplete last line from the log file', {
          ...context,
          bytes: end.size - end.complete,
        });
        await truncate(this.logPath, end.complete);
      }
      this.startSize = end?.complete ?? 0;
      this.last = end?.lastTimestamp;
      const segmentSince = this.last;
      if (this.stopped) {
        this.endedAs = 'stopped';
        return;
      }
      let output = this.openOutput();
      this.logger.debug('following engine container output', { ...context, since: this.last ?? null });
      const timer = setInterval(() => {
        if (this.output !== undefined) this.writeBatch(this.output);
      }, BATCH_MS);
      try {
        await this.copy(output, 'follow');
        if (!this.isStopped()) {
          // Docker (20.10 at least) can miss the last lines of a container that just exited, and can end
          // a live stream that fell behind when its log file rotated. One more plain read, from the last
          // line written, adds what Docker still has.
          const recovered = await this.copy(output, 'recover');
          this.recovered += recovered;
          if (this.gap) {
            this.logger.warn('the live output stream fell behind; lines Docker no longer had are lost', {
              ...context,
              linesRecovered: recovered,
            });
          } else if (recovered > 0) {
            this.logger.debug('added lines the live output stream missed', { ...context, lines: recovered });
          }
          if (!this.gap && !this.isStopped()) output = await this.verify(output, segmentSince);
        }
      } finally {
        clearInterval(timer);
      }
      this.endedAs = this.isStopped() ? 'stopped' : 'ended';
    } catch (error) {
      await this.iterator?.return?.().catch(() => undefined);
      if (this.isStopped() && this.failedWrite() === undefined) {
        // Most likely the stop itself, with an engine that reports its aborted read as an error.
        this.endedAs = 'stopped';
      } else {
        this.endedAs = 'failed';
        this.failure = error;
        this.logger.warn('following engine container output failed', {
          ...context,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    } finally {
      await this.closeOutput();
    }
    this.logger.debug('stopped following engine container output', {
      ...context,
      result: this.endedAs,
      lines: this.lines,
      bytes: this.bytesWritten,
    });
  }

  private openOutput(): WriteStream {
    const output = createWriteStream(this.logPath, { flags: 'a' });
    this.output = output;
    output.on('error', (error) => {
      this.writeError ??= error;
    });
    return output;
  }

  /**
   * Docker 20.10's live stream can also skip lines in the middle under load (seen: 4,300 of 30,000 lines
   * gone, the stream carrying on after them), which the read at the end cannot see. So once the output
   * ended, Docker's own record of what this follower covered is counted with a plain read; when it holds
   * more lines than were written, this follower's part of the file is written again from that record.
   * Costs one more read of the container's output per job; a plain read is complete.
   */
  private async verify(output: WriteStream, segmentSince: string | undefined): Promise<WriteStream> {
    let held = 0;
    for await (const counted of logBlocksOf(this.engine, this.jobName, {
      follow: false,
      countOnly: true,
      ...(segmentSince === undefined ? {} : { since: segmentSince }),
    })) {
      held += counted.lines;
      if (this.isStopped()) return output;
    }
    if (held <= this.lines) return output;
    const written = this.lines;
    this.writeBatch(output);
    await new Promise<void>((done) => {
      output.once('close', done);
      output.end();
    });
    const failed = this.failedWrite();
    if (failed !== undefined) throw failed;
    await truncate(this.logPath, this.startSize);
    const rewritten = this.openOutput();
    this.lines = 0;
    this.last = segmentSince;
    await this.copy(rewritten, 'rewrite');
    this.recovered += this.lines - written;
    this.logger.warn("the live output stream skipped lines; the log was written again from Docker's record", {
      container: this.jobName,
      logPath: this.logPath,
      linesStreamed: written,
      linesInDocker: this.lines,
    });
    return rewritten;
  }

  /**
   * Appends the engine's lines after the last one written; returns how many. Following and rewriting read
   * blocks of lines; recovering reads lines one by one (usually a few), see recoverLines().
   */
  private async copy(output: WriteStream, mode: 'follow' | 'recover' | 'rewrite'): Promise<number> {
    if (mode === 'recover') return this.recoverLines(output);
    const since = this.last;
    const blocks = logBlocksOf(this.engine, this.jobName, {
      follow: mode === 'follow',
      ...(since === undefined ? {} : { since }),
    });
    const iterator = blocks[Symbol.asyncIterator]();
    this.iterator = iterator;
    // stop() may have come in the meantime (while the file was being prepared, say).
    if (this.isStopped()) await iterator.return?.();
    let count = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return count;
      const block = next.value;
      this.append(block.bytes);
      this.lines += block.lines;
      count += block.lines;
      if (block.lastTimestamp !== '') this.last = block.lastTimestamp;
      await this.writeWhenFull(output);
    }
  }

  /**
   * Appends the engine's lines after the last one written, reading from that line on, so that a gap
   * shows: Docker no longer having that line means lines after it may be lost as well, and the gap marker
   * goes in. Returns how many were added.
   */
  private async recoverLines(output: WriteStream): Promise<number> {
    const last = this.last;
    const overlap = last !== undefined ? nanosecondBefore(last) : undefined;
    const since = overlap ?? last;
    const lines = this.engine.logs(this.jobName, {
      follow: false,
      ...(since === undefined ? {} : { since }),
    });
    const iterator = lines[Symbol.asyncIterator]();
    this.iterator = iterator;
    // stop() may have come in the meantime (while the file was being prepared, say).
    if (this.isStopped()) await iterator.return?.();
    let count = 0;
    let overlapSeen = false;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return count;
      const line = next.value;
      if (overlap !== undefined) {
        if (line.timestamp === last) {
          overlapSeen = true;
          continue;
        }
        if (count === 0 && !overlapSeen) {
          this.gap = true;
          this.append(Buffer.from(GAP_MARKER));
        }
      }
      this.append(Buffer.from(formatLogLine(line)));
      this.lines++;
      count++;
      if (line.timestamp !== '') this.last = line.timestamp;
      await this.writeWhenFull(output);
    }
  }

  private append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.batch.push(bytes);
    this.batchBytes += bytes.length;
  }

  /** Writes the batch once it is big enough, and throws when writing failed. */
  private async writeWhenFull(output: WriteStream): Promise<void> {
    if (this.batchBytes >= BATCH_BYTES) {
      this.writeBatch(output);
      // Backpressure: the next lines are read once the file has caught up.
      if (output.writableNeedDrain) await once(output, 'drain');
    }
    const failed = this.failedWrite();
    if (failed !== undefined) throw failed;
  }

  // Methods, not fields, where stop() or a write error may have changed things during an await.
  private isStopped(): boolean {
    return this.stopped;
  }

  private failedWrite(): Error | undefined {
    return this.writeError;
  }

  /** Hands the batch to the file stream: one write of its blocks (writev), not a copy of them. */
  private writeBatch(output: WriteStream): void {
    if (this.batchBytes === 0 || output.destroyed) return;
    output.cork();
    for (const bytes of this.batch) output.write(bytes);
    output.uncork();
    this.batch = [];
    this.batchBytes = 0;
  }

  /** Flushes and closes the file; a write error is logged (and makes the result 'failed'). */
  private async closeOutput(): Promise<void> {
    const output = this.output;
    if (output === undefined) return;
    this.writeBatch(output);
    if (!output.destroyed) {
      await new Promise<void>((done) => {
        output.once('close', done);
        output.end();
      });
    }
    if (this.writeError !== undefined && this.endedAs !== 'failed') {
      this.endedAs = 'failed';
      this.failure = this.writeError;
      this.logger.warn('writing the log file failed', {
        container: this.jobName,
        logPath: this.logPath,
        reason: this.writeError.message,
      });
    }
  }
}
