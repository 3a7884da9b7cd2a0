/**
 * `synapse-orchestrator demo` (what `npm run demo` runs after installing what is missing): a sample
 * challenge on the embedded local platform, evaluated by the production orchestrator in real containers.
 * Exit status 0 when every demo submission ended as the demo expects.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { runDemo } from '../local-challenge/demo.js';
import { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { withInterrupt } from './interrupt.js';
import { DEFAULT_LOCAL_PLATFORM_PORT } from './local-platform.js';

export const DEFAULT_DEMO_DIR = join(homedir(), '.synapse-orchestrator', 'demo');

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a sample challenge on the embedded local platform with real containers (npm run demo)')
    .option('--dir <dir>', 'where the demo keeps its platform data, logs and messages', DEFAULT_DEMO_DIR)
    .option('--port <port>', 'port of the local platform', String(DEFAULT_LOCAL_PLATFORM_PORT))
    .option('--keep-running', 'leave the platform and the orchestrator up afterwards, to submit more')
    .action(async (options: { dir: string; port: string; keepRunning?: boolean }) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        process.stderr.write(`--port must be a port number, not ${options.port}\n`);
        process.exitCode = EXIT_BAD_CONFIG;
        return;
      }
      const ok = await withInterrupt((signal) =>
        runDemo({
          dir: options.dir,
          port,
          keepRunning: options.keepRunning === true,
          out: process.stdout,
          signal,
        }),
      );
      process.exitCode = ok ? EXIT_OK : EXIT_FAILURE;
    });
}
