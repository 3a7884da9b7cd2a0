/**
 * A container's output as lines or as blocks of lines in the log file's form (GET /containers/{name}/logs,
 * timestamps on), streamed one HTTP chunk at a time: followed live or read once, from a given timestamp
 * on, with the repeats a log rotation causes dropped.
 */
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from '../../logging/logger.js';
import type { LogBlock, LogLine, LogReadOptions } from '../interfaces.js';
import { reasonOf, statusOf } from './errors.js';
import { DockerLogBlockDecoder, DockerLogDecoder, unixTimestampOf } from './log-decoder.js';
import { plainEndpointOf, plainGet, type BodyPiece } from './plain-http.js';

/** The container's output (see WorkflowEngine.logs); returning early aborts the request. */
export function containerLogs(
  docker: Dockerode,
  logger: Logger,
  name: string,
  options: LogReadOptions,
): AsyncIterable<LogLine> {
  return abortable((signal) =>
    readLogs(docker, logger, name, options, signal, (tty, since) => {
      const decoder = new DockerLogDecoder({ multiplexed: !tty, dropRepeats: true, since });
      return {
        push: (piece) => decoder.pushRanges(piece.bytes, piece.ranges, piece.reused),
        end: () => decoder.end(),
        repeated: () => decoder.repeated,
      };
    }),
  );
}

/**
 * The same lines as blocks in the log file's form (see WorkflowEngine.logBlocks), a block per chunk Docker
 * sent: no string per line. Returning early aborts the request.
 */
export function containerLogBlocks(
  docker: Dockerode,
  logger: Logger,
  name: string,
  options: LogReadOptions & { countOnly?: boolean },
): AsyncIterable<LogBlock> {
  const { countOnly, ...read } = options;
  return abortable((signal) =>
    readLogs(docker, logger, name, read, signal, (tty, since) => {
      const decoder = new DockerLogBlockDecoder({ multiplexed: !tty, dropRepeats: true, since, countOnly });
      const blocks = (block: LogBlock | undefined) => (block === undefined ? [] : [block]);
      return {
        push: (piece) => blocks(decoder.pushRanges(piece.bytes, piece.ranges, piece.reused)),
        end: () => blocks(decoder.end()),
        repeated: () => decoder.repeated,
      };
    }),
  );
}

/** Returning early (a follower stopping) aborts the request, so a quiet container cannot hold it up. */
function abortable<T>(read: (signal: AbortSignal) => AsyncGenerator<T, void, undefined>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      const controller = new AbortController();
      const items = read(controller.signal);
      return {
        next: () => items.next(),
        return: async () => {
          controller.abort();
          return items.return();
        },
      };
    },
  };
}

/** What the output is made into: lines or blocks, with the lines Docker sent again dropped. */
interface Decoder<T> {
  push(piece: BodyPiece): T[];
  end(): T[];
  /** How many lines were dropped as sent again. */
  repeated(): number;
}

/** The output, one HTTP chunk at a time; the next chunk is read once the consumer took these. */
async function* readLogs<T>(
  docker: Dockerode,
  logger: Logger,
  name: string,
  options: LogReadOptions,
  signal: AbortSignal,
  decoderFor: (tty: boolean, since: string | undefined) => Decoder<T>,
): AsyncGenerator<T, void, undefined> {
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
  let body: AsyncIterable<BodyPiece>;
  try {
    body = await openLogStream(docker, name, options.follow, sinceParam, signal);
  } catch (error) {
    if (statusOf(error) === 404 || signal.aborted) return;
    throw new Error(`Cannot read the output of engine container ${name}: ${reasonOf(error)}`);
  }
  // Each stream's timestamps only go up. Docker 20.10 breaks that when its json log rotates while a
  // follower lags: it sends a file's lines again. The decoder drops those repeats.
  const decoder = decoderFor(tty, since);
  try {
    for await (const piece of body) {
      for (const item of decoder.push(piece)) yield item;
    }
    for (const item of decoder.end()) yield item;
  } catch (error) {
    if (signal.aborted) return;
    throw new Error(`The output of engine container ${name} broke off: ${reasonOf(error)}`);
  } finally {
    const repeated = decoder.repeated();
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
 * GET /containers/{name}/logs, its body as it comes. Over a plain connection (the unix socket, tcp without
 * TLS) read by plain-http.ts, a socket read at a time; otherwise through Dockerode's modem (whose own
 * logs() buffers the whole answer unless it follows, which for a large finished log would mean all of it
 * in memory).
 */
async function openLogStream(
  docker: Dockerode,
  name: string,
  follow: boolean,
  since: string | undefined,
  signal: AbortSignal,
): Promise<AsyncIterable<BodyPiece>> {
  const options = {
    follow,
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(since === undefined ? {} : { since }),
  };
  const plain = plainEndpointOf(docker);
  if (plain !== undefined) {
    const query = new URLSearchParams(
      Object.entries(options).map(([key, value]): [string, string] => [key, String(value)]),
    ).toString();
    const path = `${plain.prefix}/containers/${encodeURIComponent(name)}/logs?${query}`;
    return plainGet(plain.endpoint, path, signal);
  }
  const stream = await new Promise<Readable>((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${encodeURIComponent(name)}/logs?`,
        method: 'GET',
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options,
      },
      (error, result) => {
        if (error !== null) reject(error);
        else resolve(result as Readable);
      },
    );
  });
  return {
    [Symbol.asyncIterator]: async function* () {
      try {
        for await (const chunk of stream)
          yield { bytes: chunk as Buffer, ranges: [0, (chunk as Buffer).length], reused: false };
      } finally {
        stream.destroy();
      }
    },
  };
}
