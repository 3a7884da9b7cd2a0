/** The small pieces: path checks, format sniffing, URLs shown without secrets. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBytes, detectFormat, formatOfBytes } from '../../../src/templates/archive.js';
import { TemplateError } from '../../../src/templates/errors.js';
import { joinInside, safeRelativePath } from '../../../src/templates/paths.js';
import { isTrsUrl } from '../../../src/templates/trs.js';
import { displayUrl } from '../../../src/templates/url.js';
import { rawTar, zipBytes } from '../../support/archives.js';

describe('safeRelativePath', () => {
  it('cleans harmless paths', () => {
    expect(safeRelativePath('./a//b/./c.txt')).toEqual({ ok: true, relative: 'a/b/c.txt' });
    expect(safeRelativePath('dir/')).toEqual({ ok: true, relative: 'dir' });
    expect(safeRelativePath('./')).toEqual({ ok: true, relative: '' });
  });

  it('refuses absolute paths, .. and NUL', () => {
    for (const name of ['/etc/passwd', 'C:/x', '\\\\server\\x', 'a/../../b', '..', 'a\\..\\b', 'a\0b']) {
      expect(safeRelativePath(name).ok).toBe(false);
    }
  });

  it('joinInside keeps paths under the root', () => {
    expect(joinInside('/tmp/root', 'a/b')).toBe('/tmp/root/a/b');
    expect(joinInside('/tmp/root', '../x')).toBeUndefined();
  });
});

describe('format detection', () => {
  it('knows zip, gzip and tar by their first bytes', async () => {
    expect(formatOfBytes(await zipBytes([{ name: 'a', data: 'a' }]))).toBe('zip');
    expect(formatOfBytes(rawTar([{ path: 'a', data: 'a' }]))).toBe('tar.gz');
    expect(formatOfBytes(rawTar([{ path: 'a', data: 'a' }], false))).toBe('tar');
    expect(formatOfBytes(Buffer.from('hello'))).toBeUndefined();
  });

  it('describes what is not an archive', () => {
    expect(describeBytes(Buffer.alloc(0))).toBe('an empty file');
    expect(describeBytes(Buffer.from('\n<!DOCTYPE html><html>'))).toMatch(/^an HTML page/);
    expect(describeBytes(Buffer.from('{"reason":"no"}'))).toBe('a JSON document');
    expect(describeBytes(Buffer.from([0, 1, 2, 3]))).toMatch(/^binary data starting with 00010203/);
  });

  it("falls back to the name's extension for unknown binary, never for text", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tpl-format-'));
    const file = join(dir, 'download');
    await writeFile(file, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(await detectFormat(file, '/x/template.ZIP', 'syn1')).toBe('zip');
    expect(await detectFormat(file, '/x/template.tgz', 'syn1')).toBe('tar.gz');
    await expect(detectFormat(file, '/x/template', 'syn1')).rejects.toMatchObject({ problem: 'format' });
    await writeFile(file, '<html><head><title>Sign in</title></head></html>');
    const error = await detectFormat(file, '/x/template.zip', 'syn1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).message).toMatch(
      /^Template syn1: Expected template to be a zip archive.*\/x\/template\.zip.*HTML page/,
    );
  });
});

describe('URLs', () => {
  it('are shown without user info, query string or fragment', () => {
    expect(displayUrl('https://user:pw@host.org/a/b.zip?X-Amz-Signature=abc#frag')).toBe(
      'https://host.org/a/b.zip',
    );
    expect(displayUrl('not a url?secret=1')).toBe('not a url');
  });

  it('recognise TRS tool URLs', () => {
    expect(isTrsUrl('https://dockstore.org/api/ga4gh/v2/tools/%23workflow%2Fx/versions/1/CWL')).toBe(true);
    expect(isTrsUrl('https://github.com/a/b/archive/main.zip')).toBe(false);
  });
});
