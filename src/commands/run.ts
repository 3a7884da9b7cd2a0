/**
 * `synapse-orchestrator run`: the daemon. `--once` runs a single tick and exits (for cron-style use and
 * for checking a configuration end to end).
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { Daemon } from '../daemon.js';
import { boundOutputDrain } from './drain-output.js';
import { createLogger } from '../logging/logger.js';
import { createRuntime } from '../runtime.js';

interface RunOptions {
  once?: boolean;
}

async function run(envFile: string | undefined, options: RunOptions): Promise<void> {
  const { config, warnings } = loadConfig({ envFile, envFileMustExist: envFile !== undefined });
  const logger = createLogger({ level: config.logging.level, format: config.logging.format });
  for (const warning of warnings) logger.warn(warning.message, { variable: warning.variable });
  const runtime = await createRuntime(config, logger);
  logger.info('Configuration loaded', {
    orchestratorId: config.orchestratorId,
    queues: config.queues.map((q) => q.evaluationId),
    maxConcurrent: config.workflow.maxConcurrent,
    engineImage: config.workflow.engineImage,
    command: config.workflow.command,
  });
  const daemon = new Daemon(runtime.orchestrator, {
    pollIntervalSeconds: config.intake.pollIntervalSeconds,
    logger,
  });
  if (options.once === true) {
    await daemon.tickNow();
    await runtime.orchestrator.settle();
    runtime.orchestrator.shutdown();
    return;
  }
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info('Shutdown signal received; finishing the current tick', { signal });
      void daemon.stop().then(async () => {
        // Updates a tick left running (a final message, a stop) get a moment; the next start redoes any cut short.
        await runtime.orchestrator.settle(30_000);
        runtime.orchestrator.shutdown();
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    daemon.start();
  });
}

/** How long `run` waits, once stopped, for its last log lines to reach a slow reader. */
const RUN_OUTPUT_DRAIN_MS = 5_000;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'poll the configured queues and run each submission’s workflow until stopped (SIGTERM/SIGINT)',
    )
    .option('--once', 'run one tick (start what can start, update running jobs) and exit')
    .action(async (options: RunOptions) => {
      // A stalled reader of the daemon's log (a full pipe) must not keep it from stopping when told to.
      boundOutputDrain(RUN_OUTPUT_DRAIN_MS);
      await run(program.opts<{ envFile?: string }>().envFile, options);
    });
}
