import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist', 'cli.js');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** Where ./scripts/test collects the e2e output for the secret scan. */
export const E2E_OUTPUT_DIR = process.env.E2E_OUTPUT_DIR ?? join(REPO_ROOT, 'test-output');
/** Everything the product printed during the e2e run (stdout and stderr of every command). */
export const PRODUCT_OUTPUT_LOG = join(E2E_OUTPUT_DIR, 'e2e-product-output.log');
/** What the e2e runner printed; written by ./scripts/test. */
export const RUNNER_OUTPUT_LOG = join(E2E_OUTPUT_DIR, 'e2e-runner.log');
