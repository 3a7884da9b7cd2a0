/**
 * Copies a folder tree from the platform to a plain directory, as a participant would see it in the
 * Synapse web site: `<target>/<submitter folder>/<submission folder>/<file>`. Log archives are also
 * unpacked next to themselves so the text can be read directly.
 */
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SynapseClient } from '../synapse/client.js';
import { DEFAULT_TEMPLATE_LIMITS } from '../templates/limits.js';
import { extractArchive } from '../templates/extract.js';

export interface ExportedFile {
  /** Where it is now, on disk. */
  path: string;
  /** The path inside the tree, e.g. `3000002/3000031/3000031_logs.zip`. */
  relativePath: string;
  entityId: string;
}

async function unpackZip(zipPath: string, intoDir: string): Promise<string[]> {
  const scratch = await mkdtemp(join(intoDir, '.unpack-'));
  const target = join(scratch, 'out');
  try {
    await extractArchive(zipPath, 'zip', target, { entityId: zipPath, limits: DEFAULT_TEMPLATE_LIMITS });
    const written: string[] = [];
    for (const name of await readdir(target)) {
      await rename(join(target, name), join(intoDir, name));
      written.push(join(intoDir, name));
    }
    return written;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function exportFolderTree(
  client: SynapseClient,
  rootId: string,
  targetDir: string,
): Promise<ExportedFile[]> {
  const exported: ExportedFile[] = [];
  const walk = async (folderId: string, relative: string): Promise<void> => {
    await mkdir(join(targetDir, relative), { recursive: true });
    for (const child of await client.entities.listChildren(folderId, ['folder', 'file'])) {
      const childRelative = relative === '' ? child.name : `${relative}/${child.name}`;
      if (child.type.endsWith('Folder')) {
        await walk(child.id, childRelative);
        continue;
      }
      const entity = await client.entities.get(child.id);
      if (entity.dataFileHandleId === undefined) continue;
      const { url } = await client.files.getDownloadUrl({
        associateObjectType: 'FileEntity',
        associateObjectId: child.id,
        fileHandleId: entity.dataFileHandleId,
      });
      const path = join(targetDir, childRelative);
      await client.files.downloadToFile(url, path);
      exported.push({ path, relativePath: childRelative, entityId: child.id });
      if (child.name.endsWith('.zip')) {
        for (const unpacked of await unpackZip(path, join(targetDir, relative))) {
          const name = unpacked.slice(join(targetDir, relative).length + 1);
          exported.push({
            path: unpacked,
            relativePath: relative === '' ? name : `${relative}/${name}`,
            entityId: child.id,
          });
        }
      }
    }
  };
  await rm(targetDir, { recursive: true, force: true });
  await walk(rootId, '');
  return exported;
}
