/**
 * Output folders (swo-spec §2.7): `<root>/<submitter>/<submission>` which the submitter can read and
 * download, and `<root>/<submitter>_LOCKED/<submission>` which the submitter can see but not download.
 *
 * A submitter's two folders are found (or created) and their ACLs made right once per process; after that
 * they come from memory. ACLs are compared with the configuration and corrected when they drifted (SWO
 * only wrote them when the folder was new).
 */
import { isSynapseError } from '../synapse/errors.js';
import type { SynapseClient } from '../synapse/client.js';
import { CONCRETE, ENTITY_ADMIN_ACCESS, type ResourceAccess } from '../synapse/types.js';

export interface SubmissionFolders {
  /** submitterUploadSynId: the submitter can download from it. */
  shared: string;
  /** adminUploadSynId: the submitter can only see it. */
  locked: string;
}

export interface OutputFolderOptions {
  rootId: string;
  /** The orchestrator's own principal (it keeps full control of what it creates). */
  ownPrincipalId: () => Promise<string>;
  dataUnlockPrincipalId: string | undefined;
}

/** SWO's rule for the submission folder's name. */
export const submissionFolderName = (submissionId: string): string =>
  submissionId.replace(/[^a-zA-Z0-9.-]/g, '_');

export class OutputFolders {
  private readonly submitters = new Map<string, Promise<SubmissionFolders>>();

  constructor(
    private readonly client: SynapseClient,
    private readonly options: OutputFolderOptions,
  ) {}

  /** Both folders of a submission, created when missing. */
  async forSubmission(submitterId: string, submissionId: string): Promise<SubmissionFolders> {
    const parents = await this.forSubmitter(submitterId);
    const name = submissionFolderName(submissionId);
    const [shared, locked] = await Promise.all([
      this.createOrFind(parents.shared, name),
      this.createOrFind(parents.locked, name),
    ]);
    return { shared, locked };
  }

  /** The submitter's two folders; one lookup per process, repeated only after a failure. */
  forSubmitter(submitterId: string): Promise<SubmissionFolders> {
    let pending = this.submitters.get(submitterId);
    if (pending === undefined) {
      pending = this.prepareSubmitter(submitterId);
      pending.catch(() => this.submitters.delete(submitterId));
      this.submitters.set(submitterId, pending);
    }
    return pending;
  }

  private async prepareSubmitter(submitterId: string): Promise<SubmissionFolders> {
    const own = Number(await this.options.ownPrincipalId());
    const submitter = Number(submitterId);
    const admin: ResourceAccess = { principalId: own, accessType: [...ENTITY_ADMIN_ACCESS] };
    const unlock = this.options.dataUnlockPrincipalId;
    const [shared, locked] = await Promise.all([
      this.client.entities.getOrCreateFolder(this.options.rootId, submitterId),
      this.client.entities.getOrCreateFolder(this.options.rootId, `${submitterId}_LOCKED`),
    ]);
    await Promise.all([
      this.client.acl.ensure(shared, [admin, { principalId: submitter, accessType: ['READ', 'DOWNLOAD'] }]),
      this.client.acl.ensure(locked, [
        admin,
        { principalId: submitter, accessType: ['READ'] },
        ...(unlock === undefined
          ? []
          : [{ principalId: Number(unlock), accessType: ['READ', 'CREATE', 'UPDATE'] } as ResourceAccess]),
      ]),
    ]);
    return { shared, locked };
  }

  /** A submission's folder is nearly always new: create first, look up only when the name is taken. */
  private async createOrFind(parentId: string, name: string): Promise<string> {
    try {
      return (await this.client.entities.create({ name, parentId, concreteType: CONCRETE.folder })).id;
    } catch (error) {
      if (!isSynapseError(error, 409)) throw error;
      const existing = await this.client.entities.lookupChild(parentId, name);
      if (existing === undefined) throw error;
      return existing;
    }
  }
}
