/**
 * The registry-free CWL engine images (scripts/build-engine-images.sh) work the way the orchestrator runs
 * them: the engine in a container, its steps as sibling containers through the mounted Docker socket, the
 * work dir mounted at the same path inside and out.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, expect, it } from 'vitest';
import { describeWithDocker } from '../support/docker.js';
import { FIXTURES } from '../support/paths.js';

const CWLTOOL_IMAGE = 'local/cwl-engine:2';
const TOIL_IMAGE = 'local/cwl-engine:2-toil';
const STEP_IMAGE = 'local/busybox:1';
const SOCKET = '/var/run/docker.sock';
const FAKE_TOKEN = 'fake-token-value';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI; a non-zero exit is a result, not an error. */
function docker(args: string[], timeoutMs = 25_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        // Could not start, or timed out (killed: the CLI forwards the signal to the container).
        reject(new Error(`docker ${args.join(' ')}: ${error.message}`, { cause: error }));
        return;
      }
      resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** A work dir D laid out as the orchestrator lays it out: the workflow, the job file, the Synapse config. */
function prepareWorkDir(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), `engine-images-${fixture}-`));
  cpSync(join(FIXTURES, 'workflows', fixture), dir, { recursive: true });
  writeFileSync(join(dir, '.synapseConfig'), `[authentication]\nusername=u\nauthtoken=${FAKE_TOKEN}\n`, {
    mode: 0o600,
  });
  writeFileSync(
    join(dir, 'job.yaml'),
    [
      'submissionId: 9700001',
      'workflowSynapseId: syn100',
      'submitterUploadSynId: syn101',
      'adminUploadSynId: syn102',
      'synapseConfig:',
      '  class: File',
      `  path: ${dir}/.synapseConfig`,
      '',
    ].join('\n'),
  );
  return dir;
}

/** Containers (of any image) that mount something under dir. */
async function containersUsing(engine: Docker, dir: string): Promise<string[]> {
  const all = await engine.listContainers({ all: true });
  return all
    .filter((c) => c.Mounts.some((m) => m.Source === dir || m.Source.startsWith(`${dir}/`)))
    .map((c) => `${c.Image} ${c.State}`);
}

describeWithDocker('the CWL engine images', () => {
  const engine = new Docker();
  const workDirs: string[] = [];

  afterAll(async () => {
    for (const dir of workDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // cwltool runs as root in its container, so its tmp dirs under D are root's: remove them as root.
        await docker(['run', '--rm', '-v', `${dir}:${dir}`, 'local/busybox:1', 'rm', '-rf', dir]);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it.each([
    [CWLTOOL_IMAGE, 'cwltool', /^\/usr\/bin\/cwltool 3\.1\.\d+$/m],
    [TOIL_IMAGE, 'toil-cwl-runner', /^5\.9\.\d+$/m],
  ])('%s answers %s --version', async (image, command, version) => {
    const run = await docker(['run', '--rm', image, command, '--version']);
    expect(run.status, `${run.stderr}\n(missing? run scripts/build-engine-images.sh)`).toBe(0);
    expect(run.stdout).toMatch(version);
  });

  // SWO's engine image has Python's docker module, and tools without a DockerRequirement (Sage's
  // model-to-data templates) use it to start the participant's container beside the engine.
  it.each([CWLTOOL_IMAGE, TOIL_IMAGE])(
    '%s: python3 imports docker and drives the engine through the socket mounted as the orchestrator mounts it',
    async (image) => {
      const script = [
        'import docker',
        'client = docker.from_env()',
        'print("api", client.version()["ApiVersion"])',
        `print("image", client.images.get("${STEP_IMAGE}").id)`,
        `out = client.containers.run("${STEP_IMAGE}", ["echo", "hello from a sibling"], remove=True)`,
        'print(out.decode().strip())',
      ].join('\n');
      const run = await docker([
        'run',
        '--rm',
        '--init',
        '-v',
        `${SOCKET}:${SOCKET}`,
        '-e',
        `DOCKER_HOST=unix://${SOCKET}`,
        image,
        'python3',
        '-c',
        script,
      ]);

      expect(run.status, run.stderr).toBe(0);
      const stepImage = await engine.getImage(STEP_IMAGE).inspect();
      expect(run.stdout).toMatch(/^api 1\.\d+$/m);
      expect(run.stdout).toContain(`image ${stepImage.Id}`);
      expect(run.stdout).toContain('hello from a sibling');
    },
  );

  it(
    'runs the two-step fixture with cwltool, its steps as sibling containers',
    { timeout: 30_000 },
    async () => {
      const dir = prepareWorkDir('two-step');
      workDirs.push(dir);

      const run = await docker([
        'run',
        '--rm',
        '--init',
        '-v',
        `${SOCKET}:${SOCKET}`,
        '-v',
        `${dir}:${dir}`,
        '-w',
        dir,
        ...['TMPDIR', 'TEMP', 'TMP'].flatMap((name) => ['-e', `${name}=${dir}`]),
        CWLTOOL_IMAGE,
        'cwltool',
        '--outdir',
        `${dir}/outputs`,
        `${dir}/workflow.cwl`,
        `${dir}/job.yaml`,
      ]);

      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({});
      // Step 1 ran in local/busybox:1, read the config, and named its file with a JavaScript expression.
      expect(run.stderr).toContain('write: synapseConfig has an authtoken line');
      expect(run.stderr).toContain('write: wrote submission-9700001.txt');
      // Step 2 read that file back.
      expect(run.stderr).toContain('check: submission 9700001 confirmed');
      expect(run.stderr).toContain('Final process status is success');
      expect(`${run.stdout}${run.stderr}`).not.toContain(FAKE_TOKEN);

      // No step container stays behind; cwltool leaves only its tmp dirs (empty, root's) in D.
      expect(await containersUsing(engine, dir)).toEqual([]);
      const leftovers = readdirSync(dir).filter(
        (name) => !['workflow.cwl', 'steps', 'job.yaml', '.synapseConfig'].includes(name),
      );
      for (const name of leftovers) expect(statSync(join(dir, name)).isDirectory(), name).toBe(true);
    },
  );
});
