/** Runs the built CLI the way an operator would, and records its output for the e2e secret scan. */
import { spawn } from 'node:child_process';
import { appendFileSync, createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { CLI, PRODUCT_OUTPUT_LOG } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Environment for the command; only these variables (plus PATH and HOME) are passed. */
  env?: Record<string, string>;
  cwd?: string;
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  // Executed directly, as an operator's shell would, so the file's #! line is part of what is tested.
  const child = spawn(CLI, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  appendFileSync(
    PRODUCT_OUTPUT_LOG,
    `\n$ synapse-orchestrator ${args.join(' ')}  (exit ${String(status)})\n${stdout}${stderr}`,
  );
  return { status, stdout, stderr };
}

/** A stream for in-process product logs, written where the e2e secret scan reads them. */
export function productLogStream(): Writable {
  mkdirSync(dirname(PRODUCT_OUTPUT_LOG), { recursive: true });
  return createWriteStream(PRODUCT_OUTPUT_LOG, { flags: 'a' });
}
