/**
 * `synapse-orchestrator drain`: tells the instance configured here (the same .env, hence the same work
 * directory) to start nothing new and finish what runs, without a restart; `--resume` undoes it; `--wait`
 * returns once nothing runs any more and every message has gone (then the machine can be taken down).
 * The request is a file in the work directory, so it holds across restarts until resumed.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { readInstanceState, requestDrain, type InstanceState } from '../instance-state.js';
import { EXIT_FAILURE, EXIT_OK } from './exit-codes.js';

interface DrainOptions {
  resume?: boolean;
  wait?: boolean;
  timeout: string;
}

function describe(state: InstanceState | undefined): string {
  if (state === undefined)
    return 'the instance has not written its state yet (is it running with this .env?)';
  const waiting = (state.messages.ready ?? 0) + (state.messages.held ?? 0);
  return (
    `instance ${state.orchestratorId} (pid ${state.pid}) is ${state.state}` +
    `${state.drainReason === undefined ? '' : ` (${state.drainReason})`}: ${state.runningJobs} workflow(s) running, ` +
    `${waiting} message(s) waiting; as of ${state.updatedAt}`
  );
}

export function registerDrainCommand(program: Command): void {
  program
    .command('drain')
    .description('stop starting new submissions and let running ones finish, without a restart')
    .option('--resume', 'take new submissions again')
    .option('--wait', 'return once nothing runs and every message has gone')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1)', '86400')
    .action(async (options: DrainOptions) => {
      const { config } = loadConfig({
        envFile: program.opts<{ envFile?: string }>().envFile,
        envFileMustExist: program.opts<{ envFile?: string }>().envFile !== undefined,
      });
      const workDir = config.workDir;
      await requestDrain(workDir, options.resume !== true);
      const requested = Date.now();
      process.stdout.write(
        options.resume === true
          ? `Asked the orchestrator to take new submissions again (removed the drain request in ${workDir}/state).\n`
          : `Asked the orchestrator to drain (a drain request in ${workDir}/state; \`drain --resume\` undoes it).\n`,
      );
      if (options.resume === true || options.wait !== true) {
        process.stdout.write(`Now: ${describe(await readInstanceState(workDir))}\n`);
        process.exitCode = EXIT_OK;
        return;
      }
      const deadline = requested + Number(options.timeout) * 1000;
      for (;;) {
        const state = await readInstanceState(workDir);
        const fresh = state !== undefined && Date.parse(state.updatedAt) > requested;
        const idle =
          state !== undefined &&
          state.state !== 'running' &&
          state.runningJobs === 0 &&
          (state.messages.ready ?? 0) + (state.messages.held ?? 0) === 0;
        if (state?.state === 'stopped' && !idle) {
          process.stdout.write(
            `The instance stopped before it drained: ${describe(state)}. Start it again; it keeps draining.\n`,
          );
          process.exitCode = EXIT_FAILURE;
          return;
        }
        if ((fresh || state?.state === 'stopped') && idle) {
          process.stdout.write(`Drained: ${describe(state)}\n`);
          process.exitCode = EXIT_OK;
          return;
        }
        if (Date.now() > deadline) {
          process.stdout.write(`Still not drained: ${describe(state)}\n`);
          process.exitCode = EXIT_FAILURE;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    });
}
