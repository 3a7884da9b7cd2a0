/**
 * Docker's log output (GET /containers/{id}/logs with timestamps) as lines: the frame decoder, in two
 * forms (lines as objects, or blocks of lines already in the log file's form, made without a string per
 * line), and the timestamp helpers the log readers use to skip lines already read.
 */
import { isUtf8 } from 'node:buffer';
import type { LogBlock, LogLine } from '../interfaces.js';
import { MISSING_TIMESTAMP, STREAM_LABELS } from '../log-format.js';

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

type Stream = LogLine['stream'];

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

/** Docker's own form of a timestamp (UTC, nine fraction digits); a '0' stands for any digit. */
const DOCKER_FORM = Buffer.from('0000-00-00T00:00:00.000000000Z', 'latin1');
const DOCKER_FORM_LENGTH = DOCKER_FORM.length;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LETTER_Z = 0x5a;

/** True when bytes [start, start + 30) are a timestamp in Docker's own form. */
function dockerFormAt(bytes: Buffer, start: number): boolean {
  for (let i = 0; i < DOCKER_FORM_LENGTH; i++) {
    const byte = bytes[start + i] ?? 0;
    const wanted = DOCKER_FORM[i] ?? 0;
    if (wanted === DIGIT_0 ? byte < DIGIT_0 || byte > DIGIT_9 : byte !== wanted) return false;
  }
  return true;
}

/**
 * Where the "<timestamp> " at the start of bytes [start, end) ends (the index of its space), or -1: as
 * leadingTimestamp(), without a string for Docker's own form.
 */
function timestampEnd(bytes: Buffer, start: number, end: number): number {
  const space = start + DOCKER_FORM_LENGTH;
  if (end > space && bytes[space] === SPACE && dockerFormAt(bytes, start)) return space;
  const timestamp = leadingTimestamp(bytes.subarray(start, end));
  return timestamp === undefined ? -1 : start + timestamp.length;
}

const NO_BYTES: Buffer = Buffer.alloc(0);

/**
 * A timestamp as the bytes it was read from, so that a line needs no string or copy of it. The bytes are
 * those of a chunk read (or of a line joined from several), which nothing writes to afterwards.
 */
class TimestampBytes {
  source = NO_BYTES;
  start = 0;
  length = 0;
  private text: string | undefined = '';

  /** Bytes [start, end) of `from`, a timestamp. */
  set(from: Buffer, start: number, end: number): void {
    this.source = from;
    this.start = start;
    this.length = end - start;
    this.text = undefined;
  }

  copyFrom(other: TimestampBytes): void {
    this.source = other.source;
    this.start = other.start;
    this.length = other.length;
    this.text = other.text;
  }

  /** When the timestamp is in `memory` (to be written over): a copy of its own. */
  detach(memory: ArrayBufferLike): void {
    if (this.length === 0 || this.source.buffer !== memory) return;
    this.source = Buffer.from(this.source.subarray(this.start, this.start + this.length));
    this.start = 0;
  }

  /** Copies the timestamp into `target` at `at`; returns its length. */
  copyTo(target: Buffer, at: number): number {
    return this.source.copy(target, at, this.start, this.start + this.length);
  }

  toString(): string {
    this.text ??= this.source.toString('latin1', this.start, this.start + this.length);
    return this.text;
  }

  /** As timestampAfter(this, other); Docker's own form is compared as bytes. */
  after(other: TimestampBytes): boolean {
    if (
      this.length === DOCKER_FORM_LENGTH &&
      other.length === DOCKER_FORM_LENGTH &&
      this.source[this.start + DOCKER_FORM_LENGTH - 1] === LETTER_Z &&
      other.source[other.start + DOCKER_FORM_LENGTH - 1] === LETTER_Z
    ) {
      const order = this.source.compare(
        other.source,
        other.start,
        other.start + DOCKER_FORM_LENGTH,
        this.start,
        this.start + DOCKER_FORM_LENGTH,
      );
      return order > 0;
    }
    return timestampAfter(this.toString(), other.toString());
  }
}

