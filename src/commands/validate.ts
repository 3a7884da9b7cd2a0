/**
 * `synapse-orchestrator validate`: loads the configuration and prints what it means, or every problem in
 * it (exit status 2).
 */
import type { Command } from 'commander';
import { ConfigError, configAsJson, describeConfig, loadConfig } from '../config/index.js';
import { EXIT_BAD_CONFIG, EXIT_OK } from './exit-codes.js';

interface ValidateOptions {
  envFile?: string;
  json?: boolean;
}

function validateConfiguration(options: ValidateOptions): number {
  try {
    const loaded = loadConfig({ envFile: options.envFile, envFileMustExist: options.envFile !== undefined });
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

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('load the configuration and print what it means, or every problem in it (exit status 2)')
    .option('--json', 'print the result as JSON on stdout')
    .action((options: { json?: boolean }) => {
      process.exitCode = validateConfiguration({ ...program.opts<{ envFile?: string }>(), ...options });
    });
}
