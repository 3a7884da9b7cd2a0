/**
 * Runs a local platform in its own process, so that a benchmark measures only the client's memory. Prints
 * one JSON line on stdout, {url, adminToken, dataDir}, for the parent to read (a pipe, never a log), and
 * stops when its stdin closes or it gets SIGTERM/SIGINT.
 *
 * Usage: npx tsx bench/support/serve-local-platform.ts [dataDir]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPlatform } from '../../src/local-platform/server.js';

const dataDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'bench-platform-'));
const platform = await startLocalPlatform({ dataDir });
process.stdout.write(`${JSON.stringify({ url: platform.url, adminToken: platform.adminToken, dataDir })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await platform.close();
  process.exit(0);
}
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
