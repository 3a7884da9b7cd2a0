/**
 * `synapse-orchestrator try`: runs one evaluation of a template on a throwaway local platform with the
 * same code and configuration as `run`, and says how it ended. Exit status 0 exactly when the submission
 * ends in the stage's success status (ACCEPTED by default).
 */
import type { Command } from 'commander';
import { ORGANIZERS_TEAM, tryTemplate, type TryResult } from '../local-challenge/try-template.js';
import { UsageError } from '../organizer/errors.js';
import { collect, printJson, runCommand, write } from './command-runner.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { withInterrupt } from './interrupt.js';

interface TryCommandOptions {
  template: string;
  root: string;
  submission?: string;
  dockerImage?: string;
  data: string[];
  output?: string;
  timeout: string;
  json?: boolean;
}

function describe(result: TryResult): string {
  const lines = [''];
  for (const [name, id] of Object.entries(result.data)) lines.push(`Data:         ${name} → ${id}`);
  lines.push(
    `Organizers:   team ${result.organizersTeamId} (${ORGANIZERS_TEAM}; the organizer is its member)`,
    `Result:       ${result.status}${result.statusDescription === null ? '' : ` (${result.statusDescription})`}`,
  );
  if (result.unfinished !== undefined)
    lines.push(`              the watch ${result.unfinished} before the submission finished`);
  if (result.failureReason !== null) lines.push(`Reason:       ${result.failureReason}`);
  for (const [key, value] of Object.entries(result.annotations))
    lines.push(`Annotation:   ${key} = ${value}`);
  lines.push(`Logs:         ${result.logsPath ?? '(none: the workflow printed nothing or never started)'}`);
  if (result.messages.length === 0) lines.push('Messages:     none');
  for (const message of result.messages) {
    lines.push(`Message to ${message.to.join(', ')}: ${message.subject}`);
    lines.push(
      ...message.body
        .trimEnd()
        .split('\n')
        .map((line) => `    ${line}`),
    );
  }
  lines.push(`Everything:   ${result.outputDir} (orchestrator log: ${result.orchestratorLog})`);
  return `${lines.join('\n')}\n`;
}

export function registerTryCommand(program: Command): void {
  program
    .command('try')
    .description(
      'run one evaluation of a workflow template on a throwaway local platform, with this configuration (exit 0 when accepted)',
    )
    .requiredOption(
      '--template <dir|archive|URL>',
      'the template: a directory, a zip/tar.gz/tar file, or a URL',
    )
    .requiredOption('--root <path>', 'ROOT_TEMPLATE: the workflow file inside the template')
    .option('--submission <file>', 'the file to submit')
    .option('--docker-image <repository@sha256:digest>', 'a Docker image to submit instead of a file')
    .option(
      '--data <name=file>',
      "upload an organizer's file (a gold standard…) into the trial project first and print its synId under name, for the template's hard-coded id (repeatable)",
      collect,
      [],
    )
    .option(
      '--output <dir>',
      'where to keep the platform data, logs and work directory (default: a new temp dir)',
    )
    .option('--timeout <seconds>', 'give up waiting after this long', '3600')
    .option(
      '--json',
      'print one JSON object (status, statusDescription, failureReason, logsPath, messages, …)',
    )
    .action(async (options: TryCommandOptions) => {
      const json = options.json === true;
      const answer = { succeeded: false };
      const status = await runCommand('try', json, async () => {
        const timeoutSeconds = Number(options.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
          throw new UsageError(`--timeout must be a number of seconds, not ${options.timeout}`);
        }
        const envFile = program.opts<{ envFile?: string }>().envFile;
        const result = await withInterrupt((signal) =>
          tryTemplate({
            template: options.template,
            rootTemplate: options.root,
            ...(options.submission === undefined ? {} : { submission: options.submission }),
            ...(options.dockerImage === undefined ? {} : { dockerImage: options.dockerImage }),
            data: options.data,
            ...(envFile === undefined ? {} : { envFile }),
            ...(options.output === undefined ? {} : { outputDir: options.output }),
            timeoutSeconds,
            ...(json ? {} : { progress: process.stderr }),
            signal,
          }),
        );
        if (json) printJson(result);
        else write(describe(result));
        answer.succeeded = result.succeeded;
      });
      // The command worked; whether the submission was accepted is the answer.
      process.exitCode = status === EXIT_OK && !answer.succeeded ? EXIT_FAILURE : status;
    });
}
