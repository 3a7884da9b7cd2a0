/**
 * A streamed GET to the Docker engine over a plain connection (its unix socket, or tcp without TLS), read
 * with a small HTTP/1.1 reader of its own: the answer's body comes as ranges of what the socket read, up to
 * 64 KiB at a time, with no copy. For a container's log: Docker writes its answer one chunk per line
 * (chunked transfer encoding, flushed after each log message), and Node's HTTP client hands over every
 * chunk as a Buffer of its own, a copy made in a call from C++: for a log of millions of lines, millions
 * of short-lived buffers, most of the orchestrator's CPU for following it. Other connections (TLS, ssh)
 * go through Dockerode (see logs.ts).
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';

/** Where a plain connection goes. */
export type PlainEndpoint = { socketPath: string } | { host: string; port: number };

/** What is known of Dockerode's modem (its type is `any`). */
interface ModemSettings {
  socketPath?: unknown;
  host?: unknown;
  port?: unknown;
  protocol?: unknown;
  version?: unknown;
}

/** The client's endpoint when it is a plain connection, and its API version prefix; else undefined. */
export function plainEndpointOf(docker: Dockerode): { endpoint: PlainEndpoint; prefix: string } | undefined {
  const modem = docker.modem as ModemSettings;
  const prefix = typeof modem.version === 'string' && modem.version !== '' ? `/${modem.version}` : '';
  if (modem.host === undefined || modem.host === null || modem.host === '') {
    if (typeof modem.socketPath !== 'string' || !modem.socketPath.startsWith('/')) return undefined;
    return { endpoint: { socketPath: modem.socketPath }, prefix };
  }
  if (modem.protocol !== 'http' || typeof modem.host !== 'string' || /[/:@]/.test(modem.host))
    return undefined;
  const port = Number(modem.port);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  return { endpoint: { host: modem.host, port }, prefix };
}

/** Body bytes: `ranges` holds [start, end) pairs into `bytes`, in order. */
export interface BodyPiece {
  bytes: Buffer;
  ranges: number[];
  /** True when `bytes` is written over by the next read: nothing may be kept of it without a copy. */
  reused: boolean;
}

/** An answer that is not 200, shaped as Dockerode's errors are (statusOf, reasonOf read it). */
export class PlainHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'PlainHttpError';
  }
}

/** The longest answer head (status line and headers) taken. */
const MAX_HEAD_BYTES = 64 * 1024;
/** How much of an error answer's body is read for its message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** What the socket reads into, again and again (see SocketReader). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * A read smaller than this is followed by a short pause before the next, so that the next one takes
 * what came meanwhile: Docker writes (and flushes) a log answer a line at a time, and a reader as fast as
 * it would read a line at a time too, each read costing far more than the line. The socket reads from
 * the kernel only when asked, so the lines wait in the kernel's buffer. The pause is short because that buffer holds few of them (some 25 KiB of 100-byte lines on a unix
 * socket, each write taking far more room than its bytes): on 100 MiB of output read once, 1 ms took
 * half the CPU of no pause and less time, 3 ms and more made Docker wait.
 */
const SMALL_READ_BYTES = 16 * 1024;
const READ_PAUSE_MS = 1;
const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;

/**
 * GET `path` (with its query); resolves once the answer's head is in, with its body to read. Throws a
 * PlainHttpError for an answer other than 200. Aborting `signal` closes the connection.
 */
export async function plainGet(
  endpoint: PlainEndpoint,
  path: string,
  signal: AbortSignal,
): Promise<AsyncIterable<BodyPiece>> {
  signal.throwIfAborted();
  const reader = new SocketReader(endpoint);
  const socket = reader.socket;
  const abort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', abort, { once: true });
  const close = () => {
    signal.removeEventListener('abort', abort);
    socket.destroy();
  };
  try {
    const host = 'socketPath' in endpoint ? 'docker' : `${endpoint.host}:${endpoint.port}`;
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const { head, rest } = await readHead(reader);
    const answer = parseHead(head);
    const body = new BodyDecoder(answer.framing, answer.contentLength);
    if (answer.status !== 200) throw await errorOf(answer.status, answer.reason, body, rest, reader);
    return { [Symbol.asyncIterator]: () => bodyPieces(body, rest, reader, close) };
  } catch (error) {
    close();
    throw error;
  }
}

