/** LogFollower with a scripted engine: the file format, restarts without repeats, stop, and failures. */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockerLogBlockDecoder } from '../../../src/engine/docker/log-decoder.js';
import type { LogBlock, LogLine, WorkflowEngine } from '../../../src/engine/interfaces.js';
import {
  GAP_MARKER,
  LogFollower,
  nanosecondBefore,
  readLogFileEnd,
} from '../../../src/evaluation/logs/follower.js';
import { formatLogLine, parseLogFileLine } from '../../../src/engine/log-format.js';
import { createLogger } from '../../../src/logging/logger.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'log-follower-'));
  dirs.push(dir);
  return dir;
}

function ts(i: number): string {
  return `2026-11-21T19:52:${String(10 + Math.floor(i / 1000)).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}000000Z`;
}

function line(i: number, stream: LogLine['stream'] = i % 3 === 0 ? 'stderr' : 'stdout'): LogLine {
  return { stream, timestamp: ts(i), text: `line ${i}` };
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: createLogger({ level: 'debug', format: 'json', stream }), text: () => text };
}

/** Set per run of the LogFollower tests: the scripted engine also has logBlocks() (as DockerEngine). */
let withBlocks = false;

/** Lines as Docker frames through DockerLogBlockDecoder: one block, as the engine's logBlocks() makes it. */
function blockOf(lines: LogLine[], since: string | undefined, countOnly: boolean): LogBlock | undefined {
  const frames = lines.map((l) => {
    const payload = Buffer.from(`${l.timestamp} ${l.text}\n`);
    const header = Buffer.alloc(8);
    header[0] = l.stream === 'stdout' ? 1 : 2;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  });
  const decoder = new DockerLogBlockDecoder({ dropRepeats: true, since, countOnly });
  const block = decoder.push(Buffer.concat(frames));
  expect(decoder.end()).toBeUndefined();
  return block;
}

/**
 * An engine whose container printed `lines`, then (unless `ends`) keeps quiet until stopped; `failAfter`
 * breaks the stream after that many lines. Like DockerEngine, `since` drops lines up to it, and returning
 * early ends a pending read. With `withBlocks`, it has logBlocks() too, giving the lines three at a time.
 */
function scriptedEngine(
  lines: LogLine[],
  options: {
    ends?: boolean;
    failAfter?: number;
    liveStreamEndsAfter?: number;
    keptFrom?: number;
    /** The live stream leaves out the lines from index [0] up to (not including) index [1]. */
    liveStreamSkips?: [number, number];
  } = {},
) {
  const calls: { follow: boolean; since: string | undefined }[] = [];
  const selected = (follow: boolean, since: string | undefined): LogLine[] => {
    calls.push({ follow, since });
    let wanted = lines.filter((l) => since === undefined || l.timestamp > since);
    if (follow && options.liveStreamEndsAfter !== undefined) {
      wanted = wanted.slice(0, options.liveStreamEndsAfter);
    }
    const skips = options.liveStreamSkips;
    if (follow && skips !== undefined) {
      const skipped = new Set(lines.slice(skips[0], skips[1]));
      wanted = wanted.filter((l) => !skipped.has(l));
    }
    // Docker's rotation removed the lines before keptFrom by the time of a plain read.
    const keptFrom = lines[options.keptFrom ?? 0]?.timestamp ?? '';
    if (!follow) wanted = wanted.filter((l) => l.timestamp >= keptFrom);
    return wanted;
  };
  /** `wanted` `size` at a time, made into items by `make`. */
  const iterable = <T>(
    follow: boolean,
    wanted: LogLine[],
    size: number,
    make: (lines: LogLine[]) => T | undefined,
  ): AsyncIterable<T> => {
    let index = 0;
    let wake: (() => void) | undefined;
    let closed = false;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<T>> => {
          for (;;) {
            if (options.failAfter !== undefined && index >= options.failAfter) {
              throw new Error('connection reset by peer');
            }
            const end = Math.min(wanted.length, index + size, options.failAfter ?? Infinity);
            if (end > index && !closed) {
              const item = make(wanted.slice(index, end));
              index = end;
              if (item !== undefined) return { done: false, value: item };
              continue;
            }
            if (options.ends !== false || !follow || closed) return { done: true, value: undefined };
            await new Promise<void>((resolve) => (wake = resolve));
            return { done: true, value: undefined };
          }
        },
        return: async (): Promise<IteratorResult<T>> => {
          closed = true;
          wake?.();
          return { done: true, value: undefined };
        },
      }),
    };
  };
  const engine: Pick<WorkflowEngine, 'logs' | 'logBlocks'> = {
    logs(_name, { follow, since }) {
      return iterable(follow, selected(follow, since), 1, ([only]) => only);
    },
  };
  if (withBlocks) {
    engine.logBlocks = (_name, { follow, since, countOnly }) =>
      iterable(follow, selected(follow, since), 3, (some) => blockOf(some, since, countOnly === true));
  }
  return { engine: engine as unknown as WorkflowEngine, calls };
}

function fileLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

describe('log file lines', () => {
  it('are "<STREAM> <timestamp> <text>" and read back', () => {
    const original: LogLine = { stream: 'stderr', timestamp: ts(1), text: 'a  b\tc ' };
    const text = formatLogLine(original);
    expect(text).toBe(`STDERR ${ts(1)} a  b\tc \n`);
    expect(parseLogFileLine(text.slice(0, -1))).toEqual(original);
    expect(formatLogLine({ stream: 'stdout', timestamp: '', text: 'x' })).toBe('STDOUT - x\n');
    expect(parseLogFileLine('STDOUT - x')).toEqual({ stream: 'stdout', timestamp: '', text: 'x' });
    expect(parseLogFileLine(`STDOUT ${ts(2)} `)).toEqual({ stream: 'stdout', timestamp: ts(2), text: '' });
    expect(parseLogFileLine('something else')).toBeUndefined();
  });
});

describe('nanosecondBefore', () => {
  it('steps back one nanosecond, across seconds and zones', () => {
    expect(nanosecondBefore('2026-11-21T19:52:22.697409123Z')).toBe('2026-11-21T19:52:22.697409122Z');
    expect(nanosecondBefore('2026-11-21T19:52:22Z')).toBe('2026-11-21T19:52:21.999999999Z');
    expect(nanosecondBefore('2026-11-21T20:52:22.5+01:00')).toBe('2026-11-21T19:52:22.499999999Z');
    expect(nanosecondBefore('not a time')).toBeUndefined();
  });
});

