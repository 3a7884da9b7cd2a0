/** A stable identity for this host, used to derive a default ORCHESTRATOR_ID. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * The machine id when there is one (the compose file can mount the host's /etc/machine-id, which survives
 * container re-creation), else the host name.
 */
export function readHostIdentity(): string {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id.length > 0) return id;
    } catch {
      // not there: try the next source
    }
  }
  return hostname();
}

/** `<project>-<10 hex chars>`: stable for one host and compose project, different across hosts. */
export function defaultOrchestratorId(hostIdentity: string, composeProjectName: string | undefined): string {
  const digest = createHash('sha256').update(hostIdentity).digest('hex').slice(0, 10);
  return `${composeProjectName ?? 'synapse-orchestrator'}-${digest}`;
}
