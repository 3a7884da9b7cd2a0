/**
 * Participants' and organizers' images for the Docker-submission tests (docs/docker-submissions.md),
 * built here from local/busybox:1 with the legacy builder (no base image to pull, no registry needed to
 * build), then pushed to the test registry (registry.ts) so that the orchestrator pulls them by digest.
 *
 * Every hostile image writes a valid output and exits 0 ONLY when the thing it tries succeeded: a sandbox
 * that lets it through ends ACCEPTED, so a test expecting INVALID fails. `runUnrestricted` runs an image
 * the way a careless runner would (bridge network, writable mounts and root filesystem, default
 * capabilities, no limits) so a test can show that the attempt does succeed when nothing stops it.
 *
 * The images declare USER 65534:65534 and need no passwd entry for it; their files are root's and
 * world-readable.
 */
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import Docker from 'dockerode';
import { rawTar, type RawTarEntry } from './archives.js';
import { STEP_IMAGE } from './challenge.js';
import type { TestRegistry } from './registry.js';

/** Prints the container's view of its sandbox (for the good image's sandbox.txt). */
const SANDBOX_REPORT = [
  "grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' /proc/self/status",
  "echo \"interfaces: `ls /sys/class/net | tr '\\n' ' '`\"",
  // One line per mount point of interest: "mount /input ext4 ro" (ro or rw, and a tmpfs's size).
  'awk \'$2 ~ /^\\/(input|output|tmp|gold)?$/ { n = split($4, o, ","); s = o[1]; ' +
    'for (i = 2; i <= n; i++) if (o[i] ~ /^size=/) s = s "," o[i]; print "mount " $2 " " $3 " " s }\' /proc/self/mounts',
].join('\n');

/** A program counting the lines of /input/data.txt, writing the count and a sandbox report to /output. */
function counter(name: string): string {
  return `echo "${name}: counting the lines of /input/data.txt"
echo "${name}: this line went to stderr" >&2
wc -l < /input/data.txt | tr -d ' ' > /tmp/count
cp /tmp/count /output/predictions.txt
{
${SANDBOX_REPORT}
} > /output/sandbox.txt
echo "${name}: wrote \`cat /output/predictions.txt\` to /output/predictions.txt"
`;
}

