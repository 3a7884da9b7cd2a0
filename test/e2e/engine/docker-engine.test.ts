/**
 * DockerEngine against the real Docker engine, with local/busybox:1 standing in for the workflow engine
 * image. Every container is named after this run, and the run ends by proving none is left.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import { afterAll, afterEach, expect, inject, it, vi } from 'vitest';
import { DockerEngine, type DockerEngineOptions } from '../../../src/engine/docker/engine.js';
import { ImagePullError, LABELS, type JobSpec } from '../../../src/engine/interfaces.js';
import { registryAuthResolver } from '../../../src/engine/docker/registry-auth.js';
import { createLogger } from '../../../src/logging/logger.js';
import { describeWithDocker } from '../../support/docker.js';

const IMAGE = 'local/busybox:1';
const SOCKET = '/var/run/docker.sock';
const RUN = `e2e-engine-${randomUUID().slice(0, 8)}`;
const ORCHESTRATOR = `${RUN}-instance`;

describeWithDocker('DockerEngine on a real Docker engine', () => {
  const docker = new Dockerode({ socketPath: SOCKET });
  const containers: string[] = [];
  const dirs: string[] = [];
  let logText = '';
  let counter = 0;

  function engine(overrides: Partial<DockerEngineOptions> = {}): DockerEngine {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (logText += chunk.toString()));
    return new DockerEngine({
      url: `unix://${SOCKET}`,
      privileged: false,
      rwVolumes: [],
      pullPolicy: 'missing',
      registryAuth: () => undefined,
      logger: createLogger({ level: 'debug', format: 'json', stream }),
      ...overrides,
    });
  }

  function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `${RUN}-${prefix}-`));
    dirs.push(dir);
    return dir;
  }

  /** A job of this run, with a fresh job directory; the container is cleaned up after the test. */
  function job(script: string, overrides: Partial<JobSpec> = {}): JobSpec {
    counter++;
    const name = `workflow_job.${RUN}-${counter}`;
    containers.push(name);
    return {
      name,
      image: IMAGE,
      command: ['sh', '-c', script],
      jobDir: tempDir('job'),
      identity: { orchestratorId: ORCHESTRATOR, submissionId: `9700${counter}`, evaluationId: '9614045' },
      ...overrides,
    };
  }

  /** A plain container, as a workflow step (or an unrelated workload) would be: no labels. */
  async function sidecar(suffix: string, hostConfig: Dockerode.HostConfig): Promise<Dockerode.Container> {
    const name = `${RUN}-${suffix}`;
    containers.push(name);
    const container = await docker.createContainer({
      name,
      Image: IMAGE,
      Cmd: ['sleep', '300'],
      HostConfig: { NetworkMode: 'none', ...hostConfig },
    });
    await container.start();
    return container;
  }

  async function exists(name: string): Promise<boolean> {
    return docker
      .getContainer(name)
      .inspect()
      .then(
        () => true,
        (error: unknown) => {
          if ((error as { statusCode?: number }).statusCode === 404) return false;
          throw error;
        },
      );
  }

  async function waitFor<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(
      containers.splice(0).map((name) =>
        docker
          .getContainer(name)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  afterAll(async () => {
    const left = await docker.listContainers({ all: true, filters: { name: [RUN] } });
    expect(left.map((info) => info.Names[0])).toEqual([]);
    const labelled = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.orchestratorId}=${ORCHESTRATOR}`] },
    });
    expect(labelled).toHaveLength(0);
  });

  it('starts the engine container the way SWO did, plus labels, init and limits', async () => {
    const certs = tempDir('certs');
    const extra = tempDir('rw');
    const spec = job('sleep 30', { env: { TOIL_EXTRA: 'yes' } });
    const eng = engine({
      certPathOnHost: certs,
      rwVolumes: [{ hostPath: extra, containerPath: '/extra' }],
      memoryBytes: 256 * 1024 * 1024,
      nanoCpus: 500_000_000,
      pidsLimit: 300,
    });

    expect(await eng.startContainer(spec)).toBe(spec.name);
    expect(await eng.state(spec.name)).toMatchObject({
      kind: 'running',
      startedAt: expect.any(Date) as Date,
    });

    const info = await docker.getContainer(spec.name).inspect();
    expect(info.Config.Image).toBe(IMAGE);
    expect(info.Config.Cmd).toEqual(['sh', '-c', 'sleep 30']);
    expect(info.Config.WorkingDir).toBe(spec.jobDir);
    expect(info.Config.Labels).toMatchObject({
      [LABELS.orchestratorId]: ORCHESTRATOR,
      [LABELS.submissionId]: spec.identity.submissionId,
      [LABELS.evaluationId]: '9614045',
      [LABELS.jobDir]: spec.jobDir,
    });
    expect(info.Config.Env).toEqual(
      expect.arrayContaining([
        `TMPDIR=${spec.jobDir}`,
        `TEMP=${spec.jobDir}`,
        `TMP=${spec.jobDir}`,
        `DOCKER_HOST=unix://${SOCKET}`,
        'TOIL_EXTRA=yes',
      ]),
    );
    const host = info.HostConfig;
    expect(host.Binds).toEqual([
      `${SOCKET}:${SOCKET}`,
      `${certs}:/root/.docker:ro`,
      `${spec.jobDir}:${spec.jobDir}`,
      `${extra}:/extra:rw`,
    ]);
    expect(host.SecurityOpt).toEqual(['no-new-privileges']);
    expect(host.Init).toBe(true);
    expect(host.AutoRemove).toBe(false);
    expect(host.Privileged).toBe(false);
    expect(host.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '1g', 'max-file': '2' } });
    expect(host.Memory).toBe(256 * 1024 * 1024);
    expect(host.MemorySwap).toBe(256 * 1024 * 1024);
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.PidsLimit).toBe(300);
    // The same-path rule: the job directory is where the workflow's step containers will look for it.
    const jobMount = info.Mounts.find((mount) => mount.Destination === spec.jobDir);
    expect(jobMount).toMatchObject({ Source: spec.jobDir, RW: true });
  });

  it('leaves out the limits it was not given (processes: 1024), and asks for privileges only when configured', async () => {
    const plain = job('sleep 30');
    await engine({ logRotation: { maxSize: '5m', maxFile: 3 } }).startContainer(plain);
    const plainHost = (await docker.getContainer(plain.name).inspect()).HostConfig;
    expect(plainHost.Memory).toBe(0);
    expect(plainHost.MemorySwap).toBe(0);
    expect(plainHost.NanoCpus).toBe(0);
    // Processes are limited unless asked not to be: a fork bomb must not take the host's process table.
    expect(plainHost.PidsLimit).toBe(1024);
    const unlimited = job('sleep 30');
    await engine({ pidsLimit: 0 }).startContainer(unlimited);
    expect([0, -1, null, undefined]).toContain(
      (await docker.getContainer(unlimited.name).inspect()).HostConfig.PidsLimit,
    );
    expect(plainHost.Privileged).toBe(false);
    expect(plainHost.LogConfig?.Config).toEqual({ 'max-size': '5m', 'max-file': '3' });

    // This VM's bounding set lacks CAP_SYS_RESOURCE, so runc cannot start a privileged container here:
    // check what was asked for, and that a failed start leaves nothing behind.
    const eng = engine({ privileged: true });
    const create = vi.spyOn(eng.docker, 'createContainer');
    const privileged = job('sleep 30');
    const outcome = await eng.startContainer(privileged).then(
      () => 'started',
      (error: unknown) => String(error),
    );
    expect(create.mock.calls[0]?.[0].HostConfig?.Privileged).toBe(true);
    if (outcome === 'started') {
      expect((await docker.getContainer(privileged.name).inspect()).HostConfig.Privileged).toBe(true);
    } else {
      expect(outcome).toContain(`Could not start engine container ${privileged.name}`);
      expect(await exists(privileged.name)).toBe(false);
    }
  });

  it('reads progress from /progress.txt, and undefined when there is none', async () => {
    const eng = engine();
    const spec = job('echo 42.5 > /progress.txt; sleep 30');
    const quiet = job('sleep 30');
    await eng.startContainer(spec);
    await eng.startContainer(quiet);
    expect(await waitFor(() => eng.progress(spec.name))).toBe(42.5);
    expect(await eng.progress(quiet.name)).toBeUndefined();
    expect(await eng.progress(`${RUN}-no-such-container`)).toBeUndefined();
  });

  it('reports the exit code of a finished job', async () => {
    const eng = engine();
    const ok = job('exit 0');
    const failed = job('echo failing; exit 3');
    await eng.startContainer(ok);
    await eng.startContainer(failed);
    await docker.getContainer(ok.name).wait();
    await docker.getContainer(failed.name).wait();
    expect(await eng.state(ok.name)).toMatchObject({
      kind: 'exited',
      exitCode: 0,
      oomKilled: false,
      finishedAt: expect.any(Date) as Date,
    });
    expect(await eng.state(failed.name)).toMatchObject({ kind: 'exited', exitCode: 3, oomKilled: false });
    expect(await eng.state(`${RUN}-no-such-container`)).toEqual({ kind: 'missing' });
  });

  it("reports Docker's OOMKilled flag when the kernel kills the job for memory", async () => {
    const eng = engine({ memoryBytes: 16 * 1024 * 1024 });
    // The shell holds 200 MB of command output in a variable: far past the 16 MiB limit.
    const spec = job('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo done');
    await eng.startContainer(spec);
    await docker.getContainer(spec.name).wait();
    const info = await docker.getContainer(spec.name).inspect();
    expect(info.State.OOMKilled).toBe(true);
    expect(await eng.state(spec.name)).toMatchObject({ kind: 'exited', exitCode: 137, oomKilled: true });
  });

  it('stop ends the job and its step containers, and leaves other containers alone', async () => {
    const eng = engine();
    const spec = job('sleep 300');
    await eng.startContainer(spec);
    const stepDir = join(spec.jobDir, 'tmp', 'step1');
    mkdirSync(stepDir, { recursive: true });
    const other = tempDir('unrelated');
    // One step as `docker run -v` makes it, one as cwltool's `--mount type=bind` does.
    const stepByBind = await sidecar('step-bind', { Binds: [`${stepDir}:/work`] });
    const stepByMount = await sidecar('step-mount', {
      Mounts: [{ Type: 'bind', Source: spec.jobDir, Target: '/job', ReadOnly: true }],
    });
    const unrelated = await sidecar('unrelated', { Binds: [`${other}:/work`] });
    // A directory whose name merely starts like the job's is not inside it.
    mkdirSync(`${spec.jobDir}-sibling`, { recursive: true });
    dirs.push(`${spec.jobDir}-sibling`);
    const lookalike = await sidecar('lookalike', { Binds: [`${spec.jobDir}-sibling:/work`] });

    const started = Date.now();
    await eng.stop(spec.name, 1);
    expect(Date.now() - started).toBeLessThan(15_000);

    expect(await eng.state(spec.name)).toMatchObject({ kind: 'exited' });
    expect(await exists(stepByBind.id)).toBe(false);
    expect(await exists(stepByMount.id)).toBe(false);
    expect((await unrelated.inspect()).State.Running).toBe(true);
    expect((await lookalike.inspect()).State.Running).toBe(true);

    // Stopping again is fine, and remove finds the job directory from the label.
    await eng.stop(spec.name, 1);
    await eng.remove(spec.name, undefined);
    expect(await exists(spec.name)).toBe(false);
    await eng.remove(spec.name, undefined);
    await eng.remove(spec.name, spec.jobDir);
    await eng.stop(spec.name, 1);
    expect((await unrelated.inspect()).State.Running).toBe(true);
  });

  it('remove takes a running job and its steps away, and is idempotent', async () => {
    const eng = engine();
    const spec = job('sleep 300');
    await eng.startContainer(spec);
    const step = await sidecar('step-remove', { Binds: [`${spec.jobDir}:${spec.jobDir}`] });
    await eng.remove(spec.name, spec.jobDir);
    expect(await exists(spec.name)).toBe(false);
    expect(await exists(step.id)).toBe(false);
    await eng.remove(spec.name, spec.jobDir);
    await eng.remove(`${RUN}-never-existed`, undefined);
  });

  it('lists only the jobs labelled with this instance', async () => {
    const eng = engine();
    const running = job('sleep 30');
    const finished = job('exit 0');
    const foreign = job('sleep 30');
    foreign.identity = { ...foreign.identity, orchestratorId: `${RUN}-another-instance` };
    await eng.startContainer(running);
    await eng.startContainer(finished);
    await eng.startContainer(foreign);
    await sidecar('unlabelled', {});
    await docker.getContainer(finished.name).wait();

    const jobs = await eng.list(ORCHESTRATOR);
    expect(jobs.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [
        { name: running.name, identity: running.identity, jobDir: running.jobDir, running: true },
        { name: finished.name, identity: finished.identity, jobDir: finished.jobDir, running: false },
      ].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('cleans up a container that was created but could not start', async () => {
    const dir = tempDir('file');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    // Mounting a file over /bin passes create, then fails in start.
    const eng = engine({ rwVolumes: [{ hostPath: file, containerPath: '/bin' }] });
    const spec = job('true');
    const error = await eng.startContainer(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`Could not start engine container ${spec.name}`);
    expect((error as Error).message).toContain(IMAGE);
    expect(await exists(spec.name)).toBe(false);
  });

  it('does not touch an existing container when create fails on its name', async () => {
    const eng = engine();
    const spec = job('sleep 30');
    await eng.startContainer(spec);
    await expect(eng.startContainer(spec)).rejects.toThrow(
      new RegExp(`Could not create engine container ${spec.name.replace(/\./g, '\\.')} from image`),
    );
    expect(await eng.state(spec.name)).toMatchObject({ kind: 'running' });
  });

  it("'missing' does not pull an image that is present", async () => {
    const eng = engine();
    const pull = vi.spyOn(eng.docker, 'pull');
    const started = Date.now();
    await eng.ensureImage(IMAGE);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(pull).not.toHaveBeenCalled();
  });

  it('fails a pull of a missing image after the configured attempts, without leaking the password', async () => {
    const password = 's3cret-value-123';
    const eng = engine({
      pull: { attempts: 2, firstDelayMs: 10, maxDelayMs: 100 },
      registryAuth: registryAuthResolver({ dockerHub: { username: 'hubuser', password } }),
    });
    const image = 'local/does-not-exist:1';
    const error = await eng.ensureImage(image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    const message = (error as ImagePullError).message;
    expect(message).toContain(image);
    expect(message).toContain('after 2 attempts');
    expect(message).not.toContain(password);
    expect(JSON.stringify(error)).not.toContain(password);
    expect(logText).not.toContain(password);
  });

  it('keeps the Synapse token out of a failed docker.synapse.org pull', async () => {
    const token = inject('synapseToken');
    const eng = engine({
      pull: { attempts: 2, firstDelayMs: 10, maxDelayMs: 100 },
      registryAuth: registryAuthResolver({ synapseUsername: 'e2e-user', synapseToken: token }),
    });
    const error = await eng.ensureImage('docker.synapse.org/syn123/missing:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    expect(String(error)).toContain('docker.synapse.org/syn123/missing:1');
    expect(String(error)).not.toContain(token);
    expect(logText).not.toContain(token);
  });

  it("'never' refuses a missing image without trying to pull it", async () => {
    const eng = engine({ pullPolicy: 'never' });
    const pull = vi.spyOn(eng.docker, 'pull');
    const error = await eng.ensureImage('local/does-not-exist:1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    expect(String(error)).toMatch(/local\/does-not-exist:1.*'never'/);
    expect(pull).not.toHaveBeenCalled();
    await eng.ensureImage(IMAGE);
  });

  it('finds the host directory of a named volume', async () => {
    const eng = engine();
    const name = `${RUN}_shared`;
    await docker.createVolume({ Name: name });
    try {
      expect(await eng.volumeMountpoint(name)).toMatch(new RegExp(`/volumes/${name}/_data$`));
    } finally {
      await docker.getVolume(name).remove();
    }
    expect(await eng.volumeMountpoint(name)).toBeUndefined();
  });

  it('pings the engine, and names the URL when nothing answers', async () => {
    await engine().ping();
    await expect(engine({ url: 'unix:///nonexistent.sock' }).ping()).rejects.toThrow(
      /Docker engine at unix:\/\/\/nonexistent\.sock does not answer/,
    );
  });
});
