/** `synapse-orchestrator try`: placeholder until it is written (issue 6). */
import type { Command } from 'commander';

export function registerTryCommand(_program: Command): void {
  // not written yet
}
