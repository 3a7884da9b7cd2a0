/**
 * `synapse-orchestrator health`: asks the running daemon's status server whether its loop ticks
 * (GET /healthz) and exits 0 when it does, 1 otherwise, printing one line. It is the image's
 * HEALTHCHECK (`node /app/dist/cli.js health`), so it finishes within about 3 s whatever happens, and
 * only ever exits 0 or 1 (Docker reserves 2).
 */
import type { Command } from 'commander';
import { redactText } from '../logging/redact.js';
import { getJson, statusTarget } from '../status/client.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';

interface HealthOptions {
  url?: string;
  timeout: string;
}

interface HealthBody {
  status?: string;
  state?: string;
  reason?: string;
  orchestratorId?: string;
  draining?: string;
  lastGoodTickAgeSeconds?: number;
}

export async function checkHealth(
  envFile: string | undefined,
  options: HealthOptions,
): Promise<{ ok: boolean; line: string }> {
  let target;
  try {
    target = statusTarget(envFile, options.url);
  } catch (error) {
    return { ok: false, line: `unknown: ${(error as Error).message}` };
  }
  if (target.off) {
    return {
      ok: false,
      line: 'unknown: the status server is off (STATUS_PORT=0), so there is nothing to ask',
    };
  }
  const url = `${target.baseUrl}/healthz`;
  try {
    const { status, body } = await getJson(url, Math.max(100, Number(options.timeout) * 1000 || 1_500));
    const health = (typeof body === 'object' && body !== null ? body : {}) as HealthBody;
    const who = health.orchestratorId === undefined ? '' : ` (${health.orchestratorId})`;
    if (status === 200) {
      const age =
        health.lastGoodTickAgeSeconds === undefined
          ? ''
          : `, last tick ${health.lastGoodTickAgeSeconds} s ago`;
      const draining = health.draining === undefined ? '' : `, draining (${health.draining})`;
      return { ok: true, line: `healthy${who}: ${health.state ?? 'ok'}${age}${draining}` };
    }
    return {
      ok: false,
      line: `unhealthy${who}: ${health.reason ?? `${url} answered HTTP ${status}`}`,
    };
  } catch (error) {
    return {
      ok: false,
      line: `unreachable: no answer from ${url} (${target.origin}): ${(error as Error).message}`,
    };
  }
}

export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description(
      "ask the running orchestrator whether its loop ticks (GET /healthz); exit 0 when healthy, 1 otherwise (the image's HEALTHCHECK)",
    )
    .option('--url <url>', 'the status server to ask (default: from STATUS_PORT and STATUS_BIND_ADDRESS)')
    .option('--timeout <seconds>', 'give up after this long', '1.5')
    .action(async (options: HealthOptions) => {
      const result = await checkHealth(program.opts<{ envFile?: string }>().envFile, options);
      process.stdout.write(`${redactText(result.line)}\n`);
      process.exitCode = result.ok ? EXIT_OK : EXIT_FAILURE;
    });
}
