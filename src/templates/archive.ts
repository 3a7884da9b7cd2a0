/**
 * What kind of archive a downloaded file is: by its first bytes, then by the URL's extension (a zip with
 * something prepended still opens, since zip readers start from the end). Anything else is refused with
 * a description of what arrived, which is usually an HTML page instead of the file.
 */
import { open } from 'node:fs/promises';
import { TemplateError } from './errors.js';

export type ArchiveFormat = 'zip' | 'tar.gz' | 'tar';

const SNIFF_BYTES = 512;

function extensionFormat(path: string): ArchiveFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar')) return 'tar';
  return undefined;
}

/** The format the first bytes announce, if any. */
export function formatOfBytes(head: Buffer): ArchiveFormat | undefined {
  // Local file header, empty archive, spanned archive.
  if (head[0] === 0x50 && head[1] === 0x4b && [0x0304, 0x0506, 0x0708].includes(head.readUInt16BE(2))) {
    return 'zip';
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** A short human description of bytes that are not an archive. */
export function describeBytes(head: Buffer): string {
  if (head.length === 0) return 'an empty file';
  const text = head.toString('utf8');
  const start = text.trimStart().slice(0, 100).toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html') || start.includes('<head')) {
    return 'an HTML page (a login, preview or "file not found" page rather than the file itself?)';
  }
  if (start.startsWith('<?xml') || start.startsWith('<')) return 'an XML document';
  if (start.startsWith('{') || start.startsWith('[')) return 'a JSON document';
  if (/^[\t\n\r -~]*$/.test(text)) return 'plain text';
  return `binary data starting with ${head.subarray(0, 8).toString('hex')}`;
}

/**
 * The archive format of `file`, downloaded from `path` (the URL path or file name, for its extension), or
 * a 'format' TemplateError naming what was found.
 */
export async function detectFormat(file: string, path: string, entityId: string): Promise<ArchiveFormat> {
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const byContent = formatOfBytes(head);
  if (byContent !== undefined) return byContent;
  const found = describeBytes(head);
  const byName = extensionFormat(path);
  // Text is never an archive, whatever the name says.
  if (byName !== undefined && found.startsWith('binary')) return byName;
  throw new TemplateError(
    entityId,
    'format',
    `Expected template to be a zip archive, a tar.gz archive or TRS files URL, but found ${path}, which holds ${found}. Point the template entity at a direct download link of the archive (or upload the archive itself).`,
  );
}
