/**
 * A WES run's output as lines, for the log follower: the server gives stdout and stderr (as URLs relative
 * to the run or absolute, as file:// paths on a shared filesystem, or as the text itself), without a time
 * per line, and may give nothing at all (no `run_log` yet is normal).
 *
 * Lines need a timestamp that orders them and lets a restarted follower skip what it already has (`since`).
 * Each line gets the run's start time plus its line number in nanoseconds: the time shown is when the run
 * started (Toil's own log lines carry their real times), and line n is always the same timestamp, however
 * often the output is read. stderr (the engine's log, which grows during the run) is numbered first; stdout
 * (for Toil and cwltool the output object, written at the end) follows once the run has ended.
 */
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LogLine } from '../interfaces.js';
import type { WesClient } from './client.js';

/** Longer lines are cut into pieces of this size (at a character boundary), as the Docker backend does. */
const MAX_LINE_BYTES = 1024 * 1024;

/** Milliseconds since the epoch of a WES time (Toil writes them without a zone: UTC). 0 when unreadable. */
export function wesTimeMs(value: string | null | undefined): number {
  if (typeof value !== 'string' || value === '') return 0;
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? 0 : ms;
}

/** The timestamp of line `index` (1 for the first) of a run that started at `baseMs`. */
export function lineTimestamp(baseMs: number, index: number): string {
  const nanos = BigInt(baseMs) * 1_000_000n + BigInt(index);
  const seconds = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** The line number a timestamp made by lineTimestamp stands for (0 when it is earlier or unreadable). */
export function lineIndexOf(baseMs: number, timestamp: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (match === null) return 0;
  const seconds = BigInt(Date.parse(`${match[1]}Z`) / 1000);
  const nanos = seconds * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
  const index = nanos - BigInt(baseMs) * 1_000_000n;
  return index > 0n ? Number(index) : 0;
}

/** Where a run's stdout or stderr is, as the run log gives it. */
export type OutputSource =
  { kind: 'url'; url: URL } | { kind: 'file'; path: string } | { kind: 'text'; text: Buffer };

export function outputSource(
  client: WesClient,
  runId: string,
  value: string | null | undefined,
): OutputSource | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.includes('\n') || /\s/.test(value.trim())) return { kind: 'text', text: Buffer.from(value) };
  if (/^file:\/\//i.test(value)) return { kind: 'file', path: fileURLToPath(value) };
  try {
    return { kind: 'url', url: client.logUrl(runId, value) };
  } catch {
    return { kind: 'text', text: Buffer.from(value) };
  }
}

/** The bytes of a source from `offset` on; a file or URL that is not there (yet) reads as empty. */
export async function readSource(
  client: WesClient,
  source: OutputSource,
  offset: number,
): Promise<{ bytes: Buffer; next: number }> {
  switch (source.kind) {
    case 'text': {
      const bytes = source.text.subarray(Math.min(offset, source.text.length));
      return { bytes, next: offset + bytes.length };
    }
    case 'file': {
      let handle;
      try {
        handle = await open(source.path, 'r');
      } catch {
        return { bytes: Buffer.alloc(0), next: offset };
      }
      try {
        const { size } = await handle.stat();
        if (size <= offset) return { bytes: Buffer.alloc(0), next: offset };
        const bytes = Buffer.alloc(size - offset);
        const { bytesRead } = await handle.read(bytes, 0, bytes.length, offset);
        return { bytes: bytes.subarray(0, bytesRead), next: offset + bytesRead };
      } finally {
        await handle.close();
      }
    }
    case 'url': {
      const range = await client.textFrom(source.url, offset);
      return { bytes: range.text, next: range.next };
    }
  }
}

/**
 * Splits bytes into complete lines, keeping an unfinished last line for the next read. A line longer than
 * MAX_LINE_BYTES comes out in pieces, cut at the same places however its bytes arrive: line n must be the
 * same line whether the output is read as it grows or all at once (its timestamp depends on it).
 */
export class LineSplitter {
  private partial = Buffer.alloc(0);

  push(bytes: Buffer): string[] {
    const data = this.partial.length === 0 ? bytes : Buffer.concat([this.partial, bytes]);
    const lines: string[] = [];
    let start = 0;
    for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
      lines.push(...pieces(data.subarray(start, end)));
      start = end + 1;
    }
    // An unfinished line is not held beyond the limit: its first pieces go out now.
    let rest = data.subarray(start);
    while (rest.length > MAX_LINE_BYTES) {
      const at = cutAt(rest);
      lines.push(text(rest.subarray(0, at)));
      rest = rest.subarray(at);
    }
    this.partial = Buffer.from(rest);
    return lines;
  }

  /** The unfinished last line, if any (the output has ended). */
  end(): string[] {
    const rest = this.partial;
    this.partial = Buffer.alloc(0);
    return rest.length === 0 ? [] : pieces(rest);
  }
}

/** A line as one piece, or as pieces of MAX_LINE_BYTES (the last one shorter) when it is longer. */
function pieces(line: Buffer): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > MAX_LINE_BYTES) {
    const at = cutAt(rest);
    out.push(text(rest.subarray(0, at)));
    rest = rest.subarray(at);
  }
  out.push(text(rest));
  return out;
}

/** Where to cut a line longer than MAX_LINE_BYTES: there, backed up so that no character is split. */
function cutAt(bytes: Buffer): number {
  let at = MAX_LINE_BYTES;
  // UTF-8 continuation bytes are 10xxxxxx.
  for (let i = 0; i < 4 && at > 0 && ((bytes[at] ?? 0) & 0xc0) === 0x80; i++) at--;
  return at;
}

function text(line: Buffer): string {
  return line.toString('utf8').replace(/\r$/, '');
}

export type { LogLine };
