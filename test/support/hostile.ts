/** Hostile inputs shared by the test/e2e/hostile suites. */
import { Buffer } from 'node:buffer';
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { Header } from 'tar';

/** What nginx answers when the server behind it is down: the page a proxy puts before Synapse. */
export const PROXY_502_PAGE =
  '<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n' +
  '<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n</body>\n</html>\n';

const MiB = 1024 * 1024;

/**
 * A raw deflate stream that inflates to `mebibytes` MiB of zeros, made without compressing them all:
 * one MiB compressed with a full flush (byte-aligned, nothing referring back), repeated, then a final
 * empty block. About 1 KiB per MiB (deflate's best ratio, about 1:1000).
 */
export function zerosDeflated(mebibytes: number): Buffer {
  const chunk = deflateRawSync(Buffer.alloc(MiB), { finishFlush: constants.Z_FULL_FLUSH });
  const end = deflateRawSync(Buffer.alloc(0));
  return Buffer.concat([...Array.from({ length: mebibytes }, () => chunk), end]);
}

/** The CRC-32 of `mebibytes` MiB of zeros. */
function zerosCrc(mebibytes: number): number {
  const zeros = Buffer.alloc(MiB);
  let crc = 0;
  for (let i = 0; i < mebibytes; i++) crc = crc32(zeros, crc);
  return crc;
}

/** One stored body of a hand-made zip (APPNOTE 4.3): its local header is written once. */
export interface LocalFile {
  name: string;
  /** 0 stored, 8 deflated. */
  method: 0 | 8;
  /** The bytes as stored (compressed when method is 8). */
  body: Buffer;
  crc: number;
  /** The uncompressed size the headers declare. */
  size: number;
}

/**
 * A zip written by hand: the local files, then a central directory whose entries each point at one of
 * them (several may point at the same one: overlapping entries). Zip64 end records when there are more
 * entries than the classic 16-bit count holds.
 */
export function handMadeZip(files: LocalFile[], listing: { name: string; file: number }[]): Buffer {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4); // version needed
    header.writeUInt16LE(file.method, 8);
    header.writeUInt16LE(0x21, 12); // date: 1980-01-01
    header.writeUInt32LE(file.crc, 14);
    header.writeUInt32LE(file.body.length, 18);
    header.writeUInt32LE(file.size, 22);
    header.writeUInt16LE(name.length, 26);
    offsets.push(at);
    parts.push(header, name, file.body);
    at += header.length + name.length + file.body.length;
  }
  const directoryStart = at;
  for (const entry of listing) {
    const file = files[entry.file];
    if (file === undefined) throw new Error(`no local file ${entry.file}`);
    const name = Buffer.from(entry.name);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(file.method, 10);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(file.crc, 16);
    header.writeUInt32LE(file.body.length, 20);
    header.writeUInt32LE(file.size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    header.writeUInt32LE(offsets[entry.file] ?? 0, 42);
    parts.push(header, name);
    at += header.length + name.length;
  }
  const directorySize = at - directoryStart;
  const count = listing.length;
  const zip64 = count > 0xfffe;
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // the size of the rest of the record
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(directoryStart), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(at), 8);
    locator.writeUInt32LE(1, 16);
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : count, 8);
  end.writeUInt16LE(zip64 ? 0xffff : count, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(directoryStart, 16);
  parts.push(end);
  return Buffer.concat(parts);
}

export interface ZipBombOptions {
  /** How many entries the central directory lists; all of them share one compressed body. */
  entries: number;
  /** What each entry inflates to, in MiB (below 4096: no zip64 sizes needed). */
  mebibytesEach: number;
  /** The uncompressed size each entry declares; default the true one (an honest header). */
  declaredBytes?: number;
}

/**
 * A zip bomb: one deflated body that inflates to `mebibytesEach` MiB of zeros, listed `entries` times
 * under different names (overlapping entries), so an archive of about 1 KiB per MiB plus 64 bytes per
 * entry expands to entries × size.
 */
export function zipBomb(options: ZipBombOptions): Buffer {
  const body: LocalFile = {
    name: 'zeros-000000.bin',
    method: 8,
    body: zerosDeflated(options.mebibytesEach),
    crc: zerosCrc(options.mebibytesEach),
    size: options.declaredBytes ?? options.mebibytesEach * MiB,
  };
  const listing = Array.from({ length: options.entries }, (_, i) => ({
    name: `zeros-${String(i).padStart(6, '0')}.bin`,
    file: 0,
  }));
  return handMadeZip([body], listing);
}

/** A zip of `count` one-byte files (f000000.txt …), each with its own local entry: about 100 bytes each. */
export function manyEntriesZip(count: number): Buffer {
  const x = Buffer.from('x');
  const files = Array.from({ length: count }, (_, i) => ({
    name: `f${String(i).padStart(6, '0')}.txt`,
    method: 0 as const,
    body: x,
    crc: crc32(x),
    size: 1,
  }));
  return handMadeZip(
    files,
    files.map((file, index) => ({ name: file.name, file: index })),
  );
}

/** A tar.gz of `count` empty files (f000000 …), header by header: 512 bytes each before gzip. */
export function manyEntriesTarGz(count: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const block = Buffer.alloc(512);
    new Header({
      path: `f${String(i).padStart(6, '0')}`,
      type: 'File',
      size: 0,
      mode: 0o644,
      mtime: new Date(0),
    }).encode(block, 0);
    blocks.push(block);
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
