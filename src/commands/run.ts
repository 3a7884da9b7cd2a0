/**
 * `synapse-orchestrator run`: the daemon. `--once` runs a single tick and exits (for cron-style use and
 * for checking a configuration end to end).
 *
 * SIGTERM and SIGINT stop it within DEFAULT_STOP_GRACE_MS (workflows keep running); SIGUSR2 makes it
 * drain (start nothing new, finish what runs), as `synapse-orchestrator drain` does.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { OrchestratorDaemon } from '../daemon.js';
import { boundOutputDrain } from './drain-output.js';
import { createLogger } from '../logging/logger.js';

interface RunOptions {
  once?: boolean;
}

/** How long `run --once` waits after its tick for updates and messages still on their way. */
const ONCE_SETTLE_MS = 120_000;

async function run(envFile: string | undefined, options: RunOptions): Promise<void> {
  const { config, warnings } = loadConfig({ envFile, envFileMustExist: envFile !== undefined });
  const logger = createLogger({ level: config.logging.level, format: config.logging.format });
  for (const warning of warnings) logger.warn(warning.message, { variable: warning.variable });
  // `--once` is not a service: it serves no status (and cannot collide with the daemon's port).
  const daemon = await OrchestratorDaemon.create(config, logger, { statusServer: options.once !== true });
  logger.info('Configuration loaded', {
    orchestratorId: config.orchestratorId,
    queues: config.queues.map((q) => q.evaluationId),
    maxConcurrent: config.workflow.maxConcurrent,
    engineImage: config.workflow.engineImage,
    command: config.workflow.command,
  });
  if (options.once === true) {
    try {
      await daemon.runOnce();
      daemon.startSending();
      await daemon.settle(ONCE_SETTLE_MS);
    } finally {
      await daemon.dispose();
    }
    return;
  }
  await new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      logger.info('Shutdown signal received; stopping (running workflows continue)', { signal });
      void daemon.stop().then(resolve, (error: unknown) => {
        logger.error('Stopping did not go cleanly', { error: (error as Error).message });
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGUSR2', () => {
      daemon.drain('SIGUSR2');
    });
    daemon.start();
  });
}

/** How long `run` waits, once stopped, for its last log lines to reach a slow reader. */
const RUN_OUTPUT_DRAIN_MS = 1_500;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'poll the configured queues and run each submission’s workflow until stopped (SIGTERM/SIGINT; SIGUSR2 drains)',
    )
    .option('--once', 'run one tick (start what can start, update running jobs) and exit')
    .action(async (options: RunOptions) => {
      // A stalled reader of the daemon's log (a full pipe) must not keep it from stopping when told to.
      boundOutputDrain(RUN_OUTPUT_DRAIN_MS);
      await run(program.opts<{ envFile?: string }>().envFile, options);
    });
}
