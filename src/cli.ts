#!/usr/bin/env -S node --
/**
 * The `synapse-orchestrator` command. Each subcommand is small and lives here until it grows a file of
 * its own; exit status 0 means success, 2 means the configuration (or the command line) needs fixing.
 *
 * The `--` in the line above matters: Node 20 claims `--env-file` for itself wherever it appears on the
 * command line, even after the script name, unless `--` ends Node's own options first.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { ConfigError, configAsJson, describeConfig, loadConfig } from './config/index.js';
import { registerLocalPlatformCommands } from './commands/local-platform.js';
import { registerRunCommand } from './commands/run.js';
import { redactText } from './logging/redact.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_CONFIG = 2;

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

interface GlobalOptions {
  envFile?: string;
}

function loadFromOptions(options: GlobalOptions) {
  return loadConfig({ envFile: options.envFile, envFileMustExist: options.envFile !== undefined });
}

function validate(options: GlobalOptions & { json?: boolean }): number {
  try {
    const loaded = loadFromOptions(options);
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ ok: true, ...(configAsJson(loaded) as object) }, null, 2)}\n`);
    } else {
      process.stdout.write(`Configuration is valid.\n\n${describeConfig(loaded)}\n`);
    }
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify({ ok: false, problems: error.problems }, null, 2)}\n`);
    } else {
      process.stderr.write(`${error.message}\n`);
    }
    return EXIT_BAD_CONFIG;
  }
}

export function buildProgram(): Command {
  const program = new Command('synapse-orchestrator')
    .description(
      "Runs the evaluation side of Synapse challenges: polls evaluation queues, runs each submission's " +
        'workflow in containers, uploads logs, sets the final status and tells participants.',
    )
    .version(version, '-v, --version', 'print the version')
    .option('--env-file <path>', 'read settings from this file (default: .env in the working directory)')
    .showHelpAfterError()
    .action(() => {
      program.help({ error: true });
    });

  program
    .command('validate')
    .description('load the configuration and print what it means, or every problem in it (exit status 2)')
    .option('--json', 'print the result as JSON on stdout')
    .action((options: { json?: boolean }) => {
      process.exitCode = validate({ ...program.opts<GlobalOptions>(), ...options });
    });

  registerRunCommand(program);
  registerLocalPlatformCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.stderr.write(
    `synapse-orchestrator: ${redactText(error instanceof Error ? error.message : String(error))}\n`,
  );
  process.exitCode = EXIT_FAILURE;
}
