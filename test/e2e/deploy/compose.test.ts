/**
 * The image and docker-compose.yml as operators use them, with no registry: the image is built from this
 * checkout on local/node-base:20 (scripts/build-node-base-image.sh: this machine's Node 20, imported), and
 * Debian's docker-compose (v1.29; bookworm has no compose v2) starts the repository's docker-compose.yml
 * unchanged, next to a .env made from SWO's own .envTemplate, against a local platform on this host.
 *
 * It checks what the compose file promises: every variable of .env reaches the process (read back with
 * `validate --offline --json` inside the container), the shared volume gives workflows host paths (a
 * workflow with a sibling step container is ACCEPTED), the health check turns healthy, the status port
 * answers on the host's loopback, and `docker-compose down` stops it cleanly within the grace period.
 *
 * Everything it makes (the compose project's containers, network and <project>_shared volume, workflow
 * containers, the per-run image tag) is removed afterwards, whether the test passed or not. The image's
 * layers stay cached under local/synapse-orchestrator:e2e-cache, so the next build only redoes what changed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { parse as parseDotenv } from 'dotenv';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LABELS } from '../../../src/engine/interfaces.js';
import { dockerHostAddress } from '../../../src/local-challenge/docker-host-address.js';
import { describeWithDocker } from '../../support/docker.js';
import { E2E_OUTPUT_DIR, PRODUCT_OUTPUT_LOG, REPO_ROOT } from '../../support/paths.js';
import {
  ENGINE_IMAGE,
  FINAL,
  setUpChallenge,
  statusOf,
  stepTool,
  submitFile,
  zipFiles,
  type Challenge,
} from '../../support/challenge.js';
import { fillSwoTemplate } from '../../support/swo-env.js';

const SERVICE = 'workflow-orchestrator';
const BASE_IMAGE = 'local/node-base:20';
/**
 * Tags kept between runs so that the next build reuses their layers: the image, and the last image of each
 * stage whose work is worth keeping (the classic builder leaves those untagged, and nothing would ever
 * remove them). A build moves the tags; what they named before is then removed, so the cache holds one
 * build, not one per source change.
 */
const CACHE_TAGS = {
  '': 'local/synapse-orchestrator:e2e-cache',
  build: 'local/synapse-orchestrator:e2e-cache-build',
  'production-modules': 'local/synapse-orchestrator:e2e-cache-modules',
} as const;
const BUILD_LOG = join(E2E_OUTPUT_DIR, 'compose-image-build.log');

