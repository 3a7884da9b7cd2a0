/**
 * Safe extraction: hostile archives (zip-slip, absolute paths, links out, bombs, too many entries,
 * corrupt bytes) are refused with the right problem, nothing lands outside the target and no partial
 * directory is left; ordinary archives (GitHub-style prefix, tar.gz, executable scripts) come out whole.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveFormat } from '../../../src/templates/archive.js';
import { TemplateError, type TemplateProblem } from '../../../src/templates/errors.js';
import { extractArchive } from '../../../src/templates/extract.js';
import type { TemplateLimits } from '../../../src/templates/limits.js';
import { patch, rawTar, tarBytes, zipBytes } from '../../support/archives.js';
import { handMadeZip, zipBomb, type LocalFile } from '../../support/hostile.js';

const ENTITY = 'syn4242';
const LIMITS: TemplateLimits = { maxBytes: 1024 * 1024, maxEntries: 100 };

let root: string;
let target: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tpl-extract-'));
  target = join(root, 'target');
});

async function extract(bytes: Buffer, format: ArchiveFormat, limits = LIMITS) {
  const archive = join(await mkdtemp(join(tmpdir(), 'tpl-archive-')), `archive.${format}`);
  await writeFile(archive, bytes);
  return extractArchive(archive, format, target, {
    entityId: ENTITY,
    limits,
    source: 'http://example.org/t',
  });
}

/** Fails with `problem`, names the entity, and leaves nothing in `root` (the target's parent). */
async function expectRefused(promise: Promise<unknown>, problem: TemplateProblem): Promise<TemplateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TemplateError);
  const templateError = error as TemplateError;
  expect(templateError.problem).toBe(problem);
  expect(templateError.entityId).toBe(ENTITY);
  expect(templateError.message).toMatch(new RegExp(`^Template ${ENTITY}: `));
  expect(await readdir(root)).toEqual([]);
  return templateError;
}

