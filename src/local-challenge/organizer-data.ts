/**
 * The organizer's own data for a trial (`try --data name=file`): a gold standard, a reference table… that
 * a template reads by a synId it hard-codes, as Sage's templates do. Each file is uploaded as the
 * organizer into a `Data` folder of the trial project, and its synId is handed back under its name, for
 * the organizer to put in the template in place of the real Synapse id.
 *
 * The platform gives out ids from one counter, and `try` seeds a fresh platform in a fixed order with the
 * data before the template, so the same `--data` options get the same synIds on every run, whatever the
 * template or the submission.
 */
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UsageError } from '../organizer/errors.js';
import type { SynapseClient } from '../synapse/client.js';

/** One `--data name=file`, checked. */
export interface DataFile {
  name: string;
  /** Absolute path of a non-empty file. */
  path: string;
}

export const DATA_FOLDER = 'Data';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Checks every `--data name=file` before anything is created; a UsageError names the one to fix. */
export function parseDataOptions(values: readonly string[]): DataFile[] {
  const files: DataFile[] = [];
  for (const value of values) {
    const at = value.indexOf('=');
    if (at < 0) {
      throw new UsageError(
        `--data ${value}: give name=file, a name for the file (what the synId your template hard-codes stands for) and the file to upload (e.g. --data goldstandard=tests/goldstandard.csv).`,
      );
    }
    const name = value.slice(0, at);
    const file = value.slice(at + 1);
    if (!NAME.test(name)) {
      throw new UsageError(
        `--data ${value}: "${name}" is not a usable name; use letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. goldstandard).`,
      );
    }
    if (files.some((earlier) => earlier.name === name)) {
      throw new UsageError(
        `--data ${value}: the name ${name} is given twice; give each --data its own name.`,
      );
    }
    const path = resolve(file);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats === undefined || file === '') {
      throw new UsageError(
        `--data ${value}: ${file === '' ? 'no file given' : `no such file ${file}`} (give name=file).`,
      );
    }
    if (!stats.isFile()) throw new UsageError(`--data ${value}: ${file} is not a file (give name=file).`);
    if (stats.size === 0) {
      throw new UsageError(
        `--data ${value}: ${file} is empty, and Synapse only stores files of at least one byte.`,
      );
    }
    files.push({ name, path });
  }
  return files;
}

/**
 * Uploads each file into `<project>/Data` as a file entity named after its `--data` name (the file handle
 * keeps the file's own name, which is what a download saves it as). Answers name → synId, in the order given.
 */
export async function uploadOrganizerData(
  client: SynapseClient,
  projectId: string,
  files: readonly DataFile[],
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  if (files.length === 0) return ids;
  const folderId = await client.entities.getOrCreateFolder(projectId, DATA_FOLDER);
  for (const file of files) {
    const handle = await client.files.uploadFile(file.path, { fileName: basename(file.path) });
    ids[file.name] = (await client.entities.createOrUpdateFile(folderId, file.name, handle.id)).id;
  }
  return ids;
}
