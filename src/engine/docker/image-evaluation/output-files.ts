/**
 * The job directory's side of a Docker-image evaluation: the directories the sandboxed containers may
 * write, how much they wrote, and which files go to the submission's folders.
 */
import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import type { ImageEvaluation } from '../../../templates/evaluation-file.js';
import type { RunResults } from '../../interfaces.js';

/** The files the evaluation file's `uploads` name, that exist (patterns: * within a name). */
export async function uploadsOf(
  localDir: string,
  evaluation: ImageEvaluation,
): Promise<RunResults['uploads']> {
  const all = (await filesUnder(localDir, ['output', 'scoring'])).map((path) =>
    relative(localDir, path).split(sep).join(posix.sep),
  );
  const pick = (patterns: string[]) =>
    all
      .filter((file) => patterns.some((pattern) => globMatch(pattern, file)))
      .map((file) => join(localDir, file));
  return { locked: pick(evaluation.uploads.locked), shared: pick(evaluation.uploads.shared) };
}

function globMatch(pattern: string, file: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return regex.test(file);
}

async function filesUnder(root: string, dirs: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      // Synapse stores no empty file: those are not uploaded.
      else if (entry.isFile() && (await lstat(path)).size > 0) files.push(path);
    }
  };
  for (const dir of dirs) await walk(join(root, dir));
  return files;
}

export async function sizeOf(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      const info = await lstat(child);
      if (entry.isDirectory()) await walk(child);
      else {
        files += 1;
        bytes += info.size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** A directory the sandbox user can write: its own (as root), else open to all. */
export async function sandboxWritable(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  try {
    await chown(dir, 65534, 65534);
    await chmod(dir, 0o755);
  } catch {
    await chmod(dir, 0o777);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
