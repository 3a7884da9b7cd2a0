/**
 * The Docker side of `validate`: the engine answers, the engine image is there or can be pulled (per
 * IMAGE_PULL_POLICY), and the job directories are shared with the engine at the same path (SWO's rule, see
 * job-directory.ts): a probe file written here must be readable, at the host path, by a container started
 * from the engine image, which also checks that the image has WORKFLOW_ENGINE_COMMAND.
 *
 * Nothing is pulled. The probe container and the probe directory are removed before returning.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type Dockerode from 'dockerode';
import type { Config, DockerEngineSettings } from '../config/config.js';
import type { DockerEngine } from '../engine/docker/engine.js';
import { resolveImageDigest, shortDigest } from '../engine/docker/image-digest.js';
import type { RegistryAuth } from '../engine/docker/registry-auth.js';
import type { JobRoot } from '../evaluation/job-directory.js';
import { redactText } from '../logging/redact.js';
import { notChecked, ok, problem, warning, type CheckResult } from './report.js';

export const ENGINE_CHECK = 'Docker engine';
export const IMAGE_CHECK = 'Engine image';
export const COMMAND_CHECK = 'Engine command';
export const JOB_DIR_CHECK = 'Job directory';

/** Label on the probe container, so that it is recognisable if anything ever leaves it behind. */
export const PREFLIGHT_LABEL = 'org.synapse-orchestrator.preflight';
const PROBE_FILE = 'probe';
const REPLY_FILE = 'reply';
/** Exit statuses of the probe script. */
const PROBE_NO_READ = 10;
const PROBE_NO_COMMAND = 11;
const PROBE_SCRIPT = `cat "$1/${PROBE_FILE}" > "$1/${REPLY_FILE}" || exit ${PROBE_NO_READ}; command -v "$2" > /dev/null 2>&1 || exit ${PROBE_NO_COMMAND}; exit 0`;

export interface Timeouts {
  /** The probe container's whole life: create, start, wait, remove. */
  probeMs: number;
  /** Asking the registry about the image through the engine. */
  registryMs: number;
}

function reasonOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string') return json.message.trim();
  const message = error instanceof Error ? error.message : String(error);
  return (/^\(HTTP code \d+\) [^-]*- ([\s\S]*)$/.exec(message)?.[1] ?? message).trim();
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export async function checkEngine(
  engine: DockerEngine,
  settings: DockerEngineSettings,
): Promise<CheckResult> {
  try {
    await engine.ping();
  } catch (error) {
    const tls = /^unix:/i.test(settings.url)
      ? ''
      : ` (and, for TLS, the certificates in DOCKER_CERT_PATH ${settings.certPath})`;
    return problem(
      ENGINE_CHECK,
      (error as Error).message,
      `Start the Docker engine, or set DOCKER_ENGINE_URL to one that answers${tls}; an orchestrator in a container needs the engine's socket mounted.`,
    );
  }
  try {
    const version = (await engine.docker.version()) as { Version?: string; Os?: string; Arch?: string };
    return ok(
      ENGINE_CHECK,
      `${settings.url} answers (Docker ${version.Version ?? '?'}, ${version.Os ?? '?'}/${version.Arch ?? '?'})`,
    );
  } catch {
    return ok(ENGINE_CHECK, `${settings.url} answers`);
  }
}

export interface ImageCheck {
  result: CheckResult;
  /** The image is on the engine now, so a probe container can be started from it. */
  present: boolean;
}