/** The shell script each image runs (sh /run.sh), by image name. */
export const SUBMISSION_SCRIPTS = {
  /** Counts the lines of /input/data.txt into /output/predictions.txt, using /tmp as scratch. */
  good: counter('good'),

  /** The same program in another image (another digest, another repository). */
  'other-good': counter('other-good'),

  /** Makes an HTTP request to <host>:<port> read from /input/target.txt (a server the test runs). */
  network: `target=\`cat /input/target.txt\`
host=\${target%:*}
port=\${target##*:}
reply=\`printf 'GET /from-a-submission HTTP/1.0\\r\\n\\r\\n' | nc -w 3 "$host" "$port" 2>&1 | head -n 1\`
echo "network: $target answered: $reply"
case "$reply" in
HTTP/*) echo 3 > /output/predictions.txt; exit 0 ;;
esac
exit 1
`,

  /** Tries to create a file in /input (the test makes the host directory writable by anyone). */
  'write-input': `if echo owned > /input/written-by-a-submission 2>/dev/null; then
  echo "write-input: wrote into /input"
  echo 3 > /output/predictions.txt
  exit 0
fi
echo "write-input: /input is read-only"
exit 1
`,

  /** Tries to write to /work, a directory of the image owned by uid 65534: only a read-only root stops it. */
  'write-rootfs': `if echo owned > /work/written-by-a-submission 2>/dev/null; then
  echo "write-rootfs: wrote into the image's /work"
  echo 3 > /output/predictions.txt
  exit 0
fi
echo "write-rootfs: the root filesystem is read-only"
exit 1
`,

  /** Runs id through a setuid-root busybox configured (busybox.conf) to keep root: uid 0 unless no-new-privileges. */
  setuid: `uid=\`/suid/busybox id -u 2>&1\`
echo "setuid: the setuid busybox runs with effective uid $uid"
if [ "$uid" = 0 ]; then echo 3 > /output/predictions.txt; exit 0; fi
exit 1
`,

  /**
   * Forks without bound: two loops starting sleeps until the kernel refuses, and retrying for ever (their
   * "can't fork" errors discarded). Started only under a pids limit of at most 1024 (without one it would
   * starve the host: exit 3 instead). The shell then becomes a 30 s sleep (exec: no fork needed) and ends
   * with an output, so only the time limit makes it INVALID.
   */
  forkbomb: `pm=\`cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max 2>/dev/null\`
echo "forkbomb: pids.max=$pm"
case "$pm" in
''|max) echo "forkbomb: no pids limit: not starting a fork bomb"; exit 3 ;;
esac
if [ "$pm" -gt 1024 ]; then echo "forkbomb: pids limit too high: not starting"; exit 3; fi
echo "forkbomb: starting"
b() { while :; do sleep 600 & done; }
b 2>/dev/null &
b 2>/dev/null &
echo 3 > /output/predictions.txt
exec sleep 30
`,

  /** Holds 512 MiB in memory (tail keeps the one endless line): killed under a 64m limit. */
  memory: `echo "memory: holding 512 MiB"
head -c 512m /dev/zero | tail > /dev/null || { echo "memory: tail was killed"; exit 137; }
echo "memory: done"
echo 3 > /output/predictions.txt
`,

  /** Sleeps far past a short time limit, then writes an output. */
  sleeper: `echo "sleeper: sleeping 120 s"
sleep 120
echo 3 > /output/predictions.txt
`,

  'no-output': `echo "no-output: writing nothing"
exit 0
`,

  /** Writes 3 MiB, then goes on running (the limit must stop it while it runs, not only at its end). */
  filler: `head -c 3m /dev/zero > /output/predictions.txt
echo "filler: wrote 3 MiB, staying on"
sleep 120
echo "filler: not stopped"
exit 0
`,

  /** Writes 3 MiB (in a file the scorer would read) and exits 0. */
  'big-output': `head -c 3m /dev/zero > /output/predictions.txt
echo "big-output: wrote \`wc -c < /output/predictions.txt\` bytes"
exit 0
`,

  'exit-3': `echo 3 > /output/predictions.txt
echo "exit-3: failing on purpose" >&2
exit 3
`,

  /** A valid run whose output makes the scorer exit 4. */
  'scorer-fails': `echo "fail the scorer" > /output/predictions.txt
echo "scorer-fails: wrote an output the scorer refuses"
`,

  /** A valid run whose output makes the scorer exit 0 without writing scores.json. */
  'no-scores': `echo "write no scores" > /output/predictions.txt
echo "no-scores: wrote an output the scorer writes no scores for"
`,

  /**
   * The organizers' scorer: compares /output/predictions.txt with /gold/answer.txt and writes
   * /scoring/scores.json ({"score": <lines / 4>, "passed": <equal>, "sandbox": "uid=<uid> output=<ro|rw>"})
   * and /scoring/report.html. Two outputs make it fail: "fail the scorer" (exit 4) and "write no scores"
   * (exit 0, nothing written).
   */
  scorer: `p=\`cat /output/predictions.txt\`
case "$p" in
"fail the scorer") echo "scorer: refusing this output" >&2; exit 4 ;;
"write no scores") echo "scorer: writing no scores"; exit 0 ;;
esac
a=\`cat /gold/answer.txt\`
if touch /output/scorer-was-here 2>/dev/null; then out=rw; else out=ro; fi
uid=\`id -u\`
if [ "$p" = "$a" ]; then passed=true; else passed=false; fi
score=\`echo "$p" | awk '{ if ($0 ~ /^[0-9]+$/) print $0 / 4; else print 0 }'\`
printf '{"score": %s, "passed": %s, "sandbox": "uid=%s output=%s"}\\n' "$score" "$passed" "$uid" "$out" > /scoring/scores.json
printf '<html><body><h1>Score %s</h1><p>passed: %s</p></body></html>\\n' "$score" "$passed" > /scoring/report.html
echo "scorer: score $score, passed $passed"
`,
} as const;

