/**
 * The zip uploaded for a job's log, as SWO made it: `<submission>_logs.zip` holding one entry,
 * `<submission>_logs.txt`. Unlike SWO, the entry has a size cap: a larger log keeps its first and its last
 * part (about half of the cap each, cut at line boundaries) with a marker line where the middle was left
 * out. Everything is streamed from ranges of the log file, so memory stays flat whatever the log's size.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';

/** The smallest cap that leaves room for the marker line and some of the log. */
export const MIN_LOG_ARCHIVE_BYTES = 1024;
/** How far from a cut point to look for a line boundary. */
const BOUNDARY_WINDOW = 64 * 1024;
const NEWLINE = 0x0a;

export interface LogArchive {
  /** Size of the log file when the archive was made. */
  originalBytes: number;
  /** Size of the zip entry (uncompressed). */
  archivedBytes: number;
  /** True when the middle of the log was left out. */
  truncated: boolean;
}

/** SWO's names: `<id>_logs.zip` and `<id>_logs.txt`, with anything but letters, digits and '-' as '_'. */
export function logArchiveNames(submissionId: string): { zip: string; text: string } {
  const prefix = `${submissionId}_logs`.replace(/[^a-zA-Z0-9-]/g, '_');
  return { zip: `${prefix}.zip`, text: `${prefix}.txt` };
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** 10 MiB, 187.4 MiB, 3.2 KiB, 900 bytes. */
export function formatSize(bytes: number): string {
  const [unit, size] =
    bytes >= GiB ? ['GiB', GiB] : bytes >= MiB ? ['MiB', MiB] : bytes >= KiB ? ['KiB', KiB] : ['bytes', 1];
  const value = bytes / size;
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${unit}`;
}

/** The line put where the middle of a log was left out (with its newline). */
export function truncationMarker(cutBytes: number, logBytes: number, maxBytes: number): string {
  return (
    `----- ${formatSize(cutBytes)} (${cutBytes.toLocaleString('en-US')} bytes) of the log left out here: ` +
    `the log is ${formatSize(logBytes)}, more than the upload limit of ${formatSize(maxBytes)} ` +
    `(MAX_LOG_BYTES), so only its beginning and its end are kept. -----\n`
  );
}

/**
 * Zips the log at `logPath` into `zipPath` with the single entry `entryName`. Returns undefined, writing
 * nothing, when the log is missing or empty. The log may still be growing: what is archived is the file
 * as it was when this started.
 */
export async function buildLogArchive(
  logPath: string,
  zipPath: string,
  options: { entryName: string; maxBytes: number },
): Promise<LogArchive | undefined> {
  const { entryName, maxBytes } = options;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_LOG_ARCHIVE_BYTES) {
    throw new RangeError(
      `The log upload limit must be at least ${MIN_LOG_ARCHIVE_BYTES} bytes, not ${maxBytes}`,
    );
  }
  let size: number;
  let mtime: Date;
  try {
    ({ size, mtime } = await stat(logPath));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (size === 0) return undefined;

  let parts: Part[];
  if (size <= maxBytes) {
    parts = [{ start: 0, end: size }];
  } else {
    parts = await truncatedParts(logPath, size, maxBytes);
  }
  const archivedBytes = parts.reduce((sum, part) => sum + partLength(part), 0);
  // The log's own time, not now: an unchanged log makes the same zip, which Synapse stores only once.
  await writeZip(zipPath, entryName, { size: archivedBytes, mtime }, () =>
    Readable.from(readParts(logPath, parts)),
  );
  return { originalBytes: size, archivedBytes, truncated: size > maxBytes };
}

/** A byte range [start, end) of the log, or literal text. */
type Part = { start: number; end: number } | { text: Buffer };

function partLength(part: Part): number {
  return 'text' in part ? part.text.length : part.end - part.start;
}

async function* readParts(logPath: string, parts: Part[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if ('text' in part) {
      yield part.text;
    } else if (part.end > part.start) {
      // end is inclusive for createReadStream.
      for await (const chunk of createReadStream(logPath, { start: part.start, end: part.end - 1 })) {
        yield chunk as Buffer;
      }
    }
  }
}

/**
 * The head, the marker and the tail of a log larger than maxBytes. The marker's length depends on the
 * numbers in it, so room is reserved for it and the cut is redone in the unlikely case it did not fit.
 */
async function truncatedParts(logPath: string, size: number, maxBytes: number): Promise<Part[]> {
  const handle = await open(logPath, 'r');
  try {
    // Room for the marker, a newline before it if the head ends mid-line, and differences in its numbers.
    let reserve = Buffer.byteLength(truncationMarker(size, size, maxBytes)) + 1 + 16;
    for (;;) {
      const budget = maxBytes - reserve;
      const headBudget = Math.floor(budget / 2);
      const tailBudget = budget - headBudget;
      const headEnd = await headCut(handle, headBudget);
      const tailStart = await tailCut(handle, size, tailBudget);
      const headEndsLine = headEnd === 0 || (await byteAt(handle, headEnd - 1)) === NEWLINE;
      const marker = Buffer.from(
        `${headEndsLine ? '' : '\n'}${truncationMarker(tailStart - headEnd, size, maxBytes)}`,
      );
      const total = headEnd + marker.length + (size - tailStart);
      if (total <= maxBytes) {
        return [{ start: 0, end: headEnd }, { text: marker }, { start: tailStart, end: size }];
      }
      reserve += total - maxBytes;
    }
  } finally {
    await handle.close();
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

async function readAt(handle: Handle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

async function byteAt(handle: Handle, position: number): Promise<number | undefined> {
  return (await readAt(handle, position, 1))[0];
}

/** Where the head ends: after the last newline within the first `budget` bytes, else at a character. */
async function headCut(handle: Handle, budget: number): Promise<number> {
  if (budget <= 0) return 0;
  const windowStart = Math.max(0, budget - BOUNDARY_WINDOW);
  // One byte past the budget too, to see whether the cut would fall inside a character.
  const window = await readAt(handle, windowStart, budget - windowStart + 1);
  const limit = Math.min(window.length, budget - windowStart);
  const newline = window.subarray(0, limit).lastIndexOf(NEWLINE);
  if (newline !== -1) return windowStart + newline + 1;
  // One very long line: cut it, but not inside a UTF-8 character (10xxxxxx continues one).
  let cut = limit;
  while (cut > 0 && ((window[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return windowStart + cut;
}

/** Where the tail starts: at the first line start within the last `budget` bytes, else at a character. */
async function tailCut(handle: Handle, size: number, budget: number): Promise<number> {
  if (budget <= 0) return size;
  const earliest = size - budget;
  // Include the byte before, so a line starting exactly at `earliest` is recognised.
  const windowStart = Math.max(0, earliest - 1);
  const window = await readAt(handle, windowStart, Math.min(BOUNDARY_WINDOW, size - windowStart));
  const newline = window.indexOf(NEWLINE);
  const start = newline === -1 ? -1 : windowStart + newline + 1;
  if (start >= earliest && start < size) return start;
  // No line start in reach (or only the very end): cut mid-line, but not inside a UTF-8 character.
  let cut = earliest - windowStart;
  while (cut < window.length && ((window[cut] ?? 0) & 0xc0) === 0x80) cut++;
  return windowStart + cut;
}

/** Writes a zip with one entry read from `content`, and waits until it is on disk. */
async function writeZip(
  zipPath: string,
  entryName: string,
  entry: { size: number; mtime: Date },
  content: () => Readable,
): Promise<void> {
  const zip = new ZipFile();
  const output = createWriteStream(zipPath);
  // yazl reports errors (of the content stream too) on the ZipFile, not on its output stream.
  const failed = once(zip, 'error').then(([error]: unknown[]) => {
    output.destroy();
    throw error instanceof Error ? error : new Error(String(error));
  });
  zip.addReadStreamLazy(entryName, entry, (callback) => {
    callback(null, content());
  });
  zip.end();
  try {
    await Promise.race([pipeline(zip.outputStream, output), failed]);
  } finally {
    // Nothing waits any more: a late error must not go unhandled.
    failed.catch(() => undefined);
    zip.on('error', () => undefined);
  }
}
