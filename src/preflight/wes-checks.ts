/**
 * The engine checks of WES mode: the server answers and runs CWL, and the shared directory (where each
 * run's job directory and credentials file go) can be written with a file only its owner reads.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WesEngineSettings } from '../config/config.js';
import type { WesEngine } from '../engine/wes/engine.js';
import { ok, problem, warning, type CheckResult } from './report.js';

export const WES_SERVER_CHECK = 'WES server';
export const SHARED_DIR_CHECK = 'Shared directory';

export async function checkWesServer(engine: WesEngine, settings: WesEngineSettings): Promise<CheckResult> {
  let info;
  try {
    info = await engine.client.serviceInfo();
  } catch (error) {
    return problem(
      WES_SERVER_CHECK,
      (error as Error).message,
      'Start the WES server, or fix WES_ENDPOINT (it ends with /ga4gh/wes/v1). An orchestrator in a container reaches a server on the same host by its compose service name or the host address, not by localhost.',
    );
  }
  const types = info.workflow_type_versions ?? {};
  const cwlKey = Object.keys(types).find((key) => key.toLowerCase() === 'cwl');
  const engines = Object.entries(info.workflow_engine_versions ?? {})
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const about = engines === '' ? '' : ` (${engines})`;
  if (cwlKey === undefined) {
    return warning(
      WES_SERVER_CHECK,
      `${settings.endpoint} answers${about}, but its service-info lists no CWL among the workflow types it runs (${Object.keys(types).join(', ') || 'none listed'})`,
      'Point WES_ENDPOINT at a WES server that runs CWL workflows (Toil does).',
    );
  }
  const versions = types[cwlKey]?.workflow_type_version ?? [];
  return ok(
    WES_SERVER_CHECK,
    `${settings.endpoint} answers${about}; runs CWL ${versions.join(', ') || '(versions not listed)'}`,
  );
}

export async function checkSharedDirectory(settings: WesEngineSettings): Promise<CheckResult> {
  const jobs = join(settings.sharedDir, 'jobs');
  try {
    const info = await stat(settings.sharedDir);
    if (!info.isDirectory()) {
      return problem(
        SHARED_DIR_CHECK,
        `WES_SHARED_DIR_PROPERTY=${settings.sharedDir} is not a directory`,
        'Set WES_SHARED_DIR_PROPERTY to a directory the WES server sees at the same path.',
      );
    }
  } catch {
    return problem(
      SHARED_DIR_CHECK,
      `WES_SHARED_DIR_PROPERTY=${settings.sharedDir} does not exist`,
      'Create it, shared with the WES server at the same path on both sides (a volume or a network filesystem), or fix WES_SHARED_DIR_PROPERTY.',
    );
  }
  const probe = join(jobs, `.preflight-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(jobs, { recursive: true });
    await writeFile(probe, 'probe\n', { mode: 0o600 });
  } catch (error) {
    return problem(
      SHARED_DIR_CHECK,
      `cannot write in ${jobs}: ${(error as Error).message}`,
      'Give the orchestrator write access to WES_SHARED_DIR_PROPERTY.',
    );
  } finally {
    await rm(probe, { force: true });
  }
  return ok(
    SHARED_DIR_CHECK,
    `${jobs} is writable; each run's job directory and credentials file (mode 0600) go there. The WES server must see it at the same path and read it as the same user.`,
  );
}
