#!/usr/bin/env -S node --
/**
 * The `synapse-orchestrator` command: one file per subcommand under commands/; exit statuses in
 * commands/exit-codes.ts (0 success, 1 a "no" or a failure, 2 the configuration needs fixing).
 *
 * The `--` in the line above matters: Node 20 claims `--env-file` for itself wherever it appears on the
 * command line, even after the script name, unless `--` ends Node's own options first.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerDemoCommand } from './commands/demo.js';
import { registerDrainCommand } from './commands/drain.js';
import { drainOutput } from './commands/drain-output.js';
import { registerHealthCommand } from './commands/health.js';
import { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './commands/exit-codes.js';
import { registerLocalPlatformCommands } from './commands/local-platform.js';
import { registerRunCommand } from './commands/run.js';
import { registerSetupCommand } from './commands/setup.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerTryCommand } from './commands/try.js';
import { registerValidateCommand } from './commands/validate.js';
import { ConfigError } from './config/config-error.js';
import { redactText } from './logging/redact.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('synapse-orchestrator')
    .description(
      "Runs the evaluation side of Synapse challenges: polls evaluation queues, runs each submission's " +
        'workflow in containers, uploads logs, sets the final status and tells participants.',
    )
    .version(version, '-v, --version', 'print the version')
    .option('--env-file <path>', 'read settings from this file (default: .env in the working directory)')
    .showHelpAfterError()
    // Command-line mistakes (a missing option, an unknown one) exit 2 like every other "fix this" error.
    .exitOverride()
    .action(() => {
      program.help({ error: true });
    });

  registerValidateCommand(program);
  registerRunCommand(program);
  registerDrainCommand(program);
  registerHealthCommand(program);
  registerStatusCommand(program);
  registerTryCommand(program);
  registerDemoCommand(program);
  registerSetupCommand(program);
  registerSubmitCommand(program);
  registerLocalPlatformCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (or the help, or the version).
    process.exitCode = error.exitCode === 0 ? EXIT_OK : EXIT_BAD_CONFIG;
  } else {
    process.stderr.write(
      `synapse-orchestrator: ${redactText(error instanceof Error ? error.message : String(error))}\n`,
    );
    // A configuration to fix exits 2 from every command, as `validate` does.
    process.exitCode = error instanceof ConfigError ? EXIT_BAD_CONFIG : EXIT_FAILURE;
  }
}
// The command is done (a daemon has shut down, a demo has printed its summary): leave now rather than wait
// for work it deliberately left behind, e.g. a message retrying against a platform that is gone. Anything cut
// short is redone by the next start. What it printed is delivered first: a pipe takes 64 KiB at a time.
await drainOutput();
process.exit(process.exitCode ?? EXIT_OK);
