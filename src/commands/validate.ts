/**
 * `synapse-orchestrator validate`: checks, against the configured Synapse and Docker engine, that the
 * orchestrator would work (the token, each queue's rights, the output folder, each template and its
 * workflow's inputs, the engine, its image, the shared job directory), without running a submission and
 * without changing anything on Synapse. Exit status 0 when every check passes (warnings allowed), 1 when
 * one fails, 2 when the configuration itself is invalid.
 *
 * `validate --offline` only loads the configuration and prints what it means, or every problem in it.
 */
import type { Command } from 'commander';
import { ConfigError, configAsJson, describeConfig, loadConfig, type LoadedConfig } from '../config/index.js';
import { redactText } from '../logging/redact.js';
import { runPreflight } from '../preflight/preflight.js';
import { allPassed, formatText, toJson } from '../preflight/report.js';
import { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.js';

interface ValidateOptions {
  envFile?: string;
  json?: boolean;
  offline?: boolean;
}

/** The configuration, or the exit status after reporting its problems (today's output, unchanged). */
function load(options: ValidateOptions): LoadedConfig | number {
  try {
    return loadConfig({ envFile: options.envFile, envFileMustExist: options.envFile !== undefined });
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

function validateOffline(loaded: LoadedConfig, options: ValidateOptions): number {
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ ok: true, ...(configAsJson(loaded) as object) }, null, 2)}\n`);
  } else {
    process.stdout.write(`Configuration is valid.\n\n${describeConfig(loaded)}\n`);
  }
  return EXIT_OK;
}

async function validateOnline(loaded: LoadedConfig, options: ValidateOptions): Promise<number> {
  const checks = await runPreflight(loaded);
  // Details quote Synapse, Docker and registries; make sure no secret went through.
  const clean = checks.map((check) => ({
    ...check,
    detail: redactText(check.detail),
    ...(check.fix === undefined ? {} : { fix: redactText(check.fix) }),
  }));
  const text = options.json === true ? JSON.stringify(toJson(clean), null, 2) : formatText(clean);
  await new Promise<void>((resolve) =>
    process.stdout.write(`${text}\n`, () => {
      resolve();
    }),
  );
  return allPassed(clean) ? EXIT_OK : EXIT_FAILURE;
}

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description(
      'check against the configured Synapse and Docker engine that the orchestrator would work, changing ' +
        'nothing (exit 1 when a check fails, 2 when the configuration is invalid)',
    )
    .option('--json', 'print the result as JSON on stdout')
    .option('--offline', 'only check the configuration and print what it means (no Synapse, no Docker)')
    .action(async (options: { json?: boolean; offline?: boolean }) => {
      const all: ValidateOptions = { ...program.opts<{ envFile?: string }>(), ...options };
      const loaded = load(all);
      if (typeof loaded === 'number') {
        process.exitCode = loaded;
        return;
      }
      if (all.offline === true) {
        process.exitCode = validateOffline(loaded, all);
        return;
      }
      // A check left running past its time bound does not keep the process alive: cli.ts exits once the
      // report has drained.
      process.exitCode = await validateOnline(loaded, all);
    });
}
