/**
 * The write journal: when each submission status and each entity was written, as the platform stored it.
 * Synapse keeps only the current status (its `modifiedOn`) and, for files, one `modifiedOn` per version;
 * the journal keeps every write, so a test can tell the order in which a final log and a final status
 * arrived, or that a status was written final twice.
 *
 * It lives in memory only (GET /__local/journal): a restarted platform starts a new one.
 */
import type { PlatformState, StoredStatus } from './state.js';

/** A status as it was stored by one write (a PUT, a batch, a cancel request, an admin edit). */
export interface StatusWrite {
  /** When the platform stored it (ISO 8601, milliseconds). */
  at: string;
  status: StoredStatus;
}

/** An entity as it was after one write (creation, update, new version). */
export interface EntityWrite {
  at: string;
  id: string;
  name: string;
  parentId?: string;
  concreteType: string;
  etag: string;
  versionNumber?: number;
  dataFileHandleId?: string;
}

export interface Journal {
  statuses: StatusWrite[];
  entities: EntityWrite[];
}

export class WriteJournal {
  private readonly statuses: StatusWrite[] = [];
  private readonly entities: EntityWrite[] = [];
  private readonly statusEtags = new Map<string, string>();
  private readonly entityEtags = new Map<string, string>();

  /** Records every status and entity whose etag changed since the last look (the store calls this). */
  observe(state: PlatformState): void {
    const at = new Date().toISOString();
    for (const status of Object.values(state.statuses)) {
      if (this.statusEtags.get(status.id) === status.etag) continue;
      this.statusEtags.set(status.id, status.etag);
      this.statuses.push({ at, status: structuredClone(status) });
    }
    for (const entity of Object.values(state.entities)) {
      if (this.entityEtags.get(entity.id) === entity.etag) continue;
      this.entityEtags.set(entity.id, entity.etag);
      this.entities.push({
        at,
        id: entity.id,
        name: entity.name,
        concreteType: entity.concreteType,
        etag: entity.etag,
        ...(entity.parentId === undefined ? {} : { parentId: entity.parentId }),
        ...(entity.versionNumber === undefined ? {} : { versionNumber: entity.versionNumber }),
        ...(entity.dataFileHandleId === undefined ? {} : { dataFileHandleId: entity.dataFileHandleId }),
      });
    }
  }

  read(): Journal {
    return { statuses: [...this.statuses], entities: [...this.entities] };
  }
}
