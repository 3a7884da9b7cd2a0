/**
 * Packs a template directory into a zip in memory (templates are small), keeping file modes. Hidden
 * entries (.git, .env…) and node_modules are left out: `try --template .` in a template's repository must
 * not carry its history or an organizer's secrets into the archive. Times are the files' own, so the same
 * tree gives the same bytes.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import yazl from 'yazl';

export async function zipDirectory(dir: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(current, entry.name);
      const name = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        zip.addEmptyDirectory(name, { mtime: (await stat(path)).mtime });
        await walk(path);
      } else if (entry.isFile()) {
        const info = await stat(path);
        zip.addBuffer(await readFile(path), name, { mode: info.mode, mtime: info.mtime });
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
