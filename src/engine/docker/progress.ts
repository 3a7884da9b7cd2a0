/**
 * The workflow's progress, as SWO read it: /progress.txt in the engine container, read by `cat` through
 * docker exec (bounded in time and size) and parsed leniently.
 */
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';

const PROGRESS_TIMEOUT_MS = 15_000;
/** More than enough for a number; a runaway /progress.txt is cut here instead of read whole. */
const PROGRESS_OUTPUT_CAP = 64 * 1024;

/**
 * /progress.txt as SWO read it: drop STDOUT:/STDERR: markers, trim, keep 5 characters, parse, clamp to
 * [0, 100]. Anything that is not a number gives undefined.
 */
export function parseProgress(text: string): number | undefined {
  const value = Number.parseFloat(
    text
      .replace(/STDOUT:|STDERR:/g, '')
      .trim()
      .slice(0, 5),
  );
  if (Number.isNaN(value)) return undefined;
  return Math.min(100, Math.max(0, value));
}

/** /progress.txt of the container, parsed; undefined when it cannot be read or holds no number. */
export async function readProgress(docker: Dockerode, name: string): Promise<number | undefined> {
  const output = await execOutput(docker, name, ['cat', '/progress.txt']);
  return output === undefined ? undefined : parseProgress(output);
}

/** stdout of a command run in the container, or undefined when it fails or takes too long. */
async function execOutput(docker: Dockerode, name: string, command: string[]): Promise<string | undefined> {
  const exec = await docker.getContainer(name).exec({
    Cmd: command,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: Buffer[] = [];
  let size = 0;
  stdout.on('data', (chunk: Buffer) => {
    if (size < PROGRESS_OUTPUT_CAP) chunks.push(chunk);
    size += chunk.length;
    if (size >= PROGRESS_OUTPUT_CAP) stream.destroy();
  });
  stderr.resume();
  docker.modem.demuxStream(stream, stdout, stderr);
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      stream.destroy();
      resolve(false);
    }, PROGRESS_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
  if (!finished) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if (size >= PROGRESS_OUTPUT_CAP) return text;
  const inspected = await exec.inspect();
  return inspected.ExitCode === 0 ? text : undefined;
}
