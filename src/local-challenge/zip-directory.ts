/** Packs a template directory into a zip in memory (templates are small), keeping file modes. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import yazl from 'yazl';

export async function zipDirectory(dir: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      const name = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        zip.addEmptyDirectory(name);
        await walk(path);
      } else if (entry.isFile()) {
        zip.addBuffer(await readFile(path), name, { mode: (await stat(path)).mode });
      }
      // Links and other special files are left out: the orchestrator refuses them in templates.
    }
  };
  await walk(dir);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
