/**
 * A job's directory: where the template, the job file and the credentials file live, and where the
 * engine and its step containers work.
 *
 * SWO's same-path rule: step containers are started by the workflow through the host's Docker socket, so
 * every path handed to them must be a host path, and the engine container sees the job directory at that
 * same path. This process may see it elsewhere (inside the compose container, under /shared), so each
 * directory has a local path (for our own file operations) and a host path (for everything the engine sees).
 */
import { existsSync } from 'node:fs';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Config, SynapseEndpoint } from '../config/config.js';

/** The job directories' parent, as this process and as the Docker host see it. */
export interface JobRoot {
  local: string;
  host: string;
  /** How the host path was found, for logs and `validate`. */
  source: 'configured' | 'compose volume' | 'same as work directory' | 'WES shared directory';
}

/** SWO's workflow inputs (swo-spec §2.4 step 4): exactly these keys and types. */
export interface WorkflowInputs {
  submissionId: string;
  workflowSynapseId: string;
  submitterUploadSynId: string;
  adminUploadSynId: string;
}

export const CREDENTIALS_FILE = '.synapseConfig';
export const JOB_FILE = 'job.yaml';

/**
 * Finds the host path of the work directory: configured, or the compose volume `<project>_shared` when this
 * process runs in a container (SWO's way), or the work directory itself when it runs on the host.
 */
export async function resolveJobRoot(
  config: Config,
  volumeMountpoint: (name: string) => Promise<string | undefined>,
  inContainer = existsSync('/.dockerenv'),
): Promise<JobRoot> {
  if (config.engine.kind === 'wes') {
    // Shared with the WES server at the same path on both sides: the credentials file is read from there.
    // One folder per instance: instances sharing the directory never sweep each other's job directories.
    const shared = join(config.engine.sharedDir, 'jobs', config.orchestratorId);
    return { local: shared, host: shared, source: 'WES shared directory' };
  }
  const local = join(config.workDir, 'jobs');
  if (config.workflow.workDirOnHost !== undefined) {
    return { local, host: join(config.workflow.workDirOnHost, 'jobs'), source: 'configured' };
  }
  if (inContainer && config.composeProjectName !== undefined) {
    const volume = `${config.composeProjectName}_shared`;
    const mountpoint = await volumeMountpoint(volume);
    if (mountpoint === undefined) {
      throw new Error(
        `The orchestrator runs in a container, but the Docker volume ${volume} does not exist, so the host path of the job directories is unknown. ` +
          'Mount that volume at ORCHESTRATOR_WORK_DIR (as the compose file does), or set ORCHESTRATOR_WORK_DIR_ON_HOST.',
      );
    }
    return { local, host: join(mountpoint, 'jobs'), source: 'compose volume' };
  }
  return { local, host: local, source: 'same as work directory' };
}

export class JobDirectory {
  private constructor(
    readonly localPath: string,
    readonly hostPath: string,
  ) {}

  /** Creates the job's directory (empty; an existing one from a crashed attempt is replaced). */
  static async create(root: JobRoot, jobName: string): Promise<JobDirectory> {
    const directory = JobDirectory.of(root, jobName);
    await rm(directory.localPath, { recursive: true, force: true });
    await mkdir(directory.localPath, { recursive: true, mode: 0o755 });
    return directory;
  }

  /** The directory of job `workflow_job.<uuid>`, `<root>/<uuid>` (it may be gone already). */
  static of(root: JobRoot, jobName: string): JobDirectory {
    const name = jobName.replace(/^workflow_job\./, '');
    return new JobDirectory(join(root.local, name), join(root.host, name));
  }

  /** Host path of a file in the job directory (what the engine is given). */
  hostFile(relative: string): string {
    return join(this.hostPath, relative);
  }

  localFile(relative: string): string {
    return join(this.localPath, relative);
  }

