/** `synapse-orchestrator submit`: placeholder until it is written (issue 6). */
import type { Command } from 'commander';

export function registerSubmitCommand(_program: Command): void {
  // not written yet
}
