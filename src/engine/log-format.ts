/**
 * The line format of the orchestrator's copy of a job's output (`workflow.log`, written by
 * src/evaluation/logs/follower.ts), one line per line of output:
 *
 *     STDOUT 2026-11-21T19:52:22.697409123Z Running step "train"
 *     STDERR 2026-11-21T19:52:23.001200400Z WARNING: no GPU found
 *
 * that is `<STDOUT|STDERR> <the engine's timestamp> <the line as written, without its newline>`. A
 * timestamp the engine did not give is written as '-'. Here because an engine whose output comes as bytes
 * (Docker, src/engine/docker/log-decoder.ts) writes lines in this form directly, without a string per line.
 */
import type { LogBlock, LogLine, LogReadOptions, WorkflowEngine } from './interfaces.js';

/** Written for a line without a timestamp. */
export const MISSING_TIMESTAMP = '-';

/** The start of a line of each stream, with the space after it. */
export const STREAM_LABELS: Record<LogLine['stream'], string> = { stdout: 'STDOUT ', stderr: 'STDERR ' };

/** A line of output as written to the log file, with its newline. */
export function formatLogLine(line: LogLine): string {
  const timestamp = line.timestamp === '' ? MISSING_TIMESTAMP : line.timestamp;
  return `${STREAM_LABELS[line.stream]}${timestamp} ${line.text}\n`;
}

/** A log file line (without its newline) read back; undefined when it is not in the file's format. */
export function parseLogFileLine(line: string): LogLine | undefined {
  const match = /^(STDOUT|STDERR) (\S+) ([\s\S]*)$/.exec(line);
  if (match === null) return undefined;
  const timestamp = match[2] === MISSING_TIMESTAMP ? '' : (match[2] ?? '');
  return { stream: match[1] === 'STDERR' ? 'stderr' : 'stdout', timestamp, text: match[3] ?? '' };
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Lines as blocks of one line each, for an engine without logBlocks(). Returning early is passed on to the
 * lines at once (an async generator would wait for the pending line first, and a quiet container's read
 * would never be aborted).
 */
export function blocksOfLines(lines: AsyncIterable<LogLine>, countOnly = false): AsyncIterable<LogBlock> {
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<LogBlock> => {
      const iterator = lines[Symbol.asyncIterator]();
      return {
        next: async (): Promise<IteratorResult<LogBlock>> => {
          const next = await iterator.next();
          if (next.done === true) return { done: true, value: undefined };
          const line = next.value;
          const bytes = countOnly ? NO_BYTES : Buffer.from(formatLogLine(line));
          return { done: false, value: { bytes, lines: 1, lastTimestamp: line.timestamp } };
        },
        return: async (): Promise<IteratorResult<LogBlock>> => {
          await iterator.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** The engine's output as blocks: its own logBlocks() when it has one, else its lines one by one. */
export function logBlocksOf(
  engine: WorkflowEngine,
  name: string,
  options: LogReadOptions & { countOnly?: boolean },
): AsyncIterable<LogBlock> {
  if (engine.logBlocks !== undefined) return engine.logBlocks(name, options);
  const { countOnly, ...read } = options;
  return blocksOfLines(engine.logs(name, read), countOnly === true);
}
