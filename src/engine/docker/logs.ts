/**
 * A container's output as lines (GET /containers/{name}/logs, timestamps on), streamed one HTTP chunk at a
 * time: followed live or read once, from a given timestamp on, with the repeats a log rotation causes dropped.
 */
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../../logging/logger.js';
import type { LogLine } from '../interfaces.js';
import { reasonOf, statusOf } from './errors.js';
import { DockerLogDecoder, timestampAfter, unixTimestampOf } from './log-decoder.js';

/** The container's output (see WorkflowEngine.logs); returning early aborts the request. */
export function containerLogs(
  docker: Dockerode,
  logger: Logger,
  name: string,
  options: { follow: boolean; since?: string },
): AsyncIterable<LogLine> {
  return {
    [Symbol.asyncIterator]: () => {
      // Returning early (a follower stopping) aborts the request, so a quiet container cannot hold it up.
      const controller = new AbortController();
      const lines = readLogs(docker, logger, name, options, controller.signal);
      return {
        next: () => lines.next(),
        return: async () => {
          controller.abort();
          return lines.return();
        },
      };
    },
  };
}

/** The output as lines, one HTTP chunk at a time; the next chunk is read once the consumer took these. */
async function* readLogs(
  docker: Dockerode,
  logger: Logger,
  name: string,
  options: { follow: boolean; since?: string },
  signal: AbortSignal,
): AsyncGenerator<LogLine, void, undefined> {
  const since = options.since === undefined || options.since === '' ? undefined : options.since;
  const sinceParam = since === undefined ? undefined : unixTimestampOf(since);
  if (since !== undefined && sinceParam === undefined) {
    throw new Error(`Cannot read the output of ${name} since '${since}': not an RFC 3339 timestamp`);
  }
  let tty: boolean;
  try {
    tty = (await docker.getContainer(name).inspect({ abortSignal: signal })).Config.Tty;
  } catch (error) {
    if (statusOf(error) === 404 || signal.aborted) return;
    throw new Error(`Cannot inspect engine container ${name}: ${reasonOf(error)}`);
  }
  let stream: Readable;
  try {
    stream = await openLogStream(docker, name, options.follow, sinceParam, signal);
  } catch (error) {
    if (statusOf(error) === 404 || signal.aborted) return;
    throw new Error(`Cannot read the output of engine container ${name}: ${reasonOf(error)}`);
  }
  const decoder = new DockerLogDecoder(!tty);
  // Each stream's timestamps only go up. Docker 20.10 breaks that when its json log rotates while a
  // follower lags: it sends a file's lines again. Those repeats are dropped here.
  const latest: Record<LogLine['stream'], string> = { stdout: since ?? '', stderr: since ?? '' };
  let repeated = 0;
  const wanted = (line: LogLine): boolean => {
    if (line.timestamp === '') return true;
    const before = latest[line.stream];
    if (before !== '' && !timestampAfter(line.timestamp, before)) {
      if (since === undefined || timestampAfter(line.timestamp, since)) repeated++;
      return false;
    }
    latest[line.stream] = line.timestamp;
    return true;
  };
  try {
    for await (const chunk of stream) {
      for (const line of decoder.push(chunk as Buffer)) if (wanted(line)) yield line;
    }
    for (const line of decoder.end()) if (wanted(line)) yield line;
  } catch (error) {
    if (signal.aborted) return;
    throw new Error(`The output of engine container ${name} broke off: ${reasonOf(error)}`);
  } finally {
    stream.destroy();
    if (repeated > 0) {
      logger.warn('Docker sent lines of the output again (its log rotation); dropped them', {
        container: name,
        lines: repeated,
        hint: 'lines before the repeats may be missing; a larger log rotation size avoids this',
      });
    }
  }
}

/**
 * GET /containers/{name}/logs as a stream. Dockerode's own logs() buffers the whole answer unless it
 * follows, which for a large finished log would mean all of it in memory.
 */
async function openLogStream(
  docker: Dockerode,
  name: string,
  follow: boolean,
  since: string | undefined,
  signal: AbortSignal,
): Promise<Readable> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${encodeURIComponent(name)}/logs?`,
        method: 'GET',
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: {
          follow,
          stdout: true,
          stderr: true,
          timestamps: true,
          ...(since === undefined ? {} : { since }),
        },
      },
      (error, result) => {
        if (error !== null) reject(error);
        else resolve(result as Readable);
      },
    );
  });
}