export interface DockerLogDecoderOptions {
  /** False for a container with a TTY, whose output is one raw stream. Default true. */
  multiplexed?: boolean;
  /**
   * Drop the lines Docker sends again: a line with a timestamp is kept only when it is later than the
   * last line kept of its stream (and than `since`). Each stream's timestamps only go up, but Docker 20.10
   * sends a file's lines again when its json log rotates while a follower lags. Default false.
   */
  dropRepeats?: boolean;
  /** With dropRepeats: the timestamp the read started after (an RFC 3339 timestamp). */
  since?: string;
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
 * comes out at the end. A line is found as a range of bytes; what is made of it is the subclass's.
 */
abstract class DockerLogFrames {
  /** Lines dropped as sent again (see dropRepeats). */
  repeated = 0;
  /** Each stream's latest timestamp (a line without one of its own has this one). */
  protected readonly lastTimestamp: Record<Stream, TimestampBytes> = {
    stdout: new TimestampBytes(),
    stderr: new TimestampBytes(),
  };
  private readonly multiplexed: boolean;
  /** With dropRepeats: each stream's timestamp of the last line kept. */
  private readonly kept: Record<Stream, TimestampBytes> | undefined;
  private readonly since: TimestampBytes | undefined;
  private readonly header = Buffer.alloc(8);
  private headerFill = 0;
  private frameLeft = 0;
  private frameStream: Stream = 'stdout';
  /** The start of a frame that may continue an open line, collected until its timestamp can be read. */
  private readonly prefix = Buffer.alloc(MAX_TIMESTAMP_LENGTH + 1);
  private prefixFill = 0;
  private prefixWanted = 0;
  private readonly partial: Record<Stream, PartialLine> = {
    stdout: emptyLine(),
    stderr: emptyLine(),
  };
  private lineCount = 0;

  constructor(options: DockerLogDecoderOptions) {
    this.multiplexed = options.multiplexed ?? true;
    if (options.dropRepeats === true) {
      this.kept = { stdout: new TimestampBytes(), stderr: new TimestampBytes() };
      const since = options.since === undefined || options.since === '' ? undefined : options.since;
      if (since !== undefined) {
        if (!TIMESTAMP.test(since)) throw new RangeError(`Not an RFC 3339 timestamp: '${since}'`);
        const bytes = Buffer.from(since, 'latin1');
        this.since = new TimestampBytes();
        this.since.set(bytes, 0, bytes.length);
        this.kept.stdout.copyFrom(this.since);
        this.kept.stderr.copyFrom(this.since);
      }
    }
  }

  /**
   * A line, bytes [start, end) of `bytes` without its newline. When textStart > start, the line begins
   * with its own "<timestamp> " and its text starts at textStart; else it has none, and its timestamp is
   * the stream's latest (lastTimestamp, possibly empty).
   */
  protected abstract line(stream: Stream, bytes: Buffer, start: number, textStart: number, end: number): void;

  /**
   * Reads ranges of `bytes` ([start, end) pairs, in order), as read() does. `reused`: `bytes` is written
   * over once this returns (a socket's read buffer), so what is kept of it is copied.
   */
  protected readRanges(bytes: Buffer, ranges: readonly number[], reused: boolean): void {
    for (let i = 0; i + 1 < ranges.length; i += 2) this.read(bytes, ranges[i], ranges[i + 1]);
    if (reused) this.detach(bytes.buffer);
  }

