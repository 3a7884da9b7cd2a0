/**
 * The chaos suite (issue 12): `npm run chaos` (full), `npx tsx test/chaos/run.ts --short` (in
 * ./scripts/test). Real `synapse-orchestrator run` processes, the local platform and the Docker engine,
 * through faults, SIGKILLs and an engine restart; then issue 12's checks, printed as a table and written
 * to `test-output/chaos-<seed>.json`. Exit code 0 only when every check of every run holds.
 *
 * Needs the built CLI (dist/cli.js), a Docker engine and the image local/cwl-engine:2. Without an engine
 * it skips (exit 0) on a developer's machine and fails with CI=true.
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { CLI } from '../support/paths.js';
import { chaosRun } from './chaos-run.js';
import { ENGINE_IMAGE } from './instances.js';
import { parseOptions } from './options.js';

async function engineAnswers(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const docker = new Docker();
  if (!(await engineAnswers(docker))) {
    if (process.env.CI === 'true') {
      console.error('chaos: no Docker engine answers on /var/run/docker.sock, and CI=true: failing.');
      return 1;
    }
    console.log('chaos: skipped, no Docker engine (it fails instead when CI=true).');
    return 0;
  }
  if (!existsSync(CLI)) {
    console.error(`chaos: ${CLI} is missing; run npm run -s build first.`);
    return 1;
  }
  try {
    await docker.getImage(ENGINE_IMAGE).inspect();
  } catch {
    console.error(`chaos: the image ${ENGINE_IMAGE} is missing; run ./scripts/build-engine-images.sh.`);
    return 1;
  }
  const results = [];
  for (let run = 0; run < options.runs; run++) {
    const result = await chaosRun(options.profile, options.seed + run);
    results.push(result);
  }
  if (options.runs > 1) {
    console.log(
      `chaos: ${results.filter((r) => r.passed).length} of ${results.length} runs passed (seeds ${options.seed}–${options.seed + options.runs - 1})`,
    );
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('chaos: the harness failed:', error);
    process.exit(1);
  },
);
