/** Builds test archives in memory (zips with yazl, patched afterwards for names yazl refuses; tars) and reads zips back. */
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import * as tar from 'tar';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { gzipSync } from 'node:zlib';

export interface ZipItem {
  name: string;
  /** Absent: a directory entry. */
  data?: string | Buffer;
  mode?: number;
}

export async function zipBytes(items: ZipItem[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const item of items) {
    if (item.data === undefined) zip.addEmptyDirectory(item.name);
    else
      zip.addBuffer(Buffer.isBuffer(item.data) ? item.data : Buffer.from(item.data), item.name, {
        ...(item.mode === undefined ? {} : { mode: item.mode }),
      });
  }
  zip.end();
  return buffer(zip.outputStream);
}

/** Replaces every occurrence of `from` with `to` (same length), e.g. to smuggle in `../` names. */
export function patch(bytes: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('patch needs equal lengths');
  const out = Buffer.from(bytes);
  const needle = Buffer.from(from);
  let found = 0;
  for (let at = out.indexOf(needle); at !== -1; at = out.indexOf(needle, at + 1)) {
    out.write(to, at);
    found++;
  }
  if (found === 0) throw new Error(`${from} not found`);
  return out;
}

export interface TarItem {
  name: string;
  data?: string;
  /** A symbolic link to this target. */
  linkTo?: string;
  mode?: number;
}

/** A tar.gz (or plain tar) of the items, made from a scratch directory with tar's own writer. */
export async function tarBytes(items: TarItem[], gzip = true): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tpl-tar-src-'));
  for (const item of items) {
    const path = join(dir, item.name);
    await mkdir(dirname(path), { recursive: true });
    if (item.linkTo !== undefined) await symlink(item.linkTo, path);
    else if (item.data === undefined) await mkdir(path, { recursive: true });
    else await writeFile(path, item.data, { mode: item.mode ?? 0o644 });
  }
  const stream = tar.c(
    { cwd: dir, gzip, portable: true, preservePaths: true },
    items.map((item) => item.name),
  );
  return buffer(stream);
}

export interface RawTarEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO' | 'GlobalExtendedHeader';
  data?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

/** A tar built header by header, for names and types tar's writer would not produce; gzipped by default. */
export function rawTar(entries: RawTarEntry[], gzip = true): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data);
    const header = new tar.Header({
      path: entry.path,
      type: entry.type ?? 'File',
      size: data.length,
      mode: entry.mode ?? 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const bytes = Buffer.concat(blocks);
  return gzip ? gzipSync(bytes) : bytes;
}

/** The entries of a zip file, name → content. */
export async function unzip(path: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false });
  const entries = new Map<string, Buffer>();
  try {
    for await (const entry of zip.eachEntry()) {
      const stream = await zip.openReadStreamPromise(entry);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      entries.set(entry.fileName, Buffer.concat(chunks));
    }
  } finally {
    zip.close();
  }
  return entries;
}