  /** Copies what is kept (unfinished lines, timestamps) out of `memory`. */
  private detach(memory: ArrayBufferLike): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const line = this.partial[stream];
      if (line.pieces.some((piece) => piece.buffer === memory)) {
        line.pieces = line.pieces.map((piece) => (piece.buffer === memory ? Buffer.from(piece) : piece));
      }
      this.lastTimestamp[stream].detach(memory);
      this.kept?.[stream].detach(memory);
    }
  }

  /** Reads bytes [start, end) of a chunk: every line they complete goes to line(). */
  protected read(chunk: Buffer, start = 0, end = chunk.length): void {
    if (!this.multiplexed) {
      this.take('stdout', chunk, start, end);
      return;
    }
    let pos = start;
    while (pos < end) {
      if (this.frameLeft === 0 && this.headerFill === 0 && end - pos >= 8) {
        // A whole header within the chunk (the common case): read in place.
        this.frameBegins(chunk[pos], chunk.readUInt32BE(pos + 4));
        pos += 8;
        continue;
      }
      if (this.frameLeft === 0) {
        const count = Math.min(8 - this.headerFill, end - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + count);
        this.headerFill += count;
        pos += count;
        if (this.headerFill < 8) break;
        this.headerFill = 0;
        this.frameBegins(this.header[0], this.header.readUInt32BE(4));
        continue;
      }
      if (this.prefixFill < this.prefixWanted) {
        const count = Math.min(this.prefixWanted - this.prefixFill, end - pos);
        chunk.copy(this.prefix, this.prefixFill, pos, pos + count);
        this.prefixFill += count;
        this.frameLeft -= count;
        pos += count;
        if (this.prefixFill === this.prefixWanted) this.continueOrEnd();
        continue;
      }
      const count = Math.min(this.frameLeft, end - pos);
      this.take(this.frameStream, chunk, pos, pos + count);
      this.frameLeft -= count;
      pos += count;
    }
  }

  /** A frame header read: its stream type and its payload's length. */
  private frameBegins(type: number | undefined, length: number): void {
    // 0 stdin, 1 stdout, 2 stderr, 3 an error from the daemon itself.
    this.frameStream = type === 2 || type === 3 ? 'stderr' : 'stdout';
    this.frameLeft = length;
    const open = this.partial[this.frameStream].length > 0;
    this.prefixWanted = open ? Math.min(this.frameLeft, this.prefix.length) : 0;
    this.prefixFill = 0;
  }

  /** The lines left open (no final newline) go to line(), in the order they began. */
  protected readOpen(): void {
    const open = (['stdout', 'stderr'] as const)
      .filter((stream) => this.partial[stream].length > 0)
      .sort((a, b) => this.partial[a].order - this.partial[b].order);
    for (const stream of open) this.finish(stream);
  }

  /** A frame began while its stream had an open line: join it (same timestamp) or end that line. */
  private continueOrEnd(): void {
    const stream = this.frameStream;
    const prefix = Buffer.from(this.prefix.subarray(0, this.prefixFill));
    this.prefixWanted = 0;
    this.prefixFill = 0;
    const timestamp = leadingTimestamp(prefix);
    const line = this.partial[stream];
    const openTimestamp = line.continued
      ? this.lastTimestamp[stream].toString()
      : leadingTimestamp(head(line));
    if (timestamp !== undefined && timestamp === openTimestamp) {
      this.take(stream, prefix, timestamp.length + 1, prefix.length);
    } else {
      if (timestamp !== undefined) this.finish(stream);
      this.take(stream, prefix, 0, prefix.length);
    }
  }

  /** Bytes [start, end) of `chunk`, all from one frame of `stream`. */
  private take(stream: Stream, chunk: Buffer, start: number, end: number): void {
    let from = start;
    while (from < end) {
      // Looked up each time: finishing a line replaces the stream's partial line.
      const line = this.partial[stream];
      const found = chunk.indexOf(NEWLINE, from);
      const stop = found === -1 || found >= end ? end : found;
      if (line.length === 0 && stop < end) {
        // The common case: a whole line within the chunk, no copy.
        this.lineCount++;
        this.emit(stream, chunk, from, stop, false);
      } else {
        if (stop > from) {
          if (line.length === 0) line.order = ++this.lineCount;
          line.pieces.push(chunk.subarray(from, stop));
          line.length += stop - from;
        }
        if (stop < end) this.finish(stream);
        else if (line.length > MAX_LOG_LINE_BYTES) this.cut(stream);
      }
      from = stop + 1;
    }
  }

  /** Ends the stream's open line. */
  private finish(stream: Stream): void {
    const line = this.partial[stream];
    this.partial[stream] = emptyLine();
    const bytes = joined(line);
    this.emit(stream, bytes, 0, bytes.length, line.continued);
  }

  /** Emits the first MAX_LOG_LINE_BYTES of an overlong open line (at a character boundary); keeps the rest. */
  private cut(stream: Stream): void {
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
    this.emit(stream, bytes, 0, at, line.continued);
  }

  /** A line found: its timestamp read (a continued line has none of its own), kept or dropped. */
  private emit(stream: Stream, bytes: Buffer, start: number, end: number, continued: boolean): void {
    let textStart = start;
    if (!continued) {
      const space = timestampEnd(bytes, start, end);
      if (space !== -1) {
        this.lastTimestamp[stream].set(bytes, start, space);
        textStart = space + 1;
      }
    }
    if (this.kept !== undefined && !this.keep(stream, this.kept[stream])) return;
    this.line(stream, bytes, start, textStart, end);
  }

  /** False for a line of `stream` not later than the last one kept (see dropRepeats). */
  private keep(stream: Stream, kept: TimestampBytes): boolean {
    const timestamp = this.lastTimestamp[stream];
    if (timestamp.length === 0) return true;
    if (kept.length > 0 && !timestamp.after(kept)) {
      if (this.since === undefined || timestamp.after(this.since)) this.repeated++;
      return false;
    }
    kept.copyFrom(timestamp);
    return true;
  }
}

/** Docker's log output as LogLine objects (a string per line: for reads of a few lines). */
export class DockerLogDecoder extends DockerLogFrames {
  private lines: LogLine[] = [];

  constructor(options: DockerLogDecoderOptions = {}) {
    super(options);
  }

  /** The lines completed by this chunk. */
  push(chunk: Buffer): LogLine[] {
    this.read(chunk);
    return this.taken();
  }