interface Result {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs a command, its stdout and stderr together; never throws for a non-zero exit. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const started = Date.now();
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
  context: () => Promise<string> = () => Promise.resolve(''),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs / 1000} s ${await context()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Builds the image from this checkout as `tag` (see CACHE_TAGS); returns the seconds it took. */
async function buildImage(docker: Docker, tag: string): Promise<number> {
  const idOf = (name: string) =>
    docker
      .getImage(name)
      .inspect()
      .then((info) => info.Id)
      .catch(() => undefined);
  const previous = await Promise.all(Object.values(CACHE_TAGS).map(idOf));
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const args = ['--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '--build-arg', `VERSION=${version}`];
  let seconds = 0;
  let log = '';
  // The whole image first (every stage), then each stage again: all cached by then, it only tags them.
  for (const [target, cacheTag] of Object.entries(CACHE_TAGS)) {
    const tags = target === '' ? ['-t', tag, '-t', cacheTag] : ['--target', target, '-t', cacheTag];
    const build = await run('docker', ['build', ...args, ...tags, REPO_ROOT]);
    seconds += build.seconds;
    log += `$ docker build ${target === '' ? '' : `--target ${target} `}(${build.seconds.toFixed(1)} s)\n${build.output}\n`;
    writeFileSync(BUILD_LOG, log);
    if (build.code !== 0) throw new Error(`docker build failed (log: ${BUILD_LOG}):\n${tail(build.output)}`);
  }
  const current = new Set(await Promise.all(Object.values(CACHE_TAGS).map(idOf)));
  for (const id of previous) {
    // Refused while a container or another image uses it; that is fine.
    if (id !== undefined && !current.has(id))
      await docker
        .getImage(id)
        .remove()
        .catch(() => undefined);
  }
  return seconds;
}

describeWithDocker('docker-compose.yml with the image built from this checkout', () => {
  const docker = new Docker();
  // Unique per run: the compose project (so its container, network and volume), the image tag, the instance.
  const project = `soe2e${process.pid}${randomBytes(3).toString('hex')}`;
  const image = `local/synapse-orchestrator:e2e-${project}`;
  let dir = '';
  let challenge: Challenge | undefined;
  let statusPort = 0;

  /** docker-compose in the deployment directory, with only the environment an operator's shell would add. */
  const compose = (...args: string[]) =>
    run('docker-compose', ['-f', 'docker-compose.yml', '-f', 'docker-compose.e2e.yml', ...args], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        ...(process.env.DOCKER_HOST === undefined ? {} : { DOCKER_HOST: process.env.DOCKER_HOST }),
      },
    });
  const record = (title: string, text: string) => {
    appendFileSync(PRODUCT_OUTPUT_LOG, `\n$ ${title}\n${text}${text.endsWith('\n') ? '' : '\n'}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'compose-e2e-'));
    const version = await run('docker-compose', ['version', '--short']).catch(() => undefined);
    if (version?.code !== 0) {
      throw new Error(
        'docker-compose is missing: run scripts/ensure-docker-compose.sh (as root it installs Debian’s).',
      );
    }
    const base = await run(join(REPO_ROOT, 'scripts', 'build-node-base-image.sh'), []);
    if (base.code !== 0) throw new Error(`building ${BASE_IMAGE} failed:\n${tail(base.output)}`);
    console.log(tail(base.output, 3));

    const build = await buildImage(docker, image);
    const size = (await docker.getImage(image).inspect()).Size;
    console.log(`built ${image} in ${build.toFixed(1)} s, ${(size / 1e6).toFixed(0)} MB`);

    // Containers reach this host at the bridge gateway; the workflows' own Synapse client is given the
    // same address (it is SYNAPSE_ENDPOINT), so the platform listens there.
    challenge = await setUpChallenge(
      [{ archive: await zipFiles({ 'wf.cwl': stepTool('echo scored') }), rootTemplate: 'wf.cwl' }],
      { host: await dockerHostAddress() },
    );
    const queue = challenge.queues[0];
    if (queue === undefined) throw new Error('no queue');
    statusPort = await freeLoopbackPort();

    copyFileSync(join(REPO_ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
    // The test's only addition to the operator's file: the image built above.
    writeFileSync(join(dir, 'docker-compose.e2e.yml'), `services:\n  ${SERVICE}:\n    image: ${image}\n`);
    // SWO's .envTemplate filled in as an operator would (JSON unquoted, as SWO's docs show it), then the
    // lines that point it at the local platform and the registry-free engine image.
    const env = fillSwoTemplate({
      token: inject('synapseToken'),
      optional: {
        COMPOSE_PROJECT_NAME: project,
        EVALUATION_TEMPLATES: JSON.stringify({ [queue.evaluationId]: queue.templateId }),
        WORKFLOW_OUTPUT_ROOT_ENTITY_ID: challenge.outputRootId,
        WORKFLOW_ENGINE_DOCKER_IMAGE: ENGINE_IMAGE,
        ACCEPT_NEW_SUBMISSIONS: 'true',
        // The template's toil options would reach cwltool, which rejects them.
        TOIL_CLI_OPTIONS: '',
        MAX_CONCURRENT_WORKFLOWS: '2',
      },
    });
    const extra = [
      `SYNAPSE_ENDPOINT=${challenge.tp.platform.url}`,
      'WORKFLOW_ENGINE_COMMAND=cwltool',
      'IMAGE_PULL_POLICY=never',
      `ORCHESTRATOR_ID=${project}`,
      'POLL_INTERVAL_SECONDS=2',
      `STATUS_PORT=${statusPort}`,
      'LOG_FORMAT=json',
    ];
    writeFileSync(join(dir, '.env'), `${env}\n# Test settings\n${extra.join('\n')}\n`);
  }, 900_000);

  afterAll(async () => {
    if (dir === '') return;
    const down = await compose('down', '--volumes', '--remove-orphans', '--timeout', '1').catch(
      () => undefined,
    );
    if (down !== undefined) record('docker-compose down --volumes (clean-up)', down.output);
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${project}`] },
    });
    const workflows = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.orchestratorId}=${project}`] },
    });
    for (const c of [...leftovers, ...workflows]) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await docker
      .getVolume(`${project}_shared`)
      .remove()
      .catch(() => undefined);
    await docker
      .getNetwork(`${project}_default`)
      .remove()
      .catch(() => undefined);
    // Only this run's tag: the image itself stays while its cache tag names it.
    await docker
      .getImage(image)
      .remove({ noprune: false })
      .catch(() => undefined);
    await challenge?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('starts from SWO’s .env, runs a submission to ACCEPTED, turns healthy, and stops cleanly with down', async () => {
    const platform = challenge;
    if (platform === undefined) throw new Error('no challenge');
    const queue = platform.queues[0];
    if (queue === undefined) throw new Error('no queue');
    const config = parseYaml(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { stop_grace_period: string }>;
    };
    const graceSeconds = Number.parseInt(config.services[SERVICE]?.stop_grace_period ?? '10', 10);

    const up = await compose('up', '-d');
    record('docker-compose up -d', up.output);
    expect(up.code, up.output).toBe(0);
    const [info] = await docker.listContainers({
      filters: { label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${SERVICE}`] },
    });
    if (info === undefined) throw new Error(`no ${SERVICE} container after up:\n${up.output}`);
    const container = docker.getContainer(info.Id);

    // What the compose file asks of Docker: tini as PID 1, the restart policy, log rotation, the shared
    // volume and the socket, the status port on the loopback only, the grace period.
    const inspected = await container.inspect();
    expect(inspected.Path).toBe('/usr/bin/tini');
    expect(inspected.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(inspected.HostConfig.LogConfig).toEqual({
      Type: 'json-file',
      Config: { 'max-size': '10m', 'max-file': '5' },
    });
    expect(inspected.Mounts.map((m) => [m.Type, m.Name ?? m.Source, m.Destination])).toEqual(
      expect.arrayContaining([
        ['volume', `${project}_shared`, '/shared'],
        ['bind', '/var/run/docker.sock', '/var/run/docker.sock'],
      ]),
    );
    expect(inspected.HostConfig.PortBindings).toEqual({
      [`${statusPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(statusPort) }],
    });
    expect((inspected.Config as { StopTimeout?: number }).StopTimeout).toBe(graceSeconds);

    // Its whole log, until it is removed, goes where the e2e secret scan reads.
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (chunk: Buffer) => (logText += chunk.toString()));
    const logStream = await container.logs({ follow: true, stdout: true, stderr: true });
    docker.modem.demuxStream(logStream, logs, logs);
    const logEnded = new Promise<void>((resolve) =>
      logStream.on('end', () => {
        resolve();
      }),
    );

    try {
      // A one-off command in a new container of the service, as the docs show it (and under tini too).
      const oneOff = await compose(
        'run',
        '--rm',
        '-T',
        SERVICE,
        'synapse-orchestrator',
        'validate',
        '--offline',
      );
      record(
        'docker-compose run --rm -T workflow-orchestrator synapse-orchestrator validate --offline',
        oneOff.output,
      );
      expect(oneOff.code, oneOff.output).toBe(0);

      // Every variable of .env reached the daemon, as the orchestrator itself reads them.
      const validate = await run('docker', [
        'exec',
        info.Id,
        'synapse-orchestrator',
        'validate',
        '--offline',
        '--json',
      ]);
      record('docker exec … validate --offline --json', validate.output);
      expect(validate.code, validate.output).toBe(0);
      const report = JSON.parse(validate.output) as {
        config: {
          queues: unknown;
          workDir: string;
          composeProjectName: string;
          intake: { acceptNewSubmissions: boolean };
          workflow: { pullPolicy: string; command: string };
          statusServer: { port: number; bindAddress: string };
        };
        sources: Record<string, string>;
      };
      expect(report.config.queues).toEqual([
        { evaluationId: queue.evaluationId, templateEntityId: queue.templateId },
      ]);
      expect(report.config.workDir).toBe('/shared');
      expect(report.config.composeProjectName).toBe(project);
      expect(report.config.intake.acceptNewSubmissions).toBe(true);
      expect(report.config.workflow.pullPolicy).toBe('never');
      expect(report.config.workflow.command).toBe('cwltool');
      expect(report.config.statusServer).toEqual({ port: statusPort, bindAddress: '0.0.0.0' });
      // Each variable set in .env, as the process got it: from its environment, none left behind.
      const set = Object.entries(parseDotenv(readFileSync(join(dir, '.env'))))
        .filter(([name, value]) => name in report.sources && value.trim() !== '')
        .map(([name]) => name);
      expect(set).toEqual(expect.arrayContaining(['ACCEPT_NEW_SUBMISSIONS', 'EVALUATION_TEMPLATES']));
      expect(Object.fromEntries(set.map((name) => [name, report.sources[name]]))).toEqual(
        Object.fromEntries(set.map((name) => [name, 'environment'])),
      );

      const id = await submitFile(platform, queue.evaluationId);
      const final = await waitFor(
        `submission ${id} final`,
        async () => {
          const { status } = await statusOf(platform, id);
          return FINAL.has(status) ? status : undefined;
        },
        180_000,
      );
      expect(final, tail(logText)).toBe('ACCEPTED');

      const health = await waitFor(
        'health check healthy',
        async () => {
          const state = (await container.inspect()).State.Health?.Status;
          return state === 'healthy' || state === 'unhealthy' ? state : undefined;
        },
        120_000,
        1_000,
        async () => `(health log: ${JSON.stringify((await container.inspect()).State.Health?.Log ?? [])})`,
      );
      expect(health, JSON.stringify((await container.inspect()).State.Health?.Log ?? [])).toBe('healthy');
      const healthz = await fetch(`http://127.0.0.1:${statusPort}/healthz`);
      expect(healthz.status).toBe(200);

      // down: SIGTERM through tini, a clean exit, within the grace period; the shared volume stays.
      const events = await docker.getEvents({
        filters: { container: [info.Id], event: ['die'] },
      });
      const died = new Promise<string | undefined>((resolve) => {
        events.on('data', (chunk: Buffer) => {
          const event = JSON.parse(chunk.toString().split('\n')[0] ?? '{}') as {
            Actor?: { Attributes?: Record<string, string> };
          };
          resolve(event.Actor?.Attributes?.exitCode);
        });
      });
      const down = await compose('down');
      record('docker-compose down', down.output);
      expect(down.code, down.output).toBe(0);
      expect(down.seconds).toBeLessThan(graceSeconds);
      expect(await died).toBe('0');
      (events as unknown as { destroy?: () => void }).destroy?.();
      await Promise.race([logEnded, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      expect(logText).toContain('Shutdown signal received');
      expect(logText).toContain('Orchestrator stopped');
      const remaining = await docker.listContainers({
        all: true,
        filters: { label: [`com.docker.compose.project=${project}`] },
      });
      expect(remaining).toEqual([]);
      expect((await docker.getVolume(`${project}_shared`).inspect()).Name).toBe(`${project}_shared`);
      console.log(`docker-compose down took ${down.seconds.toFixed(1)} s (grace ${graceSeconds} s)`);
    } finally {
      record(`logs of the ${SERVICE} container`, logText);
    }
    expect(logText).not.toContain(inject('synapseToken'));
  }, 600_000);
});