async function* bodyPieces(
  body: BodyDecoder,
  first: Buffer,
  reader: SocketReader,
  close: () => void,
): AsyncGenerator<BodyPiece, void, undefined> {
  try {
    let bytes = first;
    for (;;) {
      const ranges = body.read(bytes);
      if (ranges.length > 0) yield { bytes, ranges, reused: bytes.buffer === reader.buffer.buffer };
      if (body.done) return;
      const next = await reader.next();
      if (next.done === true) {
        if (body.endsAtClose) return;
        throw new Error('the engine closed the connection before the end of its answer');
      }
      bytes = next.value;
    }
  } finally {
    close();
  }
}

/**
 * The socket's reads, into one buffer used again and again: a read is valid until next() is called again
 * (the socket waits meanwhile). No buffer per read: following gigabytes makes no garbage here.
 */
class SocketReader {
  readonly buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  readonly socket: Socket;
  private filled = 0;
  private taken = false;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(endpoint: PlainEndpoint) {
    const onread = {
      buffer: this.buffer,
      callback: (bytes: number): boolean => {
        this.filled = bytes;
        this.notify();
        // Paused until the read was taken.
        return false;
      },
    };
    this.socket =
      'socketPath' in endpoint
        ? connect({ path: endpoint.socketPath, onread })
        : connect({ ...endpoint, onread });
    this.socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
    this.socket.on('error', (error) => {
      this.failure ??= error;
      this.notify();
    });
  }

