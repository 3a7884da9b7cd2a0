/** `synapse-orchestrator demo`: placeholder until it is written (issue 6). */
import type { Command } from 'commander';

export function registerDemoCommand(_program: Command): void {
  // not written yet
}
