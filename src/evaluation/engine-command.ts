/**
 * The command the engine container runs. SWO's (swo-spec §2.4 step 5) for toil-cwl-runner; the cwltool
 * equivalent keeps every temporary and output path inside the job directory (the same-path rule).
 */
import type { EngineCommand } from '../config/config.js';
import type { JobDirectory } from './job-directory.js';
import { JOB_FILE } from './job-directory.js';

export function engineCommand(
  runner: EngineCommand,
  options: readonly string[],
  directory: JobDirectory,
  rootTemplate: string,
): string[] {
  const workflow = directory.hostFile(rootTemplate);
  const jobFile = directory.hostFile(JOB_FILE);
  if (runner === 'cwltool') {
    const tmp = `${directory.hostFile('tmp')}/`;
    return [
      'cwltool',
      ...options,
      '--tmpdir-prefix',
      tmp,
      '--tmp-outdir-prefix',
      tmp,
      '--outdir',
      directory.hostFile('outputs'),
      workflow,
      jobFile,
    ];
  }
  return [
    'toil-cwl-runner',
    ...options,
    '--workDir',
    directory.hostPath,
    '--noLinkImports',
    workflow,
    jobFile,
  ];
}
