/**
 * Extraction that cannot write outside its target: every entry path is checked (relative, no `..`),
 * links and device files are refused (a template needs neither, and refusing them means no write can
 * follow a link out), and bytes are counted as they are written, so neither headers nor compression
 * ratios can sneak past the limits. On any failure the target directory is removed.
 *
 * Zips are read with yauzl (central directory, declared sizes checked against the data); tar and
 * tar.gz with tar's streaming parser in strict mode. Both feed the same writer.
 *
 * Before anything is written, the archive's own headers are held against the limits: a zip's central
 * directory gives its entry count and every entry's declared size, and a tar is read once for its
 * headers alone (its sizes are exact: they place the next header). So a zip bomb (honest headers, or
 * overlapping entries), an archive of 100,000 entries, or a tar.gz of huge files is refused at once,
 * writing nothing; an entry that understates its size is cut off by yauzl at the size it declared.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import type { ArchiveFormat } from './archive.js';
import { TemplateError } from './errors.js';
import { formatBytes, type TemplateLimits } from './limits.js';
import { joinInside, safeRelativePath } from './paths.js';

export interface ExtractOptions {
  /** The template entity, for error messages. */
  entityId: string;
  limits: TemplateLimits;
  /** Where the archive came from, for error messages (no query string). */
  source?: string;
}

export interface ExtractStats {
  files: number;
  directories: number;
  bytes: number;
}

/** What an archive entry is, as far as the writer cares. */
type EntryKind = 'file' | 'directory' | 'link' | 'other';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** Zip's "made by" host byte for Unix, the only one whose upper attribute bits are a file mode. */
const ZIP_HOST_UNIX = 3;

const FS_ERRORS_OF_THE_ARCHIVE = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG', 'EINVAL']);

/** Writes checked entries under one root and keeps count. */
class TreeWriter {
  readonly stats: ExtractStats = { files: 0, directories: 0, bytes: 0 };
  private entries = 0;

  constructor(
    private readonly root: string,
    private readonly options: ExtractOptions,
  ) {}

  private fail(problem: 'unsafe' | 'too-large' | 'corrupt', message: string, cause?: unknown): TemplateError {
    const from = this.options.source === undefined ? '' : ` (from ${this.options.source})`;
    return new TemplateError(this.options.entityId, problem, `The archive${from} ${message}`, { cause });
  }

  /** The absolute destination of an entry, after the safety checks; undefined for the root itself. */
  private destination(name: string, kind: EntryKind): string | undefined {
    if (kind === 'link') {
      throw this.fail(
        'unsafe',
        `has a link entry '${name}'. Links are not extracted from templates: replace it with a copy of the file it points to.`,
      );
    }
    if (kind === 'other') {
      throw this.fail(
        'unsafe',
        `has '${name}', which is neither a file nor a directory. Remove it from the archive.`,
      );
    }
    const safe = safeRelativePath(name);
    if (!safe.ok) {
      throw this.fail(
        'unsafe',
        `has an entry '${name}' that ${safe.reason}, so it would be written outside the template directory. Rebuild the archive with relative paths only.`,
      );
    }
    if (safe.relative === '') {
      if (kind === 'directory') return undefined;
      throw this.fail('corrupt', `has a file entry with an empty name.`);
    }
    const full = joinInside(this.root, safe.relative);
    if (full === undefined)
      throw this.fail('unsafe', `has an entry '${name}' that leaves the template directory.`);
    return full;
  }

  /** Counts one more entry against the limit. */
  private count(): void {
    this.entries++;
    this.checkEntryCount(this.entries);
  }

  /** Refuses an archive of more than maxEntries entries (as its headers count them, or as written). */
  checkEntryCount(entries: number): void {
    if (entries > this.options.limits.maxEntries) {
      throw this.fail(
        'too-large',
        `has more than ${this.options.limits.maxEntries} entries, the most a template may have. Leave what the workflow does not need out of the archive, or raise the template entry limit.`,
      );
    }
  }

