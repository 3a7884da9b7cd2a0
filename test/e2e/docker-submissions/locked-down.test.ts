/**
 * Docker-image submissions on the real engine, pulled from a real registry (docs/docker-submissions.md):
 * the participant's image runs locked down on the challenge's data, the organizers' scorer scores what it
 * wrote, the scores become annotations and the chosen files are uploaded; every hostile image ends INVALID
 * with the reason the contract's table gives, and nothing of it is left running.
 *
 * All submissions go in at once (the orchestrator runs them side by side) and every test below reads how
 * its own ended. The hostile images write a valid output and exit 0 only when their attempt succeeded, so
 * a sandbox that lets one through ends it ACCEPTED; where it matters the test also runs the image without
 * any lock-down (runUnrestricted) to show the attempt succeeds when nothing stops it.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANNOTATIONS, readString } from '../../../src/evaluation/annotations.js';
import { submissionFolderName } from '../../../src/evaluation/folders.js';
import { dockerHostAddress } from '../../../src/local-challenge/docker-host-address.js';
import type { SubmissionStatus } from '../../../src/synapse/types.js';
import {
  FINAL,
  containersOf,
  messagesAbout,
  readStoredLog,
  setUpChallenge,
  startOrchestrator,
  statusOf,
  submitFile,
  zipFiles,
  type Challenge,
  type RunningOrchestrator,
} from '../../support/challenge.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { describeWithRegistry, startTestRegistry, type TestRegistry } from '../../support/registry.js';
import {
  buildSubmissionImages,
  pushImage,
  pushWithArchitecture,
  removeImages,
  runUnrestricted,
  type BuiltImage,
  type PushedImage,
  type SubmissionImageName,
} from '../../support/submission-images.js';

const docker = new Docker();

const IMAGES: readonly SubmissionImageName[] = [
  'good',
  'other-good',
  'network',
  'write-input',
  'write-rootfs',
  'setuid',
  'forkbomb',
  'memory',
  'sleeper',
  'no-output',
  'big-output',
  'filler',
  'exit-3',
  'scorer-fails',
  'no-scores',
  'scorer',
];

/** The queue every image runs in but the two that must meet the time limit. */
const MAIN = 0;
/** A 5 s time limit. */
const SHORT = 1;

function evaluationFile(options: { input: string; gold: string; scorer: string; time: string }): string {
  return `kind: docker-image-evaluation
version: 1
input: ${options.input}
submission:
  time: ${options.time}
  memory: 64m
  cpus: 1
  pids: 64
  scratch: 16m
  output: 1m
scoring:
  image: ${options.scorer}
  gold: ${options.gold}
  time: 60s
  memory: 64m
uploads:
  locked: [output/predictions.txt, output/sandbox.txt]
  shared: [scoring/report.html]
`;
}

/** What the failure messages below show about a status. */
function describeStatus(status: SubmissionStatus): string {
  return JSON.stringify({
    status: status.status,
    statusDescription: readString(status, ANNOTATIONS.statusDescription),
    failureReason: readString(status, ANNOTATIONS.failureReason),
    workflowJobId: readString(status, ANNOTATIONS.workflowJobId),
  });
}

/** An annotation's value as text, from v2 (submissionAnnotations) or v1 (string, long, double). */
function annotationText(status: SubmissionStatus, key: string): string | undefined {
  const v2 = status.submissionAnnotations?.annotations[key]?.value[0];
  if (v2 !== undefined) return v2;
  const v1 = status.annotations;
  const found =
    v1?.stringAnnos?.find((a) => a.key === key) ??
    v1?.longAnnos?.find((a) => a.key === key) ??
    v1?.doubleAnnos?.find((a) => a.key === key);
  return found === undefined ? undefined : String(found.value);
}

interface ContainerEvent {
  id: string;
  name: string;
  image: string;
  attributes: Record<string, string>;
}