  /**
   * SWO's credentials file for the workflow's Synapse client; readable by its owner only. When the
   * orchestrator talks to another Synapse than Sage's (the local platform, a staging stack), an
   * `[endpoints]` section points the workflow at the same one (credentialsFileText).
   */
  async writeCredentials(username: string, token: string, endpoint?: SynapseEndpoint): Promise<void> {
    const path = this.localFile(CREDENTIALS_FILE);
    await writeFile(path, credentialsFileText(username, token, endpoint), { mode: 0o600 });
    await chmod(path, 0o600);
  }

  async removeCredentials(): Promise<void> {
    await rm(this.localFile(CREDENTIALS_FILE), { force: true });
  }

  /**
   * The job file: SWO's keys, submissionId as a YAML integer, synapseConfig as a CWL File. Returns the
   * values written (WES sends them as workflow_params).
   */
  async writeJobFile(inputs: WorkflowInputs): Promise<Record<string, unknown>> {
    const submissionId = /^\d+$/.test(inputs.submissionId)
      ? Number(inputs.submissionId)
      : inputs.submissionId;
    const values = {
      submissionId,
      workflowSynapseId: inputs.workflowSynapseId,
      submitterUploadSynId: inputs.submitterUploadSynId,
      adminUploadSynId: inputs.adminUploadSynId,
      synapseConfig: { class: 'File', path: this.hostFile(CREDENTIALS_FILE) },
    };
    await writeFile(this.localFile(JOB_FILE), stringify(values), { mode: 0o644 });
    return values;
  }

  /**
   * Written once the engine created and started the container. A job whose container is missing and whose
   * directory has no such mark never had a container (the orchestrator stopped between the claim and the
   * launch; one stopped between the creation and this mark left a container, which is found): it goes
   * back to the queue instead of being called lost.
   */
  async markLaunched(): Promise<void> {
    await writeFile(this.localFile(LAUNCH_MARK), `${new Date().toISOString()}\n`, { mode: 0o644 });
  }

  /** Whether the job's container was created and started. */
  async wasLaunched(): Promise<boolean> {
    try {
      await access(this.localFile(LAUNCH_MARK));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Written just before this orchestrator writes the job's final status. A job whose submission is final
   * without this mark was ended by someone else (the workflow itself, an admin); with it, by us.
   */
  async markFinalizing(): Promise<void> {
    await writeFile(this.localFile(FINALIZING_MARK), `${new Date().toISOString()}\n`, { mode: 0o644 });
  }

  async wasFinalizing(): Promise<boolean> {
    try {
      await access(this.localFile(FINALIZING_MARK));
      return true;
    } catch {
      return false;
    }
  }

  async remove(): Promise<void> {
    await rm(this.localPath, { recursive: true, force: true });
  }
}

/** The mark of a job whose final status this orchestrator is writing or wrote. */
const FINALIZING_MARK = '.finalizing';

/** The mark of a job whose container was created and started. */
const LAUNCH_MARK = '.launched';

/**
 * The text of `.synapseConfig`. The `[endpoints]` keys are the four synapseclient reads (its
 * `setEndpoints`); any it does not find default to Sage's production stack, and it sends a GET to each
 * one when a client is made, so `portalEndpoint` (the website; the platform's base URL) is there too:
 * no step reaches synapse.org during a local trial.
 */
export function credentialsFileText(username: string, token: string, endpoint?: SynapseEndpoint): string {
  const lines = ['[authentication]', `username=${username}`, `authtoken=${token}`];
  if (endpoint !== undefined && !endpoint.isSynapseOrg) {
    lines.push(
      '',
      '[endpoints]',
      `repoEndpoint=${endpoint.repoUrl}`,
      `authEndpoint=${endpoint.authUrl}`,
      `fileHandleEndpoint=${endpoint.fileUrl}`,
      `portalEndpoint=${endpoint.baseUrl}/`,
    );
  }
  return `${lines.join('\n')}\n`;
}