async function imagePresent(docker: Dockerode, image: string): Promise<{ id: string } | undefined> {
  try {
    const info = await docker.getImage(image).inspect();
    return { id: info.Id };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

function isPinned(image: string): boolean {
  return image.startsWith('sha256:') || image.includes('@sha256:');
}

/** WORKFLOW_ENGINE_DOCKER_IMAGE is on the engine, or the registry has it, as IMAGE_PULL_POLICY needs. */
export async function checkImage(
  docker: Dockerode,
  config: Config,
  registryAuth: () => RegistryAuth | undefined,
  timeouts: Timeouts,
): Promise<ImageCheck> {
  const image = config.workflow.engineImage;
  const policy = config.workflow.pullPolicy;
  let local: { id: string } | undefined;
  try {
    local = await imagePresent(docker, image);
  } catch (error) {
    return {
      present: false,
      result: problem(
        IMAGE_CHECK,
        `cannot inspect ${image} on the engine: ${reasonOf(error)}`,
        'Check the Docker engine, then run validate again.',
      ),
    };
  }
  const pullEveryJob = policy === 'always' && !isPinned(image);
  if (local !== undefined && !pullEveryJob) {
    return { present: true, result: ok(IMAGE_CHECK, `${image} is on the engine (${shortDigest(local.id)})`) };
  }
  if (local === undefined && policy === 'never') {
    return {
      present: false,
      result: problem(
        IMAGE_CHECK,
        `${image} is not on the engine, and IMAGE_PULL_POLICY=never forbids pulling it`,
        `Load the image onto the engine (docker pull ${image}, or docker load), or change IMAGE_PULL_POLICY to missing.`,
      ),
    };
  }
  let auth: RegistryAuth | undefined;
  try {
    auth = registryAuth();
  } catch (error) {
    return {
      present: local !== undefined,
      result: problem(
        IMAGE_CHECK,
        redactText((error as Error).message),
        'Fix DOCKER_CONFIG_FILE (a Docker config.json with "auths"), or unset it.',
      ),
    };
  }
  try {
    const found = await resolveImageDigest(docker, image, auth === undefined ? undefined : { ...auth }, {
      timeoutMs: timeouts.registryMs,
    });
    const digest = shortDigest(found.digest);
    return {
      present: local !== undefined,
      result: ok(
        IMAGE_CHECK,
        local === undefined
          ? `${image} is not on the engine yet; its registry has it (${digest}${auth === undefined ? '' : ', with credentials'}), so it is pulled before the first job`
          : `${image} is on the engine and its registry has it (${digest}); IMAGE_PULL_POLICY=always pulls it before every job`,
      ),
    };
  } catch (error) {
    const why = redactText(error instanceof Error ? error.message : String(error));
    return {
      present: local !== undefined,
      result: problem(
        IMAGE_CHECK,
        local === undefined
          ? `${image} is not on the engine and cannot be pulled: ${why}`
          : `${image} is on the engine, but IMAGE_PULL_POLICY=always pulls it before every job and that would fail: ${why}`,
        local === undefined
          ? `Fix WORKFLOW_ENGINE_DOCKER_IMAGE, push the image, or give the registry's credentials (DOCKERHUB_USERNAME and DOCKERHUB_PASSWORD, SYNAPSE_USERNAME for docker.synapse.org, or DOCKER_CONFIG_FILE).`
          : 'Set IMAGE_PULL_POLICY=missing to use the local image, or make the registry reachable.',
      ),
    };
  }
}

/** What ORCHESTRATOR_WORK_DIR and its host path must be, as one sentence fit for a fix line. */
export function samePathAdvice(config: Config, root: JobRoot | undefined): string {
  const workDir = `ORCHESTRATOR_WORK_DIR (${config.workDir})`;
  switch (root?.source) {
    case 'configured':
      return `ORCHESTRATOR_WORK_DIR_ON_HOST (${config.workflow.workDirOnHost ?? ''}) must be the Docker host's path of the directory mounted at ${workDir}; fix one or the other.`;
    case 'compose volume':
      return `The volume ${config.composeProjectName ?? '<COMPOSE_PROJECT_NAME>'}_shared must be mounted at ${workDir} in this container, as the compose file does (e.g. ${config.composeProjectName ?? 'project'}_shared:/shared), or set ORCHESTRATOR_WORK_DIR_ON_HOST to the host path of what is mounted there.`;
    default:
      return `Job directories must have the same path here and on the Docker host: run the orchestrator on the Docker host, or in a container mount a volume at ${workDir} and either run under Docker Compose with COMPOSE_PROJECT_NAME set (the volume <COMPOSE_PROJECT_NAME>_shared) or set ORCHESTRATOR_WORK_DIR_ON_HOST to that volume's path on the host.`;
  }
}

/** A directory created for the probe and everything made to hold it, removed by `cleanUp`. */
interface ProbeDirectory {
  local: string;
  host: string;
  token: string;
  cleanUp(): Promise<void>;
}

/** The directories `mkdir -p` will create for `path`, top first (so they can be removed afterwards). */
async function createParents(path: string): Promise<string[]> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return [];
  const created = [first];
  const rest = relative(first, path);
  if (rest !== '') {
    let current = first;
    for (const part of rest.split(sep)) {
      current = join(current, part);
      created.push(current);
    }
  }
  return created;
}

async function makeProbeDirectory(root: JobRoot): Promise<ProbeDirectory> {
  const created = await createParents(root.local);
  const local = await mkdtemp(join(root.local, '.preflight-'));
  const token = randomBytes(16).toString('hex');
  const cleanUp = async () => {
    await rm(local, { recursive: true, force: true });
    // Only directories this check created, deepest first, and only when still empty (rmdir).
    for (const dir of [...created].reverse()) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  };
  try {
    // As JobDirectory.create makes job directories, so the engine's user meets the same permissions.
    await chmod(local, 0o755);
    await writeFile(join(local, PROBE_FILE), token, { mode: 0o644 });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return { local, host: join(root.host, local.slice(root.local.length + 1)), token, cleanUp };
}

interface ProbeOutcome {
  /** Exit status, or undefined when the container could not be created or started. */
  exitCode: number | undefined;
  output: string;
  /** The error of create or start, when one failed. */
  failure?: string;
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no result within ${Math.round(ms / 1000)} s`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the probe script in a container from `image`, with the probe's host path bound at the same path. */
async function runProbe(
  docker: Dockerode,
  image: string,
  hostDir: string,
  command: string,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  let container: Dockerode.Container | undefined;
  try {
    try {
      container = await docker.createContainer({
        name: `synapse-orchestrator-preflight-${randomBytes(6).toString('hex')}`,
        Image: image,
        Entrypoint: ['sh', '-c', PROBE_SCRIPT, 'preflight', hostDir, command],
        Cmd: [],
        Tty: true,
        Labels: { [PREFLIGHT_LABEL]: 'true' },
        HostConfig: {
          // A bind mount of type "bind" (not Binds) fails when the host has no such directory, instead of
          // creating an empty one there.
          Mounts: [{ Type: 'bind', Source: hostDir, Target: hostDir }],
          NetworkMode: 'none',
          SecurityOpt: ['no-new-privileges'],
        },
      });
      await container.start();
    } catch (error) {
      return { exitCode: undefined, output: '', failure: reasonOf(error) };
    }
    const started = container;
    const waited = (await withDeadline(started.wait(), timeoutMs, 'the probe container')) as {
      StatusCode?: number;
    };
    const logs = (await started.logs({ stdout: true, stderr: true, follow: false })) as unknown;
    const output = Buffer.isBuffer(logs) ? logs.toString('utf8') : String(logs);
    return { exitCode: waited.StatusCode, output: output.trim() };
  } finally {
    if (container !== undefined) await container.remove({ force: true }).catch(() => undefined);
  }
}

export interface JobDirectoryChecks {
  jobDirectory: CheckResult;
  engineCommand: CheckResult;
}

/**
 * The job root is writable here and, when the engine answers and has the image, a container sees the probe
 * file at the host path. `engine` is undefined when the engine did not answer.
 */
export async function checkJobDirectory(
  config: Config,
  resolveRoot: () => Promise<JobRoot>,
  engine: { docker: Dockerode; image: 'present' | 'pullable' | 'unusable' } | undefined,
  timeouts: Timeouts,
): Promise<JobDirectoryChecks> {
  const command = config.workflow.command;
  const image = config.workflow.engineImage;
  let root: JobRoot;
  try {
    root = await resolveRoot();
  } catch (error) {
    return {
      jobDirectory:
        engine === undefined
          ? notChecked(JOB_DIR_CHECK, `its host path depends on the Docker engine (see ${ENGINE_CHECK})`)
          : problem(JOB_DIR_CHECK, (error as Error).message, samePathAdvice(config, undefined)),
      engineCommand: notChecked(COMMAND_CHECK, `needs the job directory (see ${JOB_DIR_CHECK})`),
    };
  }
  const where = root.host === root.local ? root.local : `${root.local} (on the Docker host: ${root.host})`;
  let probe: ProbeDirectory;
  try {
    probe = await makeProbeDirectory(root);
  } catch (error) {
    return {
      jobDirectory: problem(
        JOB_DIR_CHECK,
        `cannot write in ${root.local}: ${(error as Error).message}`,
        `Make ORCHESTRATOR_WORK_DIR (${config.workDir}) writable by the account the orchestrator runs as${process.getuid === undefined ? '' : ` (uid ${process.getuid()})`}, or point it at a directory that is.`,
      ),
      engineCommand: notChecked(COMMAND_CHECK, `needs the job directory (see ${JOB_DIR_CHECK})`),
    };
  }
  try {
    if (engine === undefined) {
      return {
        jobDirectory: notChecked(
          JOB_DIR_CHECK,
          `${root.local} is writable here; whether containers see it at ${root.host} needs the Docker engine (see ${ENGINE_CHECK})`,
        ),
        engineCommand: notChecked(COMMAND_CHECK, `needs the Docker engine (see ${ENGINE_CHECK})`),
      };
    }
    if (engine.image === 'unusable') {
      return {
        jobDirectory: notChecked(
          JOB_DIR_CHECK,
          `${root.local} is writable here; whether containers see it at ${root.host} needs the engine image (see ${IMAGE_CHECK})`,
        ),
        engineCommand: notChecked(COMMAND_CHECK, `needs the engine image (see ${IMAGE_CHECK})`),
      };
    }
    if (engine.image === 'pullable') {
      const why = `${image} is not on the engine yet, and validate pulls nothing`;
      return {
        jobDirectory: warning(
          JOB_DIR_CHECK,
          `${root.local} is writable here; whether containers see it at ${root.host} was not checked: ${why}`,
          `Pull the engine image (docker pull ${image}) and run validate again to check it.`,
        ),
        engineCommand: warning(
          COMMAND_CHECK,
          `whether ${image} has ${command} was not checked: ${why}`,
          `Pull the engine image (docker pull ${image}) and run validate again to check it.`,
        ),
      };
    }
    let outcome: ProbeOutcome;
    try {
      // The wait has its own deadline; this one also covers an engine that stops answering create or start.
      outcome = await withDeadline(
        runProbe(engine.docker, image, probe.host, command, timeouts.probeMs),
        timeouts.probeMs + 10_000,
        'the probe container',
      );
    } catch (error) {
      return {
        jobDirectory: problem(
          JOB_DIR_CHECK,
          `a probe container from ${image} did not finish: ${reasonOf(error)}`,
          'Check the Docker engine (docker ps -a), then run validate again.',
        ),
        engineCommand: notChecked(COMMAND_CHECK, `needs the probe container (see ${JOB_DIR_CHECK})`),
      };
    }
    return await judgeProbe(config, root, where, probe, outcome);
  } finally {
    await probe.cleanUp();
  }
}

async function readReply(probe: ProbeDirectory): Promise<string | undefined> {
  try {
    return await readFile(join(probe.local, REPLY_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

async function judgeProbe(
  config: Config,
  root: JobRoot,
  where: string,
  probe: ProbeDirectory,
  outcome: ProbeOutcome,
): Promise<JobDirectoryChecks> {
  const image = config.workflow.engineImage;
  const command = config.workflow.command;
  const advice = samePathAdvice(config, root);
  const commandNotChecked = notChecked(COMMAND_CHECK, `needs the probe container (see ${JOB_DIR_CHECK})`);
  if (outcome.exitCode === undefined) {
    const failure = outcome.failure ?? 'unknown error';
    if (/bind source path does not exist|no such file or directory|not a directory/i.test(failure)) {
      return {
        jobDirectory: problem(
          JOB_DIR_CHECK,
          `${root.local} is writable here, but the Docker host does not have it at ${root.host} (${failure})`,
          advice,
        ),
        engineCommand: commandNotChecked,
      };
    }
    if (/executable file not found|no such file|not found/i.test(failure)) {
      return {
        jobDirectory: warning(
          JOB_DIR_CHECK,
          `${root.local} is writable here; whether containers see it at ${root.host} was not checked: ${image} has no sh (${failure})`,
        ),
        engineCommand: warning(
          COMMAND_CHECK,
          `whether ${image} has ${command} was not checked: it has no sh`,
        ),
      };
    }
    return {
      jobDirectory: problem(
        JOB_DIR_CHECK,
        `a probe container from ${image} could not start: ${failure}`,
        advice,
      ),
      engineCommand: commandNotChecked,
    };
  }
  const reply = await readReply(probe);
  const shared = reply === probe.token;
  const output =
    outcome.output === ''
      ? ''
      : ` (it said: ${outcome.output.split('\n').slice(-2).join(' ').slice(0, 300)})`;
  if (outcome.exitCode === PROBE_NO_READ || (outcome.exitCode === 0 && !shared)) {
    const denied = /permission denied|read-only/i.test(outcome.output);
    return {
      jobDirectory: problem(
        JOB_DIR_CHECK,
        denied
          ? `a container from ${image} sees ${probe.host} but cannot write there${output}`
          : `a container from ${image} does not see this process's ${root.local} at ${root.host}${output}`,
        denied
          ? `Let the engine image's user write in ORCHESTRATOR_WORK_DIR (${config.workDir}) on the Docker host (job directories are created with mode 755 by uid ${process.getuid?.() ?? '?'}).`
          : advice,
      ),
      engineCommand: commandNotChecked,
    };
  }
  if (!shared) {
    if (outcome.exitCode === 126 || outcome.exitCode === 127) {
      return {
        jobDirectory: warning(
          JOB_DIR_CHECK,
          `${root.local} is writable here; whether containers see it at ${root.host} was not checked: ${image} could not run sh${output}`,
        ),
        engineCommand: warning(
          COMMAND_CHECK,
          `whether ${image} has ${command} was not checked: it could not run sh`,
        ),
      };
    }
    return {
      jobDirectory: problem(
        JOB_DIR_CHECK,
        `the probe container from ${image} ended with status ${outcome.exitCode}${output}`,
        advice,
      ),
      engineCommand: commandNotChecked,
    };
  }
  const jobDirectory = ok(
    JOB_DIR_CHECK,
    `${where}: written here, read and written by a container from ${image} at the same path`,
  );
  if (outcome.exitCode === PROBE_NO_COMMAND) {
    const other = command === 'cwltool' ? 'toil-cwl-runner' : 'cwltool';
    return {
      jobDirectory,
      engineCommand: problem(
        COMMAND_CHECK,
        `${image} has no ${command} on its PATH (WORKFLOW_ENGINE_COMMAND=${command})`,
        `Set WORKFLOW_ENGINE_COMMAND to the runner the image has (e.g. ${other}), or WORKFLOW_ENGINE_DOCKER_IMAGE to an image with ${command}.`,
      ),
    };
  }
  if (outcome.exitCode !== 0) {
    return {
      jobDirectory,
      engineCommand: problem(
        COMMAND_CHECK,
        `looking for ${command} in ${image} ended with status ${outcome.exitCode}${output}`,
        `Check that ${image} can run ${command}.`,
      ),
    };
  }
  return { jobDirectory, engineCommand: ok(COMMAND_CHECK, `${image} has ${command}`) };
}