  /** The lines completed by these ranges of `bytes` ([start, end) pairs); see readRanges. */
  pushRanges(bytes: Buffer, ranges: readonly number[], reused = false): LogLine[] {
    this.readRanges(bytes, ranges, reused);
    return this.taken();
  }

  /** The lines left open (no final newline), in the order they began. */
  end(): LogLine[] {
    this.readOpen();
    return this.taken();
  }

  protected line(stream: Stream, bytes: Buffer, _start: number, textStart: number, end: number): void {
    const timestamp = this.lastTimestamp[stream].toString();
    this.lines.push({ stream, timestamp, text: bytes.toString('utf8', textStart, end) });
  }

  private taken(): LogLine[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}

const LABEL_BYTES: Record<Stream, Buffer> = {
  stdout: Buffer.from(STREAM_LABELS.stdout),
  stderr: Buffer.from(STREAM_LABELS.stderr),
};
const MISSING_TIMESTAMP_BYTE = MISSING_TIMESTAMP.charCodeAt(0);

/**
 * Docker's log output as blocks of lines in the log file's form (src/engine/log-format.ts), one block per
 * chunk, copied from the chunk's bytes: no string or object per line. `countOnly`: only counted.
 *
 * The text of a line is what formatLogLine() writes of it, byte for byte: its bytes as they came, except
 * that a block that is not valid UTF-8 is decoded and encoded again (as a LogLine's text is), so invalid
 * bytes become U+FFFD. (A newline never belongs to a character, so a block decodes as its lines do.)
 */
export class DockerLogBlockDecoder extends DockerLogFrames {
  private readonly countOnly: boolean;
  private out = NO_BYTES;
  private fill = 0;
  private count = 0;
  /** Where in `out` the timestamp of the block's last line that has one is, and its length. */
  private lastAt = -1;
  private lastLength = 0;
  private sizeHint = 0;

  constructor(options: DockerLogDecoderOptions & { countOnly?: boolean } = {}) {
    super(options);
    this.countOnly = options.countOnly === true;
  }

  /** The lines completed by this chunk, if any. */
  push(chunk: Buffer): LogBlock | undefined {
    this.sizeHint = chunk.length + 256;
    this.read(chunk);
    return this.block();
  }

  /** The lines completed by these ranges of `bytes` ([start, end) pairs), if any: one block. See readRanges. */
  pushRanges(bytes: Buffer, ranges: readonly number[], reused = false): LogBlock | undefined {
    this.sizeHint = bytes.length + 256;
    this.readRanges(bytes, ranges, reused);
    return this.block();
  }

  /** The lines left open (no final newline), in the order they began, if any. */
  end(): LogBlock | undefined {
    this.sizeHint = 0;
    this.readOpen();
    return this.block();
  }

  protected line(stream: Stream, bytes: Buffer, start: number, textStart: number, end: number): void {
    this.count++;
    if (this.countOnly) return;
    const timestamp = this.lastTimestamp[stream];
    const own = textStart > start;
    const label = LABEL_BYTES[stream];
    const added = own ? 0 : Math.max(timestamp.length, 1) + 1;
    this.reserve(label.length + added + (end - start) + 1);
    const out = this.out;
    let at = this.fill;
    // A few bytes: cheaper here than in a call to copy().
    for (let i = 0; i < label.length; i++) out[at++] = label[i] ?? 0;
    if (timestamp.length > 0) {
      this.lastAt = at;
      this.lastLength = timestamp.length;
    }
    if (!own) {
      if (timestamp.length === 0) out[at++] = MISSING_TIMESTAMP_BYTE;
      else at += timestamp.copyTo(out, at);
      out[at++] = SPACE;
    }
    at += bytes.copy(out, at, start, end);
    out[at++] = NEWLINE;
    this.fill = at;
  }

  /** Room for `length` more bytes in `out`. */
  private reserve(length: number): void {
    if (this.fill + length <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.fill + length, this.sizeHint));
    this.out.copy(grown, 0, 0, this.fill);
    this.out = grown;
  }

  private block(): LogBlock | undefined {
    if (this.count === 0) return undefined;
    let bytes = this.out.subarray(0, this.fill);
    const lastTimestamp =
      this.lastAt === -1 ? '' : bytes.toString('latin1', this.lastAt, this.lastAt + this.lastLength);
    if (!isUtf8(bytes)) bytes = Buffer.from(bytes.toString('utf8'));
    const block: LogBlock = { bytes, lines: this.count, lastTimestamp };
    this.out = NO_BYTES;
    this.fill = 0;
    this.count = 0;
    this.lastAt = -1;
    return block;
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