describe('zip', () => {
  it('extracts a GitHub-style archive with its <repo>-<branch>/ prefix and executable bits', async () => {
    const bytes = await zipBytes([
      { name: 'Example-main/' },
      { name: 'Example-main/workflow.cwl', data: 'cwlVersion: v1.0\n' },
      { name: 'Example-main/scripts/run.sh', data: '#!/bin/sh\necho hi\n', mode: 0o100755 },
    ]);
    const stats = await extract(bytes, 'zip');
    expect(stats).toEqual({ files: 2, directories: 1, bytes: 17 + 18 });
    expect(await readdir(target)).toEqual(['Example-main']);
    expect(await readFile(join(target, 'Example-main', 'workflow.cwl'), 'utf8')).toBe('cwlVersion: v1.0\n');
    expect((await stat(join(target, 'Example-main', 'scripts', 'run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, 'Example-main', 'workflow.cwl'))).mode & 0o111).toBe(0);
  });

  it('refuses a zip-slip entry (../evil.txt) and writes nothing outside', async () => {
    const bytes = patch(
      await zipBytes([
        { name: 'ok.txt', data: 'fine' },
        { name: 'xx/evil.txt', data: 'owned' },
      ]),
      'xx/evil',
      '../evil',
    );
    const error = await expectRefused(extract(bytes, 'zip'), 'unsafe');
    expect(error.message).toContain("'../evil.txt'");
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
  });

  it('refuses an absolute entry path', async () => {
    const outside = join(root, 'abs-evil.txt');
    const bytes = patch(
      await zipBytes([{ name: `X${outside.slice(1)}`, data: 'owned' }]),
      `X${outside.slice(1)}`,
      outside,
    );
    const error = await expectRefused(extract(bytes, 'zip'), 'unsafe');
    expect(error.message).toContain('absolute path');
    expect(existsSync(outside)).toBe(false);
  });

  it('refuses a backslash zip-slip made on Windows', async () => {
    const bytes = patch(await zipBytes([{ name: 'xx_evil.txt', data: 'owned' }]), 'xx_evil', '..\\evil');
    await expectRefused(extract(bytes, 'zip'), 'unsafe');
  });

  it('refuses a symbolic link entry', async () => {
    const bytes = await zipBytes([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]);
    const error = await expectRefused(extract(bytes, 'zip'), 'unsafe');
    expect(error.message).toContain("link entry 'link'");
  });

  it('refuses a truncated (corrupt) zip', async () => {
    const bytes = await zipBytes([{ name: 'a.txt', data: 'x'.repeat(1000) }]);
    const error = await expectRefused(extract(bytes.subarray(0, bytes.length - 30), 'zip'), 'corrupt');
    expect(error.message).toContain('cannot be read');
  });

  it('refuses a zip bomb: an entry that expands beyond maxBytes', async () => {
    const bytes = await zipBytes([{ name: 'bomb.bin', data: Buffer.alloc(3 * 1024 * 1024) }]);
    expect(bytes.length).toBeLessThan(10_000);
    const error = await expectRefused(extract(bytes, 'zip'), 'too-large');
    expect(error.message).toContain('1.0 MiB');
  });

  it('counts bytes as written: an entry whose header understates its size is refused', async () => {
    const data = Buffer.alloc(300_000, 1);
    const honest = await zipBytes([{ name: 'liar.bin', data }]);
    // Rewrite the central directory's uncompressed size (offset 24 in the record) to 10 bytes.
    const lying = Buffer.from(honest);
    const central = lying.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    lying.writeUInt32LE(10, central + 24);
    const error = await expectRefused(extract(lying, 'zip', { maxBytes: 1000, maxEntries: 10 }), 'corrupt');
    expect(error.message).toMatch(/too many bytes/);
  });

  it('refuses more entries than maxEntries', async () => {
    const items = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    const error = await expectRefused(
      extract(await zipBytes(items), 'zip', { maxBytes: 1e6, maxEntries: 10 }),
      'too-large',
    );
    expect(error.message).toContain('more than 10 entries');
  });

  it('refuses an overlapping-entries bomb (one body listed many times) by the sizes its directory declares', async () => {
    const bytes = zipBomb({ entries: 50, mebibytesEach: 1 });
    expect(bytes.length).toBeLessThan(10_000);
    const error = await expectRefused(
      extract(bytes, 'zip', { maxBytes: 10 * 1024 * 1024, maxEntries: 100 }),
      'too-large',
    );
    expect(error.message).toContain('expands to more than 10.0 MiB');
  });

  /** Entries whose bodies cannot be inflated: reading any of them would fail as 'corrupt'. */
  const unreadable = (count: number, size: number): Buffer => {
    const garbage: LocalFile = { name: 'g', method: 8, body: Buffer.from([0xff, 0xff, 0xff]), crc: 0, size };
    return handMadeZip(
      [garbage],
      Array.from({ length: count }, (_, i) => ({ name: `g${i}`, file: 0 })),
    );
  };

  it('refuses too many entries from the central directory alone, before reading any entry', async () => {
    await expectRefused(extract(unreadable(11, 1), 'zip', { maxBytes: 1e6, maxEntries: 10 }), 'too-large');
    await expectRefused(extract(unreadable(10, 1), 'zip', { maxBytes: 1e6, maxEntries: 10 }), 'corrupt');
  });

  it('refuses declared sizes adding up past maxBytes before reading any entry', async () => {
    const error = await expectRefused(
      extract(unreadable(3, 400_000), 'zip', { maxBytes: 1_000_000, maxEntries: 10 }),
      'too-large',
    );
    expect(error.message).toContain('expands to more than');
    await expectRefused(
      extract(unreadable(2, 400_000), 'zip', { maxBytes: 1_000_000, maxEntries: 10 }),
      'corrupt',
    );
  });

  it('refuses bytes that are not a zip at all', async () => {
    await expectRefused(extract(Buffer.from('<html>nope</html>'), 'zip'), 'corrupt');
  });
});

describe('tar.gz', () => {
  it('extracts files and directories, keeping executable bits', async () => {
    const bytes = await tarBytes([
      { name: 'wf/workflow.cwl', data: 'steps: []\n' },
      { name: 'wf/bin/tool.sh', data: '#!/bin/sh\n', mode: 0o755 },
    ]);
    const stats = await extract(bytes, 'tar.gz');
    expect(stats.files).toBe(2);
    expect(await readFile(join(target, 'wf', 'workflow.cwl'), 'utf8')).toBe('steps: []\n');
    expect((await stat(join(target, 'wf', 'bin', 'tool.sh'))).mode & 0o777).toBe(0o755);
  });

  it("reads GitHub's tarballs (a pax global header first) and tars made with -C dir .", async () => {
    const comment = `52 comment=${'a'.repeat(40)}\n`;
    await extract(
      rawTar([
        { path: 'pax_global_header', type: 'GlobalExtendedHeader', data: comment },
        { path: 'Example-main/', type: 'Directory', mode: 0o755 },
        { path: 'Example-main/workflow.cwl', data: 'cwl' },
        { path: './', type: 'Directory', mode: 0o755 },
        { path: './top.txt', data: 'top' },
      ]),
      'tar.gz',
    );
    expect((await readdir(target)).sort()).toEqual(['Example-main', 'top.txt']);
    expect(await readFile(join(target, 'Example-main', 'workflow.cwl'), 'utf8')).toBe('cwl');
  });

  it('extracts a plain (uncompressed) tar', async () => {
    await extract(rawTar([{ path: 'a/b.txt', data: 'b' }], false), 'tar');
    expect(await readFile(join(target, 'a', 'b.txt'), 'utf8')).toBe('b');
  });

  it('refuses a symlink pointing outside (/etc/passwd)', async () => {
    const bytes = await tarBytes([
      { name: 'wf/workflow.cwl', data: 'x' },
      { name: 'wf/passwd', linkTo: '/etc/passwd' },
    ]);
    const error = await expectRefused(extract(bytes, 'tar.gz'), 'unsafe');
    expect(error.message).toContain("link entry 'wf/passwd'");
  });

  it('refuses a relative symlink that climbs out (../../x), and a file written through it', async () => {
    const bytes = rawTar([
      { path: 'up', type: 'SymbolicLink', linkpath: '../../x' },
      { path: 'up/evil.txt', data: 'owned' },
    ]);
    await expectRefused(extract(bytes, 'tar.gz'), 'unsafe');
  });

  it('refuses hard links and FIFOs', async () => {
    await expectRefused(
      extract(rawTar([{ path: 'hard', type: 'Link', linkpath: '/etc/passwd' }]), 'tar.gz'),
      'unsafe',
    );
    await expectRefused(extract(rawTar([{ path: 'pipe', type: 'FIFO' }]), 'tar.gz'), 'unsafe');
  });

  it('refuses ../ and absolute entry paths', async () => {
    const slip = await expectRefused(
      extract(
        rawTar([
          { path: 'ok.txt', data: 'ok' },
          { path: '../evil.txt', data: 'owned' },
        ]),
        'tar.gz',
      ),
      'unsafe',
    );
    expect(slip.message).toContain('goes up with ..');
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
    const outside = join(root, 'abs-evil.txt');
    await expectRefused(extract(rawTar([{ path: outside, data: 'owned' }]), 'tar.gz'), 'unsafe');
    expect(existsSync(outside)).toBe(false);
  });

  it('refuses a truncated tar.gz', async () => {
    const bytes = await tarBytes([{ name: 'big.txt', data: 'abc'.repeat(50_000) }]);
    await expectRefused(extract(bytes.subarray(0, Math.floor(bytes.length / 2)), 'tar.gz'), 'corrupt');
  });

  it('refuses a gzip bomb beyond maxBytes', async () => {
    const bytes = rawTar([{ path: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024) }]);
    expect(bytes.length).toBeLessThan(10_000);
    await expectRefused(extract(bytes, 'tar.gz'), 'too-large');
  });

  it('refuses more entries than maxEntries', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ path: `f${i}.txt`, data: 'x' }));
    await expectRefused(extract(rawTar(entries), 'tar.gz', { maxBytes: 1e6, maxEntries: 10 }), 'too-large');
  });

  it('refuses by its headers before writing anything: too many entries, or sizes adding up past maxBytes', async () => {
    // The second entry cannot be written (a file under a file): writing would fail 'corrupt' there.
    const unwritable = [
      { path: 'x', data: 'x' },
      { path: 'x/y', data: 'y' },
    ];
    const more = Array.from({ length: 9 }, (_, i) => ({ path: `f${i}.txt`, data: 'x' }));
    await expectRefused(
      extract(rawTar([...unwritable, ...more]), 'tar.gz', { maxBytes: 1e6, maxEntries: 10 }),
      'too-large',
    );
    await expectRefused(extract(rawTar(unwritable), 'tar.gz', { maxBytes: 1e6, maxEntries: 10 }), 'corrupt');
    const big = { path: 'big.bin', data: Buffer.alloc(600_000) };
    await expectRefused(
      extract(rawTar([...unwritable, big]), 'tar.gz', { maxBytes: 500_000, maxEntries: 10 }),
      'too-large',
    );
  });

  it('refuses gzip data that is not a tar', async () => {
    const { gzipSync } = await import('node:zlib');
    await expectRefused(
      extract(gzipSync(Buffer.from('just some text, not a tar\n'.repeat(40))), 'tar.gz'),
      'corrupt',
    );
  });
});
