/**
 * Runs once before the e2e tests: builds the CLI they run, checks for a Docker engine, and makes sure a
 * throwaway Synapse token exists for the secret scan (./scripts/test passes one in; a bare vitest run
 * makes its own).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import type { TestProject } from 'vitest/node';
import { E2E_OUTPUT_DIR, PRODUCT_OUTPUT_LOG, REPO_ROOT } from '../support/paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dockerAvailable: boolean;
    dockerRequired: boolean;
    synapseToken: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  // The same build as `npm run build`, which also makes dist/cli.js executable (tests run it directly).
  execFileSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });

  let dockerAvailable = false;
  try {
    await new Docker().ping();
    dockerAvailable = true;
  } catch {
    dockerAvailable = false;
  }
  project.provide('dockerAvailable', dockerAvailable);
  project.provide('dockerRequired', process.env.CI === 'true' || process.env.E2E_DOCKER === 'required');

  const token =
    process.env.E2E_SYNAPSE_TOKEN ??
    `eyJ0eXAiOiJKV1QifQ.${randomBytes(64).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  project.provide('synapseToken', token);

  mkdirSync(E2E_OUTPUT_DIR, { recursive: true });
  writeFileSync(PRODUCT_OUTPUT_LOG, '');
}
