/**
 * Template archives built to hurt, with the default limits (TEMPLATE_MAX_BYTES 200 MiB,
 * TEMPLATE_MAX_ENTRIES 10,000): a 100 KiB zip whose overlapping entries expand to 10 GiB, a 3 MiB zip
 * whose one entry inflates to 3 GiB, and a zip and a tar.gz of 100,000 entries. Each queue's submission
 * ends INVALID through the broken-template path, the organizers get one message per template naming the
 * limit, and the refusal writes (next to) nothing to disk: the sizes and the count are known from the
 * archive's headers before extraction.
 */
import { opendirSync, statSync, type Dir } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { describeWithDocker } from '../../support/docker.js';
import { manyEntriesTarGz, manyEntriesZip, zipBomb } from '../../support/hostile.js';
import {
  FINAL,
  containersOf,
  setUpChallenge,
  startOrchestrator,
  statusOf,
  submitFile,
  type Challenge,
} from '../../support/challenge.js';

/**
 * The most files (up to 100: enough to tell) and bytes in them ever seen extracted under `dir` (the
 * template cache) while `work` runs,
 * looked at every 20 ms. Directories are read a few entries at a time, so looking stays cheap even when
 * thousands of files land in one directory.
 */
async function peakUsage<T>(dir: string, work: () => Promise<T>): Promise<{ files: number; bytes: number }> {
  const peak = { files: 0, bytes: 0 };
  const look = () => {
    let files = 0;
    let bytes = 0;
    const walk = (path: string) => {
      let handle: Dir;
      try {
        handle = opendirSync(path);
      } catch {
        return;
      }
      try {
        for (let entry = handle.readSync(); entry !== null && files < 100; entry = handle.readSync()) {
          const full = join(path, entry.name);
          // The downloaded archive itself (bounded by TEMPLATE_MAX_BYTES) is not what is measured.
          if (entry.name === 'archive' && basename(path).startsWith('.staging-')) continue;
          if (entry.isDirectory()) walk(full);
          else {
            files++;
            try {
              bytes += statSync(full).size;
            } catch {
              // removed meanwhile
            }
          }
        }
      } catch {
        // the directory went away meanwhile
      } finally {
        handle.closeSync();
      }
    };
    walk(dir);
    peak.files = Math.max(peak.files, files);
    peak.bytes = Math.max(peak.bytes, bytes);
  };
  const timer = setInterval(look, 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  look();
  return peak;
}

describeWithDocker('hostile template archives', () => {
  let challenge: Challenge;
  const cases = [
    {
      name: 'overlapping zip bomb',
      archive: () => zipBomb({ entries: 100, mebibytesEach: 100 }),
      says: 'expands to more than 200.0 MiB',
    },
    {
      name: 'one entry understating its size',
      archive: () => zipBomb({ entries: 1, mebibytesEach: 3000, declaredBytes: 1000 }),
      says: 'too many bytes',
    },
    {
      name: 'zip of 100,000 entries',
      archive: () => manyEntriesZip(100_000),
      says: 'more than 10000 entries',
    },
    {
      name: 'tar.gz of 100,000 entries',
      archive: () => manyEntriesTarGz(100_000),
      says: 'more than 10000 entries',
    },
  ];

  beforeAll(async () => {
    const archives = cases.map((c) => c.archive());
    expect(archives[0]?.length).toBeLessThan(150 * 1024);
    challenge = await setUpChallenge(
      archives.map((archive, index) => ({
        archive,
        rootTemplate: index === 3 ? 'f000000' : 'f000000.txt',
        name: `${cases[index]?.name ?? ''} ${process.pid}`,
      })),
    );
  }, 120_000);
  afterAll(async () => {
    await challenge.close();
  });

  it('each is refused in one quick tick, writing nothing: INVALID, template broken, one admin message each', async () => {
    const orchestrator = await startOrchestrator(challenge);
    const ids = await Promise.all(challenge.queues.map((q) => submitFile(challenge, q.evaluationId)));
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const rss = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
    const started = Date.now();
    const peak = await peakUsage(join(orchestrator.workDir, 'templates'), () =>
      orchestrator.daemon.runOnce(),
    );
    const elapsed = Date.now() - started;
    clearInterval(rss);

    for (const id of ids) {
      const status = await statusOf(challenge, id);
      expect(FINAL.has(status.status)).toBe(true);
      expect(status.status).toBe('INVALID');
      expect(readString(status, ANNOTATIONS.failureReason)).toBe(
        'The workflow template is broken (the organizers have been told).',
      );
    }
    // Refused from the archive's own headers: nothing written, except at most the
    // first bytes of the entry that understates its size (cut off by the size it declared).
    expect(peak.files).toBeLessThanOrEqual(1);
    expect(peak.bytes).toBeLessThan(64 * 1024);
    console.log(`three hostile archives refused in one tick of ${elapsed} ms`);
    expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024);

    await orchestrator.daemon.settle(60_000); // the admin messages leave through the outbox
    const toAdmin = (await challenge.tp.admin.messages()).filter((m) =>
      m.recipients.includes(challenge.tp.orchestrator.ownerId),
    );
    expect(toAdmin).toHaveLength(cases.length);
    for (const [index, queue] of challenge.queues.entries()) {
      const about = toAdmin.filter((m) => m.body.includes(queue.templateId));
      expect(about).toHaveLength(1);
      expect(about[0]?.body).toContain(cases[index]?.says);
    }
    expect(await containersOf(orchestrator.config.orchestratorId)).toEqual([]);
    // The daemon goes on: the next tick runs, and finds nothing left to do.
    expect(await orchestrator.daemon.runOnce()).toMatchObject({ started: 0, running: 0 });
  }, 120_000);
});
