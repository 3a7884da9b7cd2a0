/** `synapse-orchestrator setup`: placeholder until it is written (issue 6). */
import type { Command } from 'commander';

export function registerSetupCommand(_program: Command): void {
  // not written yet
}