export type SubmissionImageName = keyof typeof SUBMISSION_SCRIPTS;

/** Extra build steps, by image. */
const EXTRA_STEPS: Partial<Record<SubmissionImageName, string[]>> = {
  // A setuid-root busybox, and a busybox.conf telling it to keep root for id (BusyBox otherwise drops
  // privileges for applets that do not need them).
  setuid: [
    "RUN mkdir /suid && cp /bin/busybox /suid/busybox && chmod 4755 /suid/busybox && printf '[SUID]\\nid = ssx 0.0\\n' > /etc/busybox.conf && chmod 600 /etc/busybox.conf",
  ],
  'write-rootfs': ['RUN mkdir /work && chown 65534:65534 /work'],
};

function dockerfile(name: SubmissionImageName): string {
  return [
    `FROM ${STEP_IMAGE}`,
    ...(EXTRA_STEPS[name] ?? []),
    'COPY run.sh /run.sh',
    `LABEL org.synapse-orchestrator.test-image=${name}`,
    'USER 65534:65534',
    'ENTRYPOINT ["/bin/sh", "/run.sh"]',
    '',
  ].join('\n');
}

export interface BuiltImage {
  name: SubmissionImageName;
  /** The local tag it was built as. */
  tag: string;
  /** sha256:… image id. */
  id: string;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

const docker = new Docker();

async function followProgress<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: T[]) => {
      if (error === null) resolve(output);
      else reject(error);
    });
  });
}

/** Builds one image from its script with the legacy builder; returns its tag and id. */
export async function buildSubmissionImage(name: SubmissionImageName): Promise<BuiltImage> {
  const tag = `local/submission-test-${name}:${process.pid}`;
  const entries: RawTarEntry[] = [
    { path: 'Dockerfile', data: dockerfile(name) },
    { path: 'run.sh', data: SUBMISSION_SCRIPTS[name], mode: 0o644 },
  ];
  const context = Readable.from([rawTar(entries, false)]);
  const stream = await docker.buildImage(context, { t: tag, version: '1', rm: true, forcerm: true });
  const events = await followProgress<BuildEvent>(stream);
  const failure = events.find((event) => event.error !== undefined);
  if (failure !== undefined) {
    const log = events.map((event) => event.stream ?? '').join('');
    throw new Error(`building ${tag} failed: ${failure.error ?? ''}\n${log}`);
  }
  const { Id } = await docker.getImage(tag).inspect();
  return { name, tag, id: Id };
}

/** Builds the named images, two at a time (this machine has two cores). */
export async function buildSubmissionImages(
  names: readonly SubmissionImageName[],
): Promise<Map<SubmissionImageName, BuiltImage>> {
  const built = new Map<SubmissionImageName, BuiltImage>();
  const queue = [...names];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      built.set(name, await buildSubmissionImage(name));
    }
  };
  await Promise.all([worker(), worker()]);
  return built;
}

export interface PushedImage {
  name: string;
  /** `<registry host>/<path>`: what a submission's dockerRepositoryName holds. */
  repository: string;
  tag: string;
  /** The manifest digest the registry serves: what a submission's dockerDigest holds. */
  digest: string;
  /** The local image id (undefined for an image made in the registry only). */
  imageId?: string;
}

