/** The log zip: names, one entry, and the head + marker + tail form of a log over the cap. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unzip } from '../../support/archives.js';
import {
  buildLogArchive,
  formatSize,
  logArchiveNames,
  MIN_LOG_ARCHIVE_BYTES,
  truncationMarker,
} from '../../../src/evaluation/logs/archive.js';

const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'log-archive-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A log of `count` numbered lines of varying length. */
function numberedLog(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++)
    text += `STDOUT 2026-11-21T19:52:22.697409123Z line ${i} ${'x'.repeat(i % 37)}\n`;
  return text;
}

describe('logArchiveNames', () => {
  it('names the zip and its entry as SWO did, with unsafe characters as _', () => {
    expect(logArchiveNames('9731234')).toEqual({ zip: '9731234_logs.zip', text: '9731234_logs.txt' });
    expect(logArchiveNames('a/b c.d-e')).toEqual({ zip: 'a_b_c_d-e_logs.zip', text: 'a_b_c_d-e_logs.txt' });
  });
});

describe('formatSize', () => {
  it.each([
    [900, '900 bytes'],
    [3277, '3.2 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
    [196_509_123, '187.4 MiB'],
    [3 * 1024 ** 3, '3 GiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});

describe('buildLogArchive', () => {
  it('zips a log under the cap whole, as one entry', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    const text = numberedLog(200);
    writeFileSync(log, text);
    const zip = join(dir, 'out.zip');
    const result = await buildLogArchive(log, zip, { entryName: '97_logs.txt', maxBytes: 1024 * 1024 });
    const size = Buffer.byteLength(text);
    expect(result).toEqual({ originalBytes: size, archivedBytes: size, truncated: false });
    const entries = await unzip(zip);
    expect([...entries.keys()]).toEqual(['97_logs.txt']);
    expect(entries.get('97_logs.txt')?.toString()).toBe(text);
  });

  it('makes the same zip for the same log, so that an unchanged log is stored once', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    writeFileSync(log, numberedLog(500));
    await buildLogArchive(log, join(dir, 'a.zip'), { entryName: 'e.txt', maxBytes: 8192 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await buildLogArchive(log, join(dir, 'b.zip'), { entryName: 'e.txt', maxBytes: 8192 });
    expect(readFileSync(join(dir, 'a.zip')).equals(readFileSync(join(dir, 'b.zip')))).toBe(true);
  });

  it('keeps a log exactly at the cap whole', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    const text = numberedLog(100);
    writeFileSync(log, text);
    const size = Buffer.byteLength(text);
    const result = await buildLogArchive(log, join(dir, 'out.zip'), { entryName: 'l.txt', maxBytes: size });
    expect(result?.truncated).toBe(false);
  });

  it('keeps the head and the tail of a log over the cap, cut at lines, with a marker', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    const text = numberedLog(20_000);
    writeFileSync(log, text);
    const size = Buffer.byteLength(text);
    const maxBytes = 64 * 1024;
    const zip = join(dir, 'out.zip');
    const result = await buildLogArchive(log, zip, { entryName: 'e.txt', maxBytes });
    const entry = (await unzip(zip)).get('e.txt')?.toString() ?? '';
    expect(result).toEqual({ originalBytes: size, archivedBytes: Buffer.byteLength(entry), truncated: true });
    expect(Buffer.byteLength(entry)).toBeLessThanOrEqual(maxBytes);
    // Nearly all of the cap is used.
    expect(Buffer.byteLength(entry)).toBeGreaterThan(maxBytes - 300);

    const lines = entry.split('\n');
    expect(lines.pop()).toBe('');
    const markerIndex = lines.findIndex((line) => line.startsWith('----- '));
    const marker = lines[markerIndex] ?? '';
    const head = lines.slice(0, markerIndex);
    const tail = lines.slice(markerIndex + 1);
    // Whole lines only, the first ones and the last ones, in order.
    const all = text.split('\n').slice(0, -1);
    expect(head).toEqual(all.slice(0, head.length));
    expect(tail).toEqual(all.slice(all.length - tail.length));
    expect(tail.at(-1)).toBe(all.at(-1));
    // About half each.
    expect(Math.abs(head.join('\n').length - tail.join('\n').length)).toBeLessThan(200);
    const cut = size - Buffer.byteLength(entry) + Buffer.byteLength(marker) + 1;
    expect(`${marker}\n`).toBe(truncationMarker(cut, size, maxBytes));
    expect(marker).toContain(`(${cut.toLocaleString('en-US')} bytes) of the log left out here`);
    expect(marker).toContain('upload limit of 64 KiB');
  });

  it('stays under the cap for caps of every size near the marker length', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    writeFileSync(log, numberedLog(3_000));
    for (const maxBytes of [MIN_LOG_ARCHIVE_BYTES, 1025, 1500, 2047, 2048, 4099, 10_000]) {
      const zip = join(dir, `${maxBytes}.zip`);
      const result = await buildLogArchive(log, zip, { entryName: 'e.txt', maxBytes });
      const entry = (await unzip(zip)).get('e.txt') ?? Buffer.alloc(0);
      expect(entry.length).toBe(result?.archivedBytes);
      expect(entry.length).toBeLessThanOrEqual(maxBytes);
      expect(entry.toString()).toContain('----- ');
    }
  });

  it('cuts one enormous line in the middle, not inside a character, marker on its own line', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    const text = `STDOUT t ${'€'.repeat(200_000)}\n`;
    writeFileSync(log, text);
    const zip = join(dir, 'out.zip');
    const result = await buildLogArchive(log, zip, { entryName: 'e.txt', maxBytes: 8192 });
    const entry = (await unzip(zip)).get('e.txt') ?? Buffer.alloc(0);
    expect(result?.truncated).toBe(true);
    expect(entry.length).toBeLessThanOrEqual(8192);
    const decoded = entry.toString();
    expect(decoded).not.toContain('\uFFFD');
    expect(decoded).toMatch(/^STDOUT t €+\n----- .* -----\n€+\n$/);
  });

  it('returns undefined, writing nothing, for an empty or missing log', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    const zip = join(dir, 'out.zip');
    expect(await buildLogArchive(log, zip, { entryName: 'e.txt', maxBytes: 4096 })).toBeUndefined();
    writeFileSync(log, '');
    expect(await buildLogArchive(log, zip, { entryName: 'e.txt', maxBytes: 4096 })).toBeUndefined();
    await expect(unzip(zip)).rejects.toThrow();
  });

  it('refuses a cap too small for the marker', async () => {
    const dir = tempDir();
    const log = join(dir, 'workflow.log');
    writeFileSync(log, 'x\n');
    await expect(
      buildLogArchive(log, join(dir, 'out.zip'), { entryName: 'e.txt', maxBytes: 100 }),
    ).rejects.toThrow(/at least 1024 bytes/);
  });
});