  private tooManyBytes(): TemplateError {
    return this.fail(
      'too-large',
      `expands to more than ${formatBytes(this.options.limits.maxBytes)}, the most a template may hold. Leave data out of the archive, or raise the template size limit.`,
    );
  }

  /** Refuses an entry before reading it when its declared size alone would pass the limit. */
  checkDeclaredSize(size: number): void {
    if (this.stats.bytes + size > this.options.limits.maxBytes) throw this.tooManyBytes();
  }

  /** Refuses an archive before writing anything when the sizes its headers declare add up past the limit. */
  checkDeclaredTotal(total: number): void {
    if (total > this.options.limits.maxBytes) throw this.tooManyBytes();
  }

  async add(
    name: string,
    kind: EntryKind,
    mode: number,
    body: () => Promise<AsyncIterable<Buffer>>,
  ): Promise<void> {
    this.count();
    const target = this.destination(name, kind);
    if (target === undefined) return;
    try {
      if (kind === 'directory') {
        await mkdir(target, { recursive: true });
        this.stats.directories++;
        return;
      }
      await mkdir(dirname(target), { recursive: true });
      // Executable bits are kept (scripts in a workflow need them); nothing else of the stored mode.
      const file = await open(target, 'w', (mode & 0o111) !== 0 ? 0o755 : 0o644);
      try {
        // Read at once: between opening an entry and reading it, nothing else may be awaited.
        const chunks = await body();
        for await (const chunk of chunks) {
          this.stats.bytes += chunk.length;
          if (this.stats.bytes > this.options.limits.maxBytes) throw this.tooManyBytes();
          await file.write(chunk);
        }
      } finally {
        await file.close();
      }
      this.stats.files++;
    } catch (error) {
      if (error instanceof TemplateError) throw error;
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && FS_ERRORS_OF_THE_ARCHIVE.has(code)) {
        throw this.fail('corrupt', `has an entry '${name}' that cannot be written (${code}).`, error);
      }
      throw error;
    }
  }

  corrupt(error: unknown): TemplateError {
    if (error instanceof TemplateError) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return this.fail(
      'corrupt',
      `cannot be read: ${reason}. Check that the file is a complete, valid archive.`,
      error,
    );
  }
}

function zipEntryKind(entry: yauzl.Entry, name: string): EntryKind {
  const unixMode = entry.versionMadeBy >> 8 === ZIP_HOST_UNIX ? entry.externalFileAttributes >>> 16 : 0;
  const type = unixMode & S_IFMT;
  if (type === S_IFLNK) return 'link';
  if (name.endsWith('/') || type === S_IFDIR) return 'directory';
  if (type !== 0 && type !== 0o100000) return 'other';
  return 'file';
}

interface ZipItem {
  entry: yauzl.Entry;
  name: string;
  kind: EntryKind;
}

async function extractZip(archive: string, writer: TreeWriter): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    // Names are decoded here rather than by yauzl, so that unsafe ones get our 'unsafe' error.
    zip = await yauzl.openPromise(archive, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (error) {
    throw writer.corrupt(error);
  }
  try {
    // The central directory first: how many entries, and what they declare they expand to.
    writer.checkEntryCount(zip.entryCount);
    const items: ZipItem[] = [];
    let declared = 0;
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      const kind = zipEntryKind(entry, name);
      if (kind === 'file') {
        if (entry.isEncrypted() || !entry.canDecodeFileData()) {
          throw writer.corrupt(
            new Error(`entry '${name}' is encrypted or uses an unsupported compression method`),
          );
        }
        declared += entry.uncompressedSize;
        writer.checkDeclaredTotal(declared);
      }
      items.push({ entry, name, kind });
    }
    for (const { entry, name, kind } of items) {
      if (kind === 'file') writer.checkDeclaredSize(entry.uncompressedSize);
      await writer.add(name, kind, entry.externalFileAttributes >>> 16, async () => {
        const stream = await zip.openReadStreamPromise(entry);
        // yauzl checks an entry's size while inflating, ahead of the reader: an entry whose header
        // understates it fails the stream before it is read. The reader gets that error (the stream
        // keeps it); without a listener it would also be thrown as uncaught and end the daemon.
        stream.on('error', () => undefined);
        return stream;
      });
    }
  } catch (error) {
    throw writer.corrupt(error);
  } finally {
    // The file stays open for streams still being read, and is closed when they end.
    zip.close();
  }
}

