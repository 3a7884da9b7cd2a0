/**
 * The command the engine container runs (Docker mode). SWO's (swo-spec §2.4 step 5) for toil-cwl-runner;
 * the cwltool equivalent keeps every temporary and output path inside the job directory (the same-path rule).
 */
import { join } from 'node:path';
import type { EngineCommand } from '../../config/config.js';
import type { RunRequest } from '../interfaces.js';

export function engineCommand(
  runner: EngineCommand,
  options: readonly string[],
  request: Pick<RunRequest, 'hostDir' | 'templateDir' | 'rootTemplate' | 'jobFile'>,
): string[] {
  const workflow = join(request.hostDir, request.templateDir, request.rootTemplate);
  const jobFile = join(request.hostDir, request.jobFile);
  if (runner === 'cwltool') {
    const tmp = `${join(request.hostDir, 'tmp')}/`;
    return [
      'cwltool',
      ...options,
      '--tmpdir-prefix',
      tmp,
      '--tmp-outdir-prefix',
      tmp,
      '--outdir',
      join(request.hostDir, 'outputs'),
      workflow,
      jobFile,
    ];
  }
  return ['toil-cwl-runner', ...options, '--workDir', request.hostDir, '--noLinkImports', workflow, jobFile];
}