  /** The next read's bytes (valid until the next call), or done at the end of the connection. */
  async next(): Promise<IteratorResult<Buffer, undefined>> {
    if (this.taken) {
      const small = this.filled < SMALL_READ_BYTES;
      this.taken = false;
      this.filled = 0;
      if (small) await sleep(READ_PAUSE_MS);
      if (!this.socket.destroyed) this.socket.resume();
    }
    for (;;) {
      if (this.filled > 0) {
        this.taken = true;
        return { done: false, value: this.buffer.subarray(0, this.filled) };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Reads up to the end of the head ("\r\n\r\n"); what follows it is the body's start. */
async function readHead(reader: SocketReader): Promise<{ head: string; rest: Buffer }> {
  let received: Buffer = Buffer.alloc(0);
  for (;;) {
    const next = await reader.next();
    if (next.done === true) throw new Error('the engine closed the connection without an answer');
    // A copy: the read's buffer is used again; `rest` is read before the next read.
    received = received.length === 0 ? next.value : Buffer.concat([received, next.value]);
    const end = received.indexOf('\r\n\r\n');
    if (end !== -1) return { head: received.toString('latin1', 0, end), rest: received.subarray(end + 4) };
    if (received.length > MAX_HEAD_BYTES) throw new Error('the engine answered with an oversized head');
  }
}

interface AnswerHead {
  status: number;
  reason: string;
  framing: 'chunked' | 'length' | 'close';
  contentLength: number;
}

function parseHead(head: string): AnswerHead {
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (status === null) throw new Error(`the engine answered with something other than HTTP: ${statusLine}`);
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const chunked = /\bchunked\b/i.test(headers.get('transfer-encoding') ?? '');
  const length = headers.get('content-length');
  const contentLength = length === undefined ? NaN : Number(length);
  return {
    status: Number(status[1]),
    reason: status[2] ?? '',
    framing: chunked ? 'chunked' : Number.isSafeInteger(contentLength) ? 'length' : 'close',
    contentLength,
  };
}

/** The error for an answer other than 200, with Docker's message from its body when it gives one. */
async function errorOf(
  status: number,
  reason: string,
  body: BodyDecoder,
  first: Buffer,
  reader: SocketReader,
): Promise<PlainHttpError> {
  const parts: Buffer[] = [];
  let length = 0;
  let bytes = first;
  for (;;) {
    const ranges = body.read(bytes);
    for (let i = 0; i < ranges.length; i += 2) {
      const part = Buffer.from(bytes.subarray(ranges[i], ranges[i + 1]));
      parts.push(part);
      length += part.length;
    }
    if (body.done || length > MAX_ERROR_BODY_BYTES) break;
    const next = await reader.next().catch(() => ({ done: true as const, value: undefined }));
    if (next.done === true) break;
    bytes = next.value;
  }
  const text = Buffer.concat(parts).toString('utf8').slice(0, MAX_ERROR_BODY_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const message = (json as { message?: unknown } | undefined)?.message;
  const said = typeof message === 'string' ? message : text;
  return new PlainHttpError(status, json, `(HTTP code ${status}) ${reason} - ${said}`);
}

/**
 * The body of an answer, chunked (a hex size line, the data, CRLF; a zero size and trailer lines end it),
 * of a given length, or up to the end of the connection. Keeps no bytes: a chunk's data comes as ranges.
 */
export class BodyDecoder {
  done = false;
  private state: 'size' | 'extension' | 'data' | 'dataEnd' | 'trailer' = 'size';
  private size = 0;
  private sizeDigits = 0;
  private left: number;
  private lineLength = 0;

  constructor(
    private readonly framing: 'chunked' | 'length' | 'close',
    contentLength = 0,
  ) {
    this.left = framing === 'length' ? contentLength : 0;
    if (framing === 'length' && contentLength === 0) this.done = true;
  }

  /** True when the body ends with the connection. */
  get endsAtClose(): boolean {
    return this.framing === 'close';
  }

  /** The body's ranges in `bytes`, [start, end) pairs. */
  read(bytes: Buffer): number[] {
    const ranges: number[] = [];
    if (this.done || bytes.length === 0) return ranges;
    if (this.framing === 'close') {
      ranges.push(0, bytes.length);
      return ranges;
    }
    if (this.framing === 'length') {
      const take = Math.min(this.left, bytes.length);
      ranges.push(0, take);
      this.left -= take;
      if (this.left === 0) this.done = true;
      return ranges;
    }
    let pos = 0;
    while (pos < bytes.length && !this.done) {
      switch (this.state) {
        case 'size': {
          const byte = bytes[pos++] ?? 0;
          const digit = hexDigit(byte);
          if (digit !== -1) {
            this.size = this.size * 16 + digit;
            if (++this.sizeDigits > 12) throw new Error('the engine sent an oversized chunk');
          } else if (byte === LF) {
            this.endSizeLine();
          } else if (byte === SEMICOLON || byte === CR || byte === 0x20 || byte === 0x09) {
            this.state = 'extension';
          } else {
            throw new Error('the engine sent a malformed chunk size');
          }
          break;
        }
        case 'extension': {
          const lf = bytes.indexOf(LF, pos);
          if (lf === -1) {
            pos = bytes.length;
          } else {
            pos = lf + 1;
            this.endSizeLine();
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.left, bytes.length - pos);
          ranges.push(pos, pos + take);
          pos += take;
          this.left -= take;
          if (this.left === 0) this.state = 'dataEnd';
          break;
        }
        case 'dataEnd': {
          // The CRLF after a chunk's data.
          const byte = bytes[pos++];
          if (byte === LF) this.state = 'size';
          else if (byte !== CR) throw new Error('the engine sent a malformed chunk end');
          break;
        }
        case 'trailer': {
          const byte = bytes[pos++];
          if (byte === LF) {
            if (this.lineLength === 0) this.done = true;
            this.lineLength = 0;
          } else if (byte !== CR) {
            this.lineLength++;
          }
          break;
        }
      }
    }
    return ranges;
  }

  private endSizeLine(): void {
    if (this.sizeDigits === 0) throw new Error('the engine sent a malformed chunk size');
    if (this.size === 0) {
      this.state = 'trailer';
      this.lineLength = 0;
    } else {
      this.state = 'data';
      this.left = this.size;
    }
    this.size = 0;
    this.sizeDigits = 0;
  }
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}