describe('readLogFileEnd', () => {
  it('finds the last timestamp, and no file or an empty one', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    expect(await readLogFileEnd(path)).toBeUndefined();
    writeFileSync(path, '');
    expect(await readLogFileEnd(path)).toEqual({ size: 0, complete: 0, lastTimestamp: undefined });
    writeFileSync(path, [1, 2, 3].map((i) => formatLogLine(line(i))).join(''));
    const size = readFileSync(path).length;
    expect(await readLogFileEnd(path)).toEqual({ size, complete: size, lastTimestamp: ts(3) });
  });

  it('reports a last line cut off mid-write, and takes the timestamp of the line before', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    const whole = formatLogLine(line(1)) + formatLogLine(line(2));
    writeFileSync(path, `${whole}STDOUT ${ts(3)} half a li`);
    expect(await readLogFileEnd(path)).toEqual({
      size: Buffer.byteLength(whole) + 31 + 16,
      complete: Buffer.byteLength(whole),
      lastTimestamp: ts(2),
    });
    // A single cut-off line: nothing complete.
    writeFileSync(path, 'STDOUT 2026');
    expect(await readLogFileEnd(path)).toEqual({ size: 11, complete: 0, lastTimestamp: undefined });
  });

  it('skips lines without a timestamp, and long lines, going back', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    const long = { stream: 'stdout' as const, timestamp: '', text: 'y'.repeat(300_000) };
    writeFileSync(path, formatLogLine(line(7)) + formatLogLine(long) + formatLogLine(long));
    expect((await readLogFileEnd(path))?.lastTimestamp).toBe(ts(7));
    // A damaged line's "timestamp" is passed over too.
    appendFileSync(path, 'STDOUT 2026-11-2x garbage\n');
    expect((await readLogFileEnd(path))?.lastTimestamp).toBe(ts(7));
  });

  it('reads only the end of the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    // 64 GiB of (sparse) zeros before the last line: reading them all would not finish in time.
    writeFileSync(path, '');
    truncateSync(path, 64 * 1024 ** 3);
    appendFileSync(path, `\n${formatLogLine(line(9))}`);
    const started = Date.now();
    expect((await readLogFileEnd(path))?.lastTimestamp).toBe(ts(9));
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe.each([
  { blocks: false, name: 'lines one by one' },
  { blocks: true, name: 'blocks of lines (DockerLogBlockDecoder)' },
])('LogFollower reading $name', ({ blocks }) => {
  beforeEach(() => {
    withBlocks = blocks;
  });
  afterEach(() => {
    withBlocks = false;
  });

  it('writes every line in order and resolves done when the output ends', async () => {
    const path = join(tempDir(), 'job', 'workflow.log');
    const lines = Array.from({ length: 500 }, (_, i) => line(i));
    const { engine, calls } = scriptedEngine(lines);
    const follower = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    await follower.done;
    expect(follower.result).toBe('ended');
    // Then one plain read after the last line, which finds nothing more, and one that counts what Docker has.
    expect(calls).toEqual([
      { follow: true, since: undefined },
      { follow: false, since: nanosecondBefore(ts(499)) },
      { follow: false, since: undefined },
    ]);
    expect(follower.linesRecovered).toBe(0);
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    const size = readFileSync(path).length;
    expect(follower.bytesWritten).toBe(size);
    expect(follower.fileSize).toBe(size);
    expect(follower.linesWritten).toBe(500);
    expect(follower.lastTimestamp).toBe(ts(499));
  });

  it('continues a file after a restart from its last timestamp, without repeats', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 100 }, (_, i) => line(i));
    writeFileSync(path, lines.slice(0, 40).map(formatLogLine).join(''));
    const before = readFileSync(path).length;
    const { engine, calls } = scriptedEngine(lines);
    const follower = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    await follower.done;
    expect(calls[0]).toEqual({ follow: true, since: ts(39) });
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    expect(follower.fileSize).toBe(readFileSync(path).length);
    expect(follower.bytesWritten).toBe(readFileSync(path).length - before);
  });

  it('drops a line cut off by a crash and writes it again whole', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 10 }, (_, i) => line(i));
    writeFileSync(path, `${lines.slice(0, 5).map(formatLogLine).join('')}STDOUT ${ts(5)} li`);
    const log = capture();
    const { engine, calls } = scriptedEngine(lines);
    await LogFollower.start(engine, 'workflow_job.1', path, log.logger).done;
    expect(calls[0]).toEqual({ follow: true, since: ts(4) });
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    expect(log.text()).toContain('dropping an incomplete last line');
  });

  it('adds the last lines a live stream missed from one plain read at the end', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 50 }, (_, i) => line(i));
    const { engine, calls } = scriptedEngine(lines, { liveStreamEndsAfter: 30 });
    const follower = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    await follower.done;
    // The plain read starts at the last line written, to see that Docker still has it.
    // Then one plain read of everything it covered, to count what Docker holds.
    expect(calls).toEqual([
      { follow: true, since: undefined },
      { follow: false, since: nanosecondBefore(ts(29)) },
      { follow: false, since: undefined },
    ]);
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    expect(follower.linesRecovered).toBe(20);
    expect(follower.linesLost).toBe(false);
    expect(follower.result).toBe('ended');
  });

  it('writes its part again from a plain read when the live stream skipped lines in the middle', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    const lines = Array.from({ length: 3000 }, (_, i) => line(i));
    // A first follower wrote the first 1000 lines; this one continues after them.
    writeFileSync(path, lines.slice(0, 1000).map(formatLogLine).join(''));
    const log = capture();
    const { engine, calls } = scriptedEngine(lines, { liveStreamSkips: [1700, 2100] });
    const follower = LogFollower.start(engine, 'workflow_job.1', path, log.logger);
    await follower.done;
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    expect(follower.result).toBe('ended');
    expect(follower.linesRecovered).toBe(400);
    expect(follower.fileSize).toBe(readFileSync(path).length);
    expect(calls.filter((c) => !c.follow).map((c) => c.since)).toContain(ts(999));
    expect(log.text()).toContain('the live output stream skipped lines');
  });

  it('leaves the file alone when the live stream missed nothing', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 200 }, (_, i) => line(i));
    const log = capture();
    const { engine } = scriptedEngine(lines);
    const follower = LogFollower.start(engine, 'workflow_job.1', path, log.logger);
    await follower.done;
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
    expect(follower.linesRecovered).toBe(0);
    expect(log.text()).not.toContain('skipped lines');
  });

  it('marks the gap when Docker no longer has the last line written, with a warning', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 50 }, (_, i) => line(i));
    const log = capture();
    const { engine } = scriptedEngine(lines, { liveStreamEndsAfter: 30, keptFrom: 40 });
    const follower = LogFollower.start(engine, 'workflow_job.1', path, log.logger);
    await follower.done;
    const expected = lines.map((l) => formatLogLine(l).slice(0, -1));
    expect(fileLines(path)).toEqual([...expected.slice(0, 30), GAP_MARKER.trimEnd(), ...expected.slice(40)]);
    expect(follower.linesRecovered).toBe(10);
    expect(follower.linesLost).toBe(true);
    expect(log.text()).toContain('lines Docker no longer had are lost');
    // A restart reads past the marker to the last timestamp.
    expect((await readLogFileEnd(path))?.lastTimestamp).toBe(ts(49));
  });

  it('stop() ends following a quiet container; the file holds what came', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 5 }, (_, i) => line(i));
    const { engine } = scriptedEngine(lines, { ends: false });
    const follower = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(follower.result).toBeUndefined();
    follower.stop();
    await follower.done;
    expect(follower.result).toBe('stopped');
    expect(fileLines(path)).toHaveLength(5);
  });

  it('one follower per file: a second start while it runs returns the same one', async () => {
    const path = join(tempDir(), 'workflow.log');
    const { engine, calls } = scriptedEngine([line(1)], { ends: false });
    const first = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    expect(LogFollower.start(engine, 'workflow_job.1', path, capture().logger)).toBe(first);
    await vi.waitFor(() => {
      expect(calls).toHaveLength(1);
    });
    first.stop();
    await first.done;
    const second = LogFollower.start(engine, 'workflow_job.1', path, capture().logger);
    expect(second).not.toBe(first);
    await vi.waitFor(() => {
      expect(calls).toHaveLength(2);
    });
    second.stop();
    await second.done;
    expect(calls).toHaveLength(2);
  });

  it('a broken stream is logged, not thrown; a new follower picks up after the last line', async () => {
    const path = join(tempDir(), 'workflow.log');
    const lines = Array.from({ length: 20 }, (_, i) => line(i));
    const log = capture();
    const broken = scriptedEngine(lines, { failAfter: 8 });
    const follower = LogFollower.start(broken.engine, 'workflow_job.1', path, log.logger);
    await follower.done;
    expect(follower.result).toBe('failed');
    expect((follower.error as Error).message).toBe('connection reset by peer');
    expect(log.text()).toContain('following engine container output failed');
    expect(fileLines(path)).toHaveLength(8);

    const healthy = scriptedEngine(lines);
    await LogFollower.start(healthy.engine, 'workflow_job.1', path, log.logger).done;
    expect(healthy.calls[0]).toEqual({ follow: true, since: ts(7) });
    expect(fileLines(path)).toEqual(lines.map((l) => formatLogLine(l).slice(0, -1)));
  });

  it('a log path it cannot write is logged, not thrown', async () => {
    const dir = tempDir();
    const path = join(dir, 'workflow.log');
    mkdirSync(path);
    const log = capture();
    const { engine } = scriptedEngine([line(1)]);
    const follower = LogFollower.start(engine, 'workflow_job.1', path, log.logger);
    await follower.done;
    expect(follower.result).toBe('failed');
    expect(log.text()).toMatch(/failed/);
  });
});
