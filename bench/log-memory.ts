/**
 * How much memory do following and uploading a large job log take? A local/busybox:1 container prints
 * 200 MiB (about 3.2 million lines) through DockerEngine; LogFollower writes it to a file as it comes, and
 * uploadLog zips a 10 MiB head-and-tail of it to a local platform running in a child process (so that only
 * this side is measured). Everything streams, so the answer should be a few MiB whatever the log's size.
 * This process's memory is sampled every few milliseconds.
 *
 * Docker's log rotation for the container is raised to 1g here so that Docker keeps the whole burst (see
 * test/e2e/logs): the point is the memory for all of it.
 *
 * Usage: npx tsx bench/log-memory.ts [sizeMiB]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngine } from '../src/engine/docker/engine.js';
import { LogFollower } from '../src/evaluation/logs/follower.js';
import { uploadLog } from '../src/evaluation/logs/upload.js';
import { collector, managed, startPlatformProcess } from './support/measure.js';
import { LocalPlatformAdmin } from '../src/local-platform/admin-client.js';
import { createLogger } from '../src/logging/logger.js';
import { SynapseClient } from '../src/synapse/client.js';

const MiB = 1024 * 1024;
const LIMIT_MiB = 32;
const HELD_LIMIT_MiB = 8;
const CAP_MiB = 10;
const SAMPLE_EVERY_MS = 5;
const LIVE_EVERY_MS = 1000;
const IMAGE = 'local/busybox:1';
const LINE = 'some fixed line of about sixty characters for the log volume test';
const sizeMiB = Number(process.argv[2] ?? 200);

class MemorySampler {
  peakRss = 0;
  peakManaged = 0;
  samples = 0;
  /** Peak heapUsed+external per phase. */
  readonly phases = new Map<string, number>();
  phase = 'follow';
  /** Peak heapUsed+external right after a forced collection: what is really held, without garbage. */
  peakLive = 0;
  private timer: NodeJS.Timeout | undefined;
  private liveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly gc: () => Promise<void>) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sample();
    }, SAMPLE_EVERY_MS);
    this.liveTimer = setInterval(() => {
      void this.gc().then(() => {
        this.peakLive = Math.max(this.peakLive, managed(process.memoryUsage()));
      });
    }, LIVE_EVERY_MS);
  }

  sample(): void {
    const m = process.memoryUsage();
    this.samples += 1;
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakManaged = Math.max(this.peakManaged, managed(m));
    this.phases.set(this.phase, Math.max(this.phases.get(this.phase) ?? 0, managed(m)));
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.liveTimer);
    this.sample();
  }
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  const gc = collector();
  const work = mkdtempSync(join(tmpdir(), 'bench-log-'));
  const logger = createLogger({ level: 'warn', format: 'pretty' });
  const engine = new DockerEngine({
    url: 'unix:///var/run/docker.sock',
    privileged: false,
    rwVolumes: [],
    pullPolicy: 'never',
    registryAuth: () => undefined,
    logRotation: { maxSize: '1g', maxFile: 1 },
    logger,
  });
  await engine.ping();
  const run = `bench-log-${randomBytes(4).toString('hex')}`;
  const names: string[] = [];
  const { served, stop } = await startPlatformProcess();
  try {
    const admin = new LocalPlatformAdmin(served.url, served.adminToken);
    const user = await admin.createUser({ userName: run });
    const project = await admin.createProject('Bench logs', user.ownerId);
    const folder = await admin.createFolder('Logs', project.id, user.ownerId);
    const client = new SynapseClient({
      endpoint: {
        baseUrl: served.url,
        repoUrl: `${served.url}/repo/v1`,
        fileUrl: `${served.url}/file/v1`,
        authUrl: `${served.url}/auth/v1`,
        isSynapseOrg: false,
      },
      token: user.token,
    });

    /** One job: the container, the follower until it ends, the upload. */
    const job = async (bytes: number, label: string, sampler?: MemorySampler) => {
      const name = `workflow_job.${run}-${label}`;
      names.push(name);
      const jobDir = join(work, label);
      await engine.startContainer({
        name,
        image: IMAGE,
        command: ['sh', '-c', `yes '${LINE}' | head -c ${bytes}`],
        jobDir,
        identity: { orchestratorId: run, submissionId: label, evaluationId: '1' },
      });
      const logPath = join(jobDir, 'workflow.log');
      const follower = LogFollower.start(engine, name, logPath, logger);
      await follower.done;
      const followed = performance.now();
      sampler?.sample();
      if (sampler !== undefined) sampler.phase = 'upload';
      const upload = await uploadLog(client, {
        logPath,
        workDir: jobDir,
        submissionId: label,
        folderId: folder.id,
        maxBytes: CAP_MiB * MiB,
      });
      return { follower, logPath, upload, followed };
    };

    // Warm up the code paths (and connections) on a small job, so that the baseline includes them.
    await job(1000, 'warm-up');
    await gc();
    const baseline = process.memoryUsage();
    const sampler = new MemorySampler(gc);
    sampler.start();
    const started = performance.now();
    const { follower, logPath, upload, followed } = await job(sizeMiB * MiB, 'measured', sampler);
    const ended = performance.now();
    sampler.stop();

    const lines = Math.ceil((sizeMiB * MiB) / (LINE.length + 1));
    const extraRss = sampler.peakRss - baseline.rss;
    const extraManaged = sampler.peakManaged - managed(baseline);
    const logBytes = statSync(logPath).size;
    console.log(
      `log follow + upload of ${sizeMiB} MiB of container output (${follower.linesWritten} of ${lines} lines, ` +
        `log file ${mib(logBytes)} MiB, upload capped at ${CAP_MiB} MiB)`,
    );
    console.log(
      `  follow:                         ${((followed - started) / 1000).toFixed(2)} s (${(
        follower.linesWritten /
        ((followed - started) / 1000)
      ).toFixed(0)} lines/s)`,
    );
    console.log(`  upload:                         ${((ended - followed) / 1000).toFixed(2)} s`);
    console.log(`  memory samples:                 ${sampler.samples} (every ${SAMPLE_EVERY_MS} ms)`);
    console.log(`  peak extra heapUsed+external:   ${mib(extraManaged)} MiB`);
    console.log(`  peak extra rss:                 ${mib(extraRss)} MiB`);
    console.log(
      `  peak extra held after a GC:     ${mib(sampler.peakLive - managed(baseline))} MiB (heap+external, ` +
        `collected every ${LIVE_EVERY_MS / 1000} s; the rest of the peak is garbage not yet collected)`,
    );
    const phase = (name: string) => mib((sampler.phases.get(name) ?? 0) - managed(baseline));
    console.log(
      `  … while following / uploading:  ${phase('follow')} / ${phase('upload')} MiB (heap+external)`,
    );
    // Relative to the log's size, so that the figure compares across sizes and machines.
    console.log(
      `  peak extra memory / output size: ${(Math.max(extraManaged, extraRss) / (sizeMiB * MiB)).toFixed(3)}`,
    );
    const complete = follower.linesWritten === lines && !follower.linesLost;
    console.log(`  every line followed:            ${complete ? 'yes' : 'NO'}`);
    console.log(`  upload truncated as expected:   ${upload?.truncated === true ? 'yes' : 'NO'}`);
    // rss is shown but not judged: V8 keeps a young generation of up to ~48 MiB committed under a high
    // allocation rate (millions of short-lived line strings), which says nothing about what is held.
    const held = sampler.peakLive - managed(baseline);
    const under = extraManaged < LIMIT_MiB * MiB && held < HELD_LIMIT_MiB * MiB;
    console.log(
      `  flat (held after GC < ${HELD_LIMIT_MiB} MiB, peak heap+external < ${LIMIT_MiB} MiB): ${under ? 'yes' : 'NO'}`,
    );
    if (!complete || !under || upload?.truncated !== true) process.exitCode = 1;
  } finally {
    stop();
    for (const name of names) await engine.remove(name, undefined).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