/** Every container the engine created since `since` (unix seconds), from its event stream. */
async function containersCreatedSince(since: number): Promise<ContainerEvent[]> {
  const stream = await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000),
    filters: { type: ['container'], event: ['create'] },
  });
  let text = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const event = JSON.parse(line) as { Actor: { ID: string; Attributes?: Record<string, string> } };
      const attributes = event.Actor.Attributes ?? {};
      return { id: event.Actor.ID, name: attributes.name ?? '', image: attributes.image ?? '', attributes };
    });
}

/** The created containers that name this submission (a label or the name) or its workflow job. */
function createdFor(events: ContainerEvent[], status: SubmissionStatus): ContainerEvent[] {
  const jobId = readString(status, ANNOTATIONS.workflowJobId);
  const bounded = new RegExp(`(^|[^0-9])${status.id}($|[^0-9])`);
  return events.filter(
    (event) =>
      Object.values(event.attributes).some((value) => value === status.id) ||
      bounded.test(event.name) ||
      (jobId !== undefined && (event.name === jobId || event.name === `/${jobId}`)),
  );
}

describeWithRegistry('Docker-image submissions, locked down (real engine, real registry)', () => {
  let registry: TestRegistry;
  let challenge: Challenge;
  let orchestrator: RunningOrchestrator;
  let built: Map<SubmissionImageName, BuiltImage>;
  const pushed = new Map<string, PushedImage>();
  let foreignArch: PushedImage;
  let hostArchitecture = '';
  let inputDir = '';
  let goldDir = '';
  let server: Server;
  let target = '';
  const serverHits: string[] = [];
  /** Submission ids, by what was submitted. */
  const ids = new Map<string, string>();
  let cliResult: CliResult;
  let since = 0;
  /** Undone in reverse order after the tests, whatever part of the set-up happened. */
  const cleanups: (() => Promise<unknown>)[] = [];
  /** The most processes the fork bomb's container had at once, as sampled while it ran. */
  let forkbombPids = 0;

  const image = (name: string): PushedImage => {
    const found = pushed.get(name);
    if (found === undefined) throw new Error(`no image ${name}`);
    return found;
  };
  const idOf = (what: string): string => {
    const found = ids.get(what);
    if (found === undefined) throw new Error(`no submission ${what}`);
    return found;
  };
  const tempDir = (prefix: string, mode: number): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    chmodSync(dir, mode);
    cleanups.push(async () => {
      rmSync(dir, { recursive: true, force: true });
    });
    return dir;
  };

  async function submitImage(what: string, queue: number, repository: string, digest: string) {
    const submission = await challenge.tp.admin.createSubmission({
      evaluationId: challenge.queues[queue]?.evaluationId ?? '',
      userId: challenge.participant.ownerId,
      docker: { repositoryName: repository, digest },
    });
    ids.set(what, submission.id);
  }

  beforeAll(async () => {
    const info = (await docker.info()) as { Architecture?: string };
    hostArchitecture = info.Architecture ?? '';
    [built, registry] = await Promise.all([buildSubmissionImages(IMAGES), startTestRegistry()]);
    // Every copy of the images (tags, pulled digests) goes once the registry and the containers have.
    cleanups.push(() => removeImages([...built.values()].map((b) => b.id)));
    cleanups.push(() => registry.stop());
    for (const builtImage of built.values()) {
      pushed.set(builtImage.name, await pushImage(registry, builtImage, `test/${builtImage.name}`));
    }
    // The good image again, its configuration claiming arm64: it would run here all the same.
    foreignArch = await pushWithArchitecture(registry, 'test/good', '1', 'arm64', 'arm64');
    cleanups.push(async () => {
      const pulled = await docker
        .getImage(`${foreignArch.repository}@${foreignArch.digest}`)
        .inspect()
        .catch(() => undefined);
      if (pulled !== undefined) await removeImages([pulled.Id]);
    });

    // The host's data: /input is writable by anyone on the host, so only a read-only mount stops a write.
    inputDir = tempDir('dsub-input-', 0o777);
    goldDir = tempDir('dsub-gold-', 0o755);
    writeFileSync(join(inputDir, 'data.txt'), 'alpha\nbeta\ngamma\n', { mode: 0o644 });
    writeFileSync(join(goldDir, 'answer.txt'), '3\n', { mode: 0o644 });

    // A server any container on the default bridge reaches (the network image calls it).
    const address = await dockerHostAddress(docker);
    server = createServer((request, response) => {
      serverHits.push(request.url ?? '');
      response.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as { port: number }).port;
    target = `${address}:${port}`;
    writeFileSync(join(inputDir, 'target.txt'), `${target}\n`, { mode: 0o644 });

    const scorer = image('scorer');
    const files = (time: string) =>
      zipFiles({
        'evaluation.yaml': evaluationFile({
          input: inputDir,
          gold: goldDir,
          scorer: `${scorer.repository}:${scorer.tag}`,
          time,
        }),
      });
    challenge = await setUpChallenge([
      { name: `Locked down ${process.pid}`, archive: await files('60s'), rootTemplate: 'evaluation.yaml' },
      { name: `Five seconds ${process.pid}`, archive: await files('5s'), rootTemplate: 'evaluation.yaml' },
    ]);
    cleanups.push(() => challenge.close());
    orchestrator = await startOrchestrator(challenge);

    since = Math.floor(Date.now() / 1000) - 1;
    for (const name of [
      'good',
      'network',
      'write-input',
      'write-rootfs',
      'setuid',
      'memory',
      'no-output',
      'big-output',
      'filler',
      'exit-3',
      'scorer-fails',
      'no-scores',
    ] as const) {
      await submitImage(name, MAIN, image(name).repository, image(name).digest);
    }
    for (const name of ['sleeper', 'forkbomb'] as const) {
      await submitImage(name, SHORT, image(name).repository, image(name).digest);
    }
    await submitImage('foreign-arch', MAIN, foreignArch.repository, foreignArch.digest);
    // The good repository with the digest of an image that is in another repository only.
    await submitImage('digest-mismatch', MAIN, image('good').repository, image('other-good').digest);
    ids.set('no-docker', await submitFile(challenge, challenge.queues[MAIN]?.evaluationId ?? ''));
    // The participant submits with the CLI (the submissions above gave them SUBMIT on the queue).
    cliResult = await runCli(
      [
        'submit',
        '--evaluation',
        challenge.queues[MAIN]?.evaluationId ?? '',
        '--docker-image',
        `${image('good').repository}:1`,
        '--json',
      ],
      {
        cwd: tempDir('dsub-cli-', 0o700),
        env: { SYNAPSE_ENDPOINT: challenge.tp.platform.url, SYNAPSE_PAT: challenge.participant.token },
      },
    );
    if (cliResult.status === 0) {
      ids.set('cli', (JSON.parse(cliResult.stdout) as { submissionId: string }).submissionId);
    }
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Ticks until every submission has a final status (or 200 s went by); never throws. */
  let everything: Promise<void> | undefined;
  const allEnded = (): Promise<void> => {
    everything ??= (async () => {
      const forkbombId = built.get('forkbomb')?.id;
      let sampling: Promise<void> | undefined;
      const sample = async () => {
        const running = await docker.listContainers({ filters: { ancestor: [forkbombId ?? ''] } });
        for (const container of running) {
          const stats = (await docker
            .getContainer(container.Id)
            .stats({ stream: false })
            .catch(() => undefined)) as { pids_stats?: { current?: number } } | undefined;
          forkbombPids = Math.max(forkbombPids, stats?.pids_stats?.current ?? 0);
        }
      };
      await orchestrator
        .tickUntil(
          async () => {
            const statuses = await Promise.all([...ids.values()].map((id) => statusOf(challenge, id)));
            return statuses.every((status) => FINAL.has(status.status));
          },
          200_000,
          async () => {
            sampling ??= sample().finally(() => (sampling = undefined));
          },
        )
        .catch(() => undefined);
      await sampling;
      await orchestrator.daemon.settle(60_000);
    })();
    return everything;
  };

  const ended = async (what: string): Promise<SubmissionStatus> => {
    await allEnded();
    return statusOf(challenge, idOf(what));
  };

  /** The final message the participant got about a submission (not the "started" one). */
  const finalMessage = async (id: string) => {
    const messages = (await messagesAbout(challenge, id)).filter(
      (m) => !(m.subject ?? '').includes('is being evaluated'),
    );
    expect(messages, `final messages about ${id}`).toHaveLength(1);
    return messages[0];
  };

  const logOf = async (status: SubmissionStatus): Promise<string> => {
    const folder = readString(status, ANNOTATIONS.submissionFolder);
    expect(folder, `the submission folder of ${status.id}`).toBeDefined();
    const log = await readStoredLog(challenge, folder ?? '', status.id);
    expect(log, `${status.id}_logs.zip in ${folder ?? ''}`).toBeDefined();
    return log?.text ?? '';
  };

  /** Containers still running from these images, and any container of the orchestrator's at all. */
  const leftovers = async (images: string[]) => {
    const running = await docker.listContainers();
    return [
      ...running.filter((c) => images.includes(c.ImageID)).map((c) => `${c.Names[0] ?? c.Id} (running)`),
      ...(await containersOf(orchestrator.config.orchestratorId)),
    ];
  };

  const expectInvalid = async (
    what: string,
    reason: RegExp[],
  ): Promise<{ status: SubmissionStatus; failureReason: string }> => {
    const status = await ended(what);
    expect(status.status, describeStatus(status)).toBe('INVALID');
    const failureReason = readString(status, ANNOTATIONS.failureReason) ?? '';
    for (const pattern of reason) expect(failureReason, describeStatus(status)).toMatch(pattern);
    // The participant is told the same reason.
    const message = await finalMessage(status.id);
    expect(message?.body).toContain(failureReason);
    const imageId = pushed.get(what)?.imageId;
    expect(await leftovers(imageId === undefined ? [] : [imageId])).toEqual([]);
    return { status, failureReason };
  };

  it('every submission ends with a final status', async () => {
    await allEnded();
    const statuses = await Promise.all(
      [...ids.entries()].map(
        async ([what, id]) => `${what}: ${describeStatus(await statusOf(challenge, id))}`,
      ),
    );
    const pending = statuses.filter(
      (line) => !/"status":"(ACCEPTED|INVALID|VALIDATED|REJECTED|SCORED)"/.test(line),
    );
    expect(pending, statuses.join('\n')).toEqual([]);
  }, 280_000);

  it('the good image: ACCEPTED, scored, uploads where the file says, its output in the log, the participant told', async () => {
    const status = await ended('good');
    expect(status.status, describeStatus(status)).toBe('ACCEPTED');
    // scores.json: {"score": 0.75, "passed": true, "sandbox": "uid=65534 output=ro"}
    expect(annotationText(status, 'score')).toBeDefined();
    expect(Number(annotationText(status, 'score'))).toBe(0.75);
    expect(annotationText(status, 'passed')).toBe('true');
    // The scorer ran as nobody and could not write to the participant's output.
    expect(annotationText(status, 'sandbox')).toBe('uid=65534 output=ro');

    const log = await logOf(status);
    expect(log).toContain('good: counting the lines of /input/data.txt');
    expect(log).toContain('good: this line went to stderr');

    // shared: [scoring/report.html] → the folder the submitter reads; locked: the outputs → admin-only.
    const shared = readString(status, ANNOTATIONS.submissionFolder) ?? '';
    const { client, outputRootId, participant } = challenge;
    const lockedParent = await client.entities.lookupChild(outputRootId, `${participant.ownerId}_LOCKED`);
    expect(lockedParent).toBeDefined();
    const locked = await client.entities.lookupChild(lockedParent ?? '', submissionFolderName(status.id));
    expect(locked).toBeDefined();
    const sharedNames = (await client.entities.listChildren(shared)).map((e) => e.name);
    const lockedNames = (await client.entities.listChildren(locked ?? '')).map((e) => e.name);
    expect(sharedNames).toContain('report.html');
    expect(sharedNames).not.toContain('predictions.txt');
    expect(lockedNames).toEqual(expect.arrayContaining(['predictions.txt', 'sandbox.txt']));
    expect(lockedNames).not.toContain('report.html');
    expect(await download(shared, 'report.html')).toContain('<h1>Score 0.75</h1>');
    expect((await download(locked ?? '', 'predictions.txt')).trim()).toBe('3');

    // What the participant's container saw, as it wrote it in sandbox.txt.
    const sandbox = await download(locked ?? '', 'sandbox.txt');
    expect(sandbox).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(sandbox).toMatch(/^CapEff:\s+0{16}$/m);
    expect(sandbox).toMatch(/^CapBnd:\s+0{16}$/m);
    expect(sandbox).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(sandbox).toMatch(/^interfaces: lo\s*$/m);
    expect(sandbox).toMatch(/^mount \/ \S+ ro$/m);
    expect(sandbox).toMatch(/^mount \/input \S+ ro$/m);
    expect(sandbox).toMatch(/^mount \/output \S+ rw/m);
    expect(sandbox).toMatch(/^mount \/tmp tmpfs rw,size=16384k$/m);
    expect(sandbox).not.toMatch(/^mount \/gold /m);

    const message = await finalMessage(status.id);
    expect(message?.subject).toContain('finished');
    expect(message?.body).toContain('ran to the end without errors');
    expect(message?.body).toContain('ACCEPTED');
    expect(await leftovers([image('good').imageId ?? ''])).toEqual([]);
  });

  async function download(folderId: string, name: string): Promise<string> {
    const { client } = challenge;
    const entityId = await client.entities.lookupChild(folderId, name);
    expect(entityId, `${name} in ${folderId}`).toBeDefined();
    const entity = await client.entities.get(entityId ?? '');
    const { url } = await client.files.getDownloadUrl({
      associateObjectType: 'FileEntity',
      associateObjectId: entityId ?? '',
      fileHandleId: entity.dataFileHandleId ?? '',
    });
    const path = join(tempDir('dsub-download-', 0o700), name);
    await client.files.downloadToFile(url, path);
    return readFileSync(path, 'utf8');
  }

  it('the CLI: `submit --docker-image <repository>:<tag>` is evaluated like the same image submitted by digest', async () => {
    expect(cliResult.stderr).toBe('');
    expect(cliResult.status).toBe(0);
    const status = await ended('cli');
    expect(status.status, describeStatus(status)).toBe('ACCEPTED');
    expect(Number(annotationText(status, 'score'))).toBe(0.75);
    expect(annotationText(status, 'passed')).toBe('true');
    const submission = await challenge.client.evaluations.submission(status.id);
    expect(submission).toMatchObject({
      dockerRepositoryName: image('good').repository,
      dockerDigest: image('good').digest,
    });
  });

  it('no network: the image that reaches a server on the bridge when unrestricted ends INVALID, the server never called', async () => {
    const { status } = await expectInvalid('network', [/exit/i, /\b1\b/]);
    expect(await logOf(status)).toMatch(/network: \S+ answered: (?!HTTP)/);
    expect(serverHits).toEqual([]);
    // Unrestricted, the same image reaches the server and succeeds: the sandbox is what stopped it.
    const check = await runUnrestricted(image('network').repository + ':1', {
      input: inputDir,
      output: tempDir('dsub-out-', 0o777),
    });
    expect(check.log).toContain(`network: ${target} answered: HTTP/1.1 200 OK`);
    expect(check.exitCode).toBe(0);
    expect(serverHits).toEqual(['/from-a-submission']);
  });

  it('/input is read-only: the image that writes to it when mounted read-write ends INVALID, the host directory untouched', async () => {
    const { status } = await expectInvalid('write-input', [/exit/i, /\b1\b/]);
    expect(await logOf(status)).toContain('write-input: /input is read-only');
    expect(readdirSync(inputDir).sort()).toEqual(['data.txt', 'target.txt']);
    const writable = tempDir('dsub-writable-input-', 0o777);
    const check = await runUnrestricted(`${image('write-input').repository}:1`, {
      input: writable,
      output: tempDir('dsub-out-', 0o777),
    });
    expect(check.exitCode).toBe(0);
    expect(existsSync(join(writable, 'written-by-a-submission'))).toBe(true);
  });

  it('the root filesystem is read-only: the image that writes into its own /work ends INVALID', async () => {
    const { status } = await expectInvalid('write-rootfs', [/exit/i, /\b1\b/]);
    expect(await logOf(status)).toContain('write-rootfs: the root filesystem is read-only');
    const check = await runUnrestricted(`${image('write-rootfs').repository}:1`, {
      input: inputDir,
      output: tempDir('dsub-out-', 0o777),
    });
    expect(check.log).toContain("wrote into the image's /work");
    expect(check.exitCode).toBe(0);
  });

  it('no new privileges: a setuid-root program does not make the image root; it ends INVALID', async () => {
    const { status } = await expectInvalid('setuid', [/exit/i, /\b1\b/]);
    expect(await logOf(status)).toContain('setuid: the setuid busybox runs with effective uid 65534');
    const check = await runUnrestricted(`${image('setuid').repository}:1`, {
      input: inputDir,
      output: tempDir('dsub-out-', 0o777),
    });
    expect(check.log).toContain('effective uid 0');
    expect(check.exitCode).toBe(0);
  });

  it('a fork bomb is held at the pids limit (64) and stopped at the time limit: INVALID, EXCEEDED TIME QUOTA', async () => {
    const { status } = await expectInvalid('forkbomb', [/time limit/i, /\b5 ?(s|sec|seconds?)\b/]);
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    const log = await logOf(status);
    expect(log).toContain('forkbomb: pids.max=64');
    expect(log).toContain('forkbomb: starting');
    // Sampled while it ran (docker stats): the bomb filled its container up to the limit, no further.
    expect(forkbombPids).toBeGreaterThan(32);
    expect(forkbombPids).toBeLessThanOrEqual(64);
    // The host still starts containers.
    const probe = (await docker.run('local/busybox:1', ['true'], [], {
      HostConfig: { AutoRemove: true },
    })) as [{ StatusCode: number }];
    expect(probe[0].StatusCode).toBe(0);
  });

  it('out of memory: INVALID, the reason names the memory limit (64m)', async () => {
    const { status } = await expectInvalid('memory', [/memory/i, /\b64 ?(m|mb|mib)\b|67108864/i]);
    expect(await logOf(status)).toContain('memory: holding 512 MiB');
  });

  it('past the time limit: INVALID, EXCEEDED TIME QUOTA, the reason names the limit (5s)', async () => {
    const { status } = await expectInvalid('sleeper', [/time limit/i, /\b5 ?(s|sec|seconds?)\b/]);
    expect(readString(status, ANNOTATIONS.statusDescription)).toBe('EXCEEDED TIME QUOTA');
    expect(await logOf(status)).toContain('sleeper: sleeping 120 s');
  });

  it('nothing written to /output: INVALID, /output was empty', async () => {
    // The contract's words, or the same said otherwise.
    const { status } = await expectInvalid('no-output', [/\/output was empty|wrote nothing to \/output/i]);
    expect(await logOf(status)).toContain('no-output: writing nothing');
  });

  it('more than the output limit: INVALID, the reason names the limit (1m)', async () => {
    await expectInvalid('big-output', [/output/i, /\b1 ?(m|mb|mib)\b|1048576|1,048,576/i]);
  });

  it('writing past the output limit while running: stopped at the next look, INVALID, the limit named', async () => {
    const { status } = await expectInvalid('filler', [
      /wrote 3 MiB to \/output, more than the limit of 1 MiB/,
    ]);
    const log = await logOf(status);
    expect(log).toContain('filler: wrote 3 MiB, staying on');
    expect(log).not.toContain('filler: not stopped');
  });

  it('validate recognises the evaluation file: valid, scored by the scorer image', async () => {
    const queue = challenge.queues[MAIN];
    const result = await runCli(['validate'], {
      env: {
        SYNAPSE_ENDPOINT: challenge.tp.platform.url,
        SYNAPSE_PAT: challenge.tp.orchestrator.token,
        EVALUATION_TEMPLATES: JSON.stringify({ [queue?.evaluationId ?? '']: queue?.templateId ?? '' }),
        WORKFLOW_OUTPUT_ROOT_ENTITY_ID: challenge.outputRootId,
        DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock',
        WORKFLOW_ENGINE_DOCKER_IMAGE: 'local/cwl-engine:2',
        WORKFLOW_ENGINE_COMMAND: 'cwltool',
        ORCHESTRATOR_WORK_DIR: orchestrator.workDir,
      },
    });
    const line = result.stdout.split('\n').find((l) => l.includes(`Template ${queue?.templateId ?? ''}`));
    expect(line).toMatch(/^✔ /);
    expect(line).toContain('evaluation.yaml');
    expect(line).toContain(
      `is an evaluation file for Docker-image submissions, scored by ${image('scorer').repository}`,
    );
  });

  it('a program that exits with an error: INVALID, the exit code (3)', async () => {
    const { status } = await expectInvalid('exit-3', [/exit/i, /\b3\b/]);
    expect(await logOf(status)).toContain('exit-3: failing on purpose');
  });

  it("a scorer that fails on the output: INVALID, the scorer's exit code (4), its log in the participant's", async () => {
    const { status } = await expectInvalid('scorer-fails', [/scor/i, /\b4\b/]);
    const log = await logOf(status);
    expect(log).toContain('scorer-fails: wrote an output the scorer refuses');
    expect(log).toContain('scorer: refusing this output');
    expect(annotationText(status, 'score')).toBeUndefined();
  });

  it('a scorer that exits 0 without scores.json: INVALID, and the admin is told', async () => {
    const { status } = await expectInvalid('no-scores', []);
    expect(annotationText(status, 'score')).toBeUndefined();
    const toAdmin = (await challenge.tp.admin.messages()).filter(
      (m) => m.recipients.includes(challenge.tp.orchestrator.ownerId) && m.body.includes(status.id),
    );
    expect(toAdmin.length, JSON.stringify(toAdmin.map((m) => m.subject))).toBeGreaterThanOrEqual(1);
    expect(toAdmin.map((m) => m.body).join('\n')).toMatch(/scores\.json/);
  });

  it("an image for another architecture: INVALID, the reason names the image's (arm64) and the host's", async () => {
    const host = hostArchitecture === 'x86_64' ? 'amd64' : hostArchitecture;
    await expectInvalid('foreign-arch', [/arm64/, new RegExp(`${host}|${hostArchitecture}`)]);
  });

  it('a digest from another repository: INVALID, the image could not be pulled (the registry says why); nothing ran', async () => {
    const { status } = await expectInvalid('digest-mismatch', [
      /could not be pulled/i,
      /manifest unknown|not found/i,
    ]);
    const events = await containersCreatedSince(since);
    expect(createdFor(events, status)).toEqual([]);
    // Nothing ran other-good's image, which only a pull ignoring the repository would have found.
    const otherGood = image('other-good');
    expect(
      events.filter(
        (event) =>
          event.image === otherGood.imageId || event.image.includes(otherGood.digest.replace('sha256:', '')),
      ),
    ).toEqual([]);
    expect(
      (await docker.listContainers({ all: true })).filter((c) => c.ImageID === otherGood.imageId),
    ).toEqual([]);
    // The check above can see containers: the good submission's were created since.
    expect(createdFor(events, await ended('good')).length).toBeGreaterThan(0);
  });

  it('a file submission to a Docker queue: INVALID, "this queue takes Docker images"; nothing ran', async () => {
    const { status } = await expectInvalid('no-docker', [/this queue takes Docker images/i]);
    expect(createdFor(await containersCreatedSince(since), status)).toEqual([]);
  });

  it("nothing is left: no container of the orchestrator's, none of the test images running", async () => {
    await allEnded();
    const imageIds = [...built.values()].map((b) => b.id);
    expect(await leftovers(imageIds)).toEqual([]);
  });
});
