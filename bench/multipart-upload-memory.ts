/**
 * How much memory does FileApi.uploadFile need for a large file? The upload reads one part at a time, so the
 * answer should be about one part (5 MiB) whatever the file's size. This uploads a 50 MiB random file to a
 * local platform running in a child process (so only the client is measured), samples this process's
 * memory every few milliseconds, downloads the file again and compares the bytes.
 *
 * Usage: npx tsx bench/multipart-upload-memory.ts [sizeMiB]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collector, managed, startPlatformProcess } from './support/measure.js';
import { LocalPlatformAdmin } from '../src/local-platform/admin-client.js';
import { FileApi } from '../src/synapse/files.js';
import { SynapseHttp } from '../src/synapse/http.js';

const MiB = 1024 * 1024;
const LIMIT_MiB = 32;
const SAMPLE_EVERY_MS = 5;
const sizeMiB = Number(process.argv[2] ?? 50);

async function writeRandomFile(path: string, size: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < size; written += MiB) {
      await file.write(randomBytes(Math.min(MiB, size - written)));
    }
  } finally {
    await file.close();
  }
}

/** Compares two files a chunk at a time. */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) return false;
    const ba = Buffer.alloc(MiB);
    const bb = Buffer.alloc(MiB);
    for (let offset = 0; offset < sa.size; offset += MiB) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, MiB, offset), fb.read(bb, 0, MiB, offset)]);
      if (
        ra.bytesRead !== rb.bytesRead ||
        !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))
      ) {
        return false;
      }
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

class MemorySampler {
  peakRss = 0;
  peakManaged = 0;
  peakArrayBuffers = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.timer = setInterval(() => {
      this.sample();
    }, SAMPLE_EVERY_MS);
  }

  sample(): void {
    const m = process.memoryUsage();
    this.samples += 1;
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakManaged = Math.max(this.peakManaged, managed(m));
    this.peakArrayBuffers = Math.max(this.peakArrayBuffers, m.arrayBuffers);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  const gc = collector();
  const work = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const { served, stop } = await startPlatformProcess();
  try {
    const admin = new LocalPlatformAdmin(served.url, served.adminToken);
    const user = await admin.createUser({ userName: `bench-${randomBytes(4).toString('hex')}` });
    const http = new SynapseHttp({
      endpoint: {
        baseUrl: served.url,
        repoUrl: `${served.url}/repo/v1`,
        fileUrl: `${served.url}/file/v1`,
        authUrl: `${served.url}/auth/v1`,
        isSynapseOrg: false,
      },
      token: user.token,
    });
    const files = new FileApi(http);

    const source = join(work, 'random.bin');
    await writeRandomFile(source, sizeMiB * MiB);
    // Warm up the client's code paths (and connection) on a small file, so the baseline includes them.
    await writeRandomFile(join(work, 'warm-up.bin'), 1000);
    await files.uploadFile(join(work, 'warm-up.bin'));

    await gc();
    const baseline = process.memoryUsage();
    const sampler = new MemorySampler();
    sampler.start();
    const started = performance.now();
    const handle = await files.uploadFile(source);
    const seconds = (performance.now() - started) / 1000;
    sampler.stop();

    const url = await http.request<string>({
      api: 'file',
      method: 'GET',
      path: `/fileHandle/${handle.id}/url`,
      query: { redirect: false },
      responseType: 'text',
    });
    const copy = join(work, 'downloaded.bin');
    await files.downloadToFile(url, copy, handle.contentMd5);
    const identical = await sameBytes(source, copy);

    const extraRss = sampler.peakRss - baseline.rss;
    const extraManaged = sampler.peakManaged - managed(baseline);
    const extraArrayBuffers = sampler.peakArrayBuffers - baseline.arrayBuffers;
    console.log(
      `multipart upload of ${sizeMiB} MiB (${handle.contentSize ?? 0} bytes, file handle ${handle.id})`,
    );
    console.log(
      `  duration:                      ${seconds.toFixed(2)} s (${(sizeMiB / seconds).toFixed(1)} MiB/s)`,
    );
    console.log(`  memory samples:                ${sampler.samples} (every ${SAMPLE_EVERY_MS} ms)`);
    console.log(`  peak extra heapUsed+external:  ${mib(extraManaged)} MiB`);
    console.log(`  peak extra arrayBuffers:       ${mib(extraArrayBuffers)} MiB (included in external)`);
    console.log(`  peak extra rss:                ${mib(extraRss)} MiB`);
    // Relative to what was uploaded, so the figure compares across file sizes and machines.
    console.log(
      `  peak extra memory / file size: ${(Math.max(extraManaged, extraRss) / (sizeMiB * MiB)).toFixed(3)}`,
    );
    console.log(`  downloaded bytes identical:    ${identical ? 'yes' : 'NO'}`);
    const under = extraManaged < LIMIT_MiB * MiB && extraRss < LIMIT_MiB * MiB;
    console.log(`  under ${LIMIT_MiB} MiB (heap+external and rss): ${under ? 'yes' : 'NO'}`);
    if (!identical || !under) process.exitCode = 1;
  } finally {
    stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