/** Pushes a built image to `<registry>/<path>:<tag>`. */
export async function pushImage(
  registry: TestRegistry,
  image: BuiltImage,
  path: string,
  tag = '1',
): Promise<PushedImage> {
  const digest = await registry.push(image.tag, path, tag);
  return { name: image.name, repository: `${registry.host}/${path}`, tag, digest, imageId: image.id };
}

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface ManifestV2 {
  schemaVersion: 2;
  mediaType: string;
  config: { mediaType: string; size: number; digest: string };
  layers: unknown[];
}

/**
 * Makes, in the registry only, a copy of `<path>:<fromTag>` whose image configuration claims another
 * `architecture` (same layers: it still runs here, so only a check of the architecture stops it), tagged
 * `<path>:<toTag>`.
 */
export async function pushWithArchitecture(
  registry: TestRegistry,
  path: string,
  fromTag: string,
  toTag: string,
  architecture: string,
): Promise<PushedImage> {
  const base = `${registry.url}/v2/${path}`;
  const manifestResponse = await fetch(`${base}/manifests/${fromTag}`, { headers: { Accept: MANIFEST_V2 } });
  if (!manifestResponse.ok) throw new Error(`GET ${path}:${fromTag}: ${manifestResponse.status}`);
  const manifest = (await manifestResponse.json()) as ManifestV2;
  const configResponse = await fetch(`${base}/blobs/${manifest.config.digest}`);
  if (!configResponse.ok) throw new Error(`GET config of ${path}:${fromTag}: ${configResponse.status}`);
  const config = (await configResponse.json()) as Record<string, unknown>;
  const changed = Buffer.from(JSON.stringify({ ...config, architecture, variant: undefined }));
  const configDigest = sha256(changed);

  const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || location === null) throw new Error(`blob upload to ${path}: ${start.status}`);
  const uploadUrl = new URL(location, registry.url);
  uploadUrl.searchParams.set('digest', configDigest);
  const upload = await fetch(uploadUrl, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: changed,
  });
  if (upload.status !== 201)
    throw new Error(`blob upload to ${path}: ${upload.status} ${await upload.text()}`);

  const newManifest = Buffer.from(
    JSON.stringify({
      ...manifest,
      config: { ...manifest.config, digest: configDigest, size: changed.length },
    }),
  );
  const put = await fetch(`${base}/manifests/${toTag}`, {
    method: 'PUT',
    headers: { 'Content-Type': MANIFEST_V2 },
    body: newManifest,
  });
  if (put.status !== 201) throw new Error(`manifest PUT ${path}:${toTag}: ${put.status} ${await put.text()}`);
  const digest = put.headers.get('docker-content-digest') ?? sha256(newManifest);
  return { name: `${path} (${architecture})`, repository: `${registry.host}/${path}`, tag: toTag, digest };
}

/** Splits Docker's multiplexed (non-TTY) log stream into text. */
export function demuxLogs(bytes: Buffer): string {
  let text = '';
  let at = 0;
  while (at + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(at + 4);
    text += bytes.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  return text;
}

export interface UnrestrictedRun {
  exitCode: number;
  log: string;
}

/**
 * Runs `image` with none of the orchestrator's lock-down: the default bridge network, default
 * capabilities, privileges allowed to rise, a writable root filesystem, `input` and `output` mounted
 * read-write, no limits. The container is removed afterwards.
 */
export async function runUnrestricted(
  image: string,
  mounts: { input: string; output: string },
): Promise<UnrestrictedRun> {
  const container = await docker.createContainer({
    Image: image,
    User: '65534:65534',
    HostConfig: {
      NetworkMode: 'bridge',
      Binds: [`${mounts.input}:/input`, `${mounts.output}:/output`],
    },
  });
  try {
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    const log = demuxLogs(await container.logs({ stdout: true, stderr: true, follow: false }));
    return { exitCode: result.StatusCode, log };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Removes the images by id, with every tag and digest reference they have (pulled copies included). */
export async function removeImages(ids: Iterable<string>): Promise<void> {
  for (const id of ids) {
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  }
}
