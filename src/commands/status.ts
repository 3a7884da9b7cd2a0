/**
 * `synapse-orchestrator status`: what the running instance configured here is doing (GET /status.json on
 * its status server): the evaluations it runs, whether it is draining, what waits in each queue.
 * `--json` prints the report as the server gave it. Exit 0 when the instance answered, 1 when it did not
 * (the message names the URL and STATUS_PORT).
 */
import type { Command } from 'commander';
import { redactText } from '../logging/redact.js';
import { getJson, statusTarget } from '../status/client.js';
import type { StatusReport } from '../status/report.js';
import { formatStatusText } from '../status/status-text.js';
import { EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK } from './exit-codes.js';
import { ConfigError } from '../config/config-error.js';

interface StatusOptions {
  url?: string;
  json?: boolean;
  timeout: string;
}

function isReport(body: unknown): body is StatusReport {
  return (
    typeof body === 'object' &&
    body !== null &&
    Array.isArray((body as StatusReport).running) &&
    Array.isArray((body as StatusReport).queues)
  );
}

export async function showStatus(
  envFile: string | undefined,
  options: StatusOptions,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const fail = (message: string, exitCode = EXIT_FAILURE, url?: string) =>
    options.json === true
      ? {
          exitCode,
          stdout: `${JSON.stringify({ ok: false, error: message, ...(url === undefined ? {} : { url }) }, null, 2)}\n`,
          stderr: '',
        }
      : { exitCode, stdout: '', stderr: `synapse-orchestrator status: ${message}\n` };
  let target;
  try {
    target = statusTarget(envFile, options.url);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, EXIT_BAD_CONFIG);
    throw error;
  }
  if (target.off) {
    return fail(
      'the status server is off (STATUS_PORT=0): set STATUS_PORT for the instance (and here), or pass --url',
      EXIT_BAD_CONFIG,
    );
  }
  const url = `${target.baseUrl}/status.json`;
  let answer;
  try {
    answer = await getJson(url, Math.max(100, Number(options.timeout) * 1000 || 5_000));
  } catch (error) {
    return fail(
      `the orchestrator does not answer at ${url} (${target.origin}): ${(error as Error).message}. ` +
        'Is it running, with this .env? (`docker compose ps`; a server in a container must listen on 0.0.0.0 with its port published.)',
      EXIT_FAILURE,
      url,
    );
  }
  if (answer.status !== 200 || !isReport(answer.body)) {
    return fail(
      `${url} (${target.origin}) answered HTTP ${answer.status} without a status report: is that port an orchestrator's?`,
      EXIT_FAILURE,
      url,
    );
  }
  return {
    exitCode: EXIT_OK,
    stdout:
      options.json === true
        ? `${JSON.stringify(answer.body, null, 2)}\n`
        : formatStatusText(answer.body, target.baseUrl),
    stderr: '',
  };
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show what the running orchestrator is doing: its running evaluations, whether it drains, what waits in each queue',
    )
    .option('--json', 'print the report as JSON')
    .option('--url <url>', 'the status server to ask (default: from STATUS_PORT and STATUS_BIND_ADDRESS)')
    .option('--timeout <seconds>', 'give up after this long', '5')
    .action(async (options: StatusOptions) => {
      const result = await showStatus(program.opts<{ envFile?: string }>().envFile, options);
      process.stdout.write(redactText(result.stdout));
      process.stderr.write(redactText(result.stderr));
      process.exitCode = result.exitCode;
    });
}