function tarEntryKind(entry: ReadEntry): EntryKind {
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
    case 'GNUDumpDir':
      return 'directory';
    case 'Link':
    case 'SymbolicLink':
      return 'link';
    default:
      return 'other';
  }
}

/** The entry's chunks, until `stopped` rejects (then the reader fails instead of waiting forever). */
async function* chunksOf(entry: ReadEntry, stopped: Promise<never>): AsyncGenerator<Buffer> {
  const chunks = entry[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([chunks.next(), stopped]);
    if (next.done === true) return;
    yield next.value;
  }
}

/**
 * Reads a tar's headers alone (bodies skipped, nothing written) and holds the entry count and the sizes
 * they declare against the limits, stopping as soon as one is passed.
 */
async function scanTar(archive: string, writer: TreeWriter): Promise<void> {
  const parser = new Parser({ strict: true });
  const input = createReadStream(archive);
  let entries = 0;
  let declared = 0;
  await new Promise<void>((resolve, reject) => {
    const stop = (error: unknown) => {
      input.destroy();
      reject(error instanceof TemplateError ? error : writer.corrupt(error));
    };
    parser.on('entry', (entry: ReadEntry) => {
      entry.resume();
      try {
        writer.checkEntryCount(++entries);
        if (tarEntryKind(entry) === 'file') writer.checkDeclaredTotal((declared += entry.size));
      } catch (error) {
        stop(error);
      }
    });
    parser.on('error', stop);
    parser.on('end', resolve);
    input.on('error', stop);
    input.pipe(parser);
  });
}

/**
 * Feeds the file through tar's parser and writes its entries one after another. The parser hands out
 * entries as it meets them; their bodies wait (paused) until the writer reads them.
 */
async function extractTar(archive: string, writer: TreeWriter): Promise<void> {
  const parser = new Parser({ strict: true });
  const input = createReadStream(archive);
  let failure: unknown;
  let queue: Promise<void> = Promise.resolve();
  let finish: () => void = () => undefined;
  let abort: (error: unknown) => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stopped = new Promise<never>((_resolve, reject) => {
    abort = reject;
  });
  stopped.catch(() => undefined);
  const stop = (error: unknown) => {
    failure ??= error;
    abort(error);
    input.destroy();
    finish();
  };

  parser.on('entry', (entry: ReadEntry) => {
    queue = queue
      .then(async () => {
        if (failure !== undefined) {
          entry.resume();
          return;
        }
        const kind = tarEntryKind(entry);
        if (kind === 'file') writer.checkDeclaredSize(entry.size);
        else entry.resume();
        await writer.add(entry.path, kind, entry.mode ?? 0o644, () =>
          Promise.resolve(chunksOf(entry, stopped)),
        );
      })
      .catch(stop);
  });
  parser.on('error', (error: unknown) => {
    stop(writer.corrupt(error));
  });
  parser.on('end', finish);
  input.on('error', stop);
  input.pipe(parser);

  await finished;
  await queue;
  if (failure !== undefined) throw writer.corrupt(failure);
}

/**
 * Extracts `archive` into `targetDir`, which must not exist yet. Throws a TemplateError ('unsafe',
 * 'too-large', 'corrupt') and leaves no `targetDir` behind when anything is wrong.
 */
export async function extractArchive(
  archive: string,
  format: ArchiveFormat,
  targetDir: string,
  options: ExtractOptions,
): Promise<ExtractStats> {
  await mkdir(targetDir);
  const writer = new TreeWriter(targetDir, options);
  try {
    if (format === 'zip') await extractZip(archive, writer);
    else {
      await scanTar(archive, writer);
      await extractTar(archive, writer);
    }
    return writer.stats;
  } catch (error) {
    await rm(targetDir, { recursive: true, force: true });
    throw error;
  }
}
