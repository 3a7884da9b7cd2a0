/**
 * Docker's log output (GET /containers/{id}/logs with timestamps) as lines: the frame decoder, and the
 * timestamp helpers the log readers use to skip lines already read.
 */
import type { LogLine } from '../interfaces.js';

/** A longer line is cut into pieces of about this size, so that one runaway line cannot fill memory. */
export const MAX_LOG_LINE_BYTES = 1024 * 1024;
/** Docker's line timestamp (RFC 3339, up to nanoseconds), e.g. 2026-11-21T19:52:22.697409123Z. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$/;
/** The longest such timestamp, with a zone offset: 2006-01-02T15:04:05.000000000+07:00. */
const MAX_TIMESTAMP_LENGTH = 35;
const NEWLINE = 0x0a;
const SPACE = 0x20;

/** Nanoseconds since the epoch of an RFC 3339 timestamp, or undefined if it is not one. */
function nanosOf(timestamp: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Docker's `since` form of a timestamp: unix seconds and nine digits of fraction, "1732200000.123456789". */
export function unixTimestampOf(timestamp: string): string | undefined {
  const nanos = nanosOf(timestamp);
  if (nanos === undefined) return undefined;
  const seconds = nanos / 1_000_000_000n;
  const fraction = nanos % 1_000_000_000n;
  return `${seconds}.${fraction.toString().padStart(9, '0')}`;
}

/** True when `timestamp` is later than `since`; a line without a readable timestamp is kept. */
export function timestampAfter(timestamp: string, since: string): boolean {
  // Docker's own form (UTC, nine fraction digits) compares as text, which is cheap for millions of lines.
  if (timestamp.length === 30 && since.length === 30 && timestamp.endsWith('Z') && since.endsWith('Z')) {
    return timestamp > since;
  }
  const a = nanosOf(timestamp);
  const b = nanosOf(since);
  return a === undefined || b === undefined || a > b;
}

/** One stream's unfinished line. */
interface PartialLine {
  pieces: Buffer[];
  length: number;
  /** The rest of a line cut at MAX_LOG_LINE_BYTES: it has no timestamp of its own. */
  continued: boolean;
  /** When the line began, to put unfinished lines in order at the end. */
  order: number;
}

function emptyLine(): PartialLine {
  return { pieces: [], length: 0, continued: false, order: 0 };
}

/** The "<timestamp> " at the start of `bytes`, or undefined. */
function leadingTimestamp(bytes: Buffer): string | undefined {
  const space = bytes.subarray(0, MAX_TIMESTAMP_LENGTH + 1).indexOf(SPACE);
  if (space <= 0) return undefined;
  const timestamp = bytes.toString('latin1', 0, space);
  return TIMESTAMP.test(timestamp) ? timestamp : undefined;
}

/**
 * Turns the bytes of GET /containers/{id}/logs (timestamps on) into lines, whatever the chunk boundaries.
 *
 * Without a TTY the answer is a series of frames: an 8-byte header (stream type; 3 zero bytes; payload
 * length, big-endian) and the payload. Docker writes one log message per frame, each starting with
 * "<timestamp> ". A line longer than Docker's 16 KiB message size comes as several messages with the
 * same timestamp, so a line can span frames: a frame that continues an open line of its stream with the
 * same timestamp is joined to it, without its timestamp. (A different timestamp means the open line
 * ended without a newline.) Lines are split at "\n" per stream; a line still open when the output ends
 * comes out of end().
 */
export class DockerLogDecoder {
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private frameLeft = 0;
  private frameStream: LogLine['stream'] = 'stdout';
  /** The start of a frame that may continue an open line, collected until its timestamp can be read. */
  private readonly prefix = Buffer.alloc(MAX_TIMESTAMP_LENGTH + 1);
  private prefixFill = 0;
  private prefixWanted = 0;
  private readonly partial: Record<LogLine['stream'], PartialLine> = {
    stdout: emptyLine(),
    stderr: emptyLine(),
  };
  private readonly lastTimestamp: Record<LogLine['stream'], string> = { stdout: '', stderr: '' };
  private lineCount = 0;

  /** `multiplexed`: false for a container with a TTY, whose output is one raw stream. */
  constructor(private readonly multiplexed = true) {}

  /** The lines completed by this chunk. */
  push(chunk: Buffer): LogLine[] {
    const lines: LogLine[] = [];
    if (!this.multiplexed) {
      this.take('stdout', chunk, 0, chunk.length, lines);
      return lines;
    }
    let pos = 0;
    while (pos < chunk.length) {
      if (this.frameLeft === 0) {
        const count = Math.min(8 - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + count);
        this.headerFill += count;
        pos += count;
        if (this.headerFill < 8) break;
        this.headerFill = 0;
        // 0 stdin, 1 stdout, 2 stderr, 3 an error from the daemon itself.
        const type = this.header[0];
        this.frameStream = type === 2 || type === 3 ? 'stderr' : 'stdout';
        this.frameLeft = this.header.readUInt32BE(4);
        const open = this.partial[this.frameStream].length > 0;
        this.prefixWanted = open ? Math.min(this.frameLeft, this.prefix.length) : 0;
        this.prefixFill = 0;
        continue;
      }
      if (this.prefixFill < this.prefixWanted) {
        const count = Math.min(this.prefixWanted - this.prefixFill, chunk.length - pos);
        chunk.copy(this.prefix, this.prefixFill, pos, pos + count);
        this.prefixFill += count;
        this.frameLeft -= count;
        pos += count;
        if (this.prefixFill === this.prefixWanted) this.continueOrEnd(lines);
        continue;
      }
      const count = Math.min(this.frameLeft, chunk.length - pos);
      this.take(this.frameStream, chunk, pos, pos + count, lines);
      this.frameLeft -= count;
      pos += count;
    }
    return lines;
  }

  /** The lines left open (no final newline), in the order they began. */
  end(): LogLine[] {
    const open = (['stdout', 'stderr'] as const)
      .filter((stream) => this.partial[stream].length > 0)
      .sort((a, b) => this.partial[a].order - this.partial[b].order);
    return open.map((stream) => this.finish(stream));
  }

  /** A frame began while its stream had an open line: join it (same timestamp) or end that line. */
  private continueOrEnd(lines: LogLine[]): void {
    const stream = this.frameStream;
    const prefix = Buffer.from(this.prefix.subarray(0, this.prefixFill));
    this.prefixWanted = 0;
    this.prefixFill = 0;
    const timestamp = leadingTimestamp(prefix);
    const line = this.partial[stream];
    const openTimestamp = line.continued ? this.lastTimestamp[stream] : leadingTimestamp(head(line));
    if (timestamp !== undefined && timestamp === openTimestamp) {
      this.take(stream, prefix, timestamp.length + 1, prefix.length, lines);
    } else {
      if (timestamp !== undefined) lines.push(this.finish(stream));
      this.take(stream, prefix, 0, prefix.length, lines);
    }
  }

  /** Bytes [start, end) of `chunk`, all from one frame of `stream`. */
  private take(stream: LogLine['stream'], chunk: Buffer, start: number, end: number, lines: LogLine[]): void {
    let from = start;
    while (from < end) {
      // Looked up each time: finishing a line replaces the stream's partial line.
      const line = this.partial[stream];
      const found = chunk.indexOf(NEWLINE, from);
      const stop = found === -1 || found >= end ? end : found;
      if (line.length === 0 && stop < end) {
        // The common case: a whole line within the chunk, no copy.
        this.lineCount++;
        lines.push(this.parse(stream, chunk, from, stop, false));
      } else {
        if (stop > from) {
          if (line.length === 0) line.order = ++this.lineCount;
          line.pieces.push(chunk.subarray(from, stop));
          line.length += stop - from;
        }
        if (stop < end) lines.push(this.finish(stream));
        else if (line.length > MAX_LOG_LINE_BYTES) lines.push(this.cut(stream));
      }
      from = stop + 1;
    }
  }

  /** Ends the stream's open line. */
  private finish(stream: LogLine['stream']): LogLine {
    const line = this.partial[stream];
    this.partial[stream] = emptyLine();
    const bytes = joined(line);
    return this.parse(stream, bytes, 0, bytes.length, line.continued);
  }

  /** Emits the first MAX_LOG_LINE_BYTES of an overlong open line (at a character boundary); keeps the rest. */
  private cut(stream: LogLine['stream']): LogLine {
    const line = this.partial[stream];
    const bytes = joined(line);
    let at = MAX_LOG_LINE_BYTES;
    // Back up over UTF-8 continuation bytes (10xxxxxx), so no character is split.
    for (let i = 0; i < 4 && at > 0 && ((bytes[at] ?? 0) & 0xc0) === 0x80; i++) at--;
    const rest = bytes.subarray(at);
    this.partial[stream] = {
      pieces: rest.length > 0 ? [Buffer.from(rest)] : [],
      length: rest.length,
      continued: true,
      order: line.order,
    };
    return this.parse(stream, bytes, 0, at, line.continued);
  }

  private parse(
    stream: LogLine['stream'],
    bytes: Buffer,
    start: number,
    end: number,
    continued: boolean,
  ): LogLine {
    if (!continued) {
      const timestamp = leadingTimestamp(bytes.subarray(start, end));
      if (timestamp !== undefined) {
        this.lastTimestamp[stream] = timestamp;
        return { stream, timestamp, text: bytes.toString('utf8', start + timestamp.length + 1, end) };
      }
    }
    // No timestamp of its own: the latest one of its stream.
    return { stream, timestamp: this.lastTimestamp[stream], text: bytes.toString('utf8', start, end) };
  }
}

/** The first bytes of an open line, enough for its timestamp. */
function head(line: PartialLine): Buffer {
  const wanted = MAX_TIMESTAMP_LENGTH + 1;
  const pieces: Buffer[] = [];
  let length = 0;
  for (const piece of line.pieces) {
    if (length >= wanted) break;
    pieces.push(piece);
    length += piece.length;
  }
  return Buffer.concat(pieces, length).subarray(0, wanted);
}

function joined(line: PartialLine): Buffer {
  const [only] = line.pieces;
  if (line.pieces.length === 1 && only !== undefined) return only;
  return Buffer.concat(line.pieces, line.length);
}
