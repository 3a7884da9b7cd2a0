/** A stable identity for this host, used to derive a default ORCHESTRATOR_ID. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The machine id when there is one (a host, or a container given the host's /etc/machine-id), else an
 * identity kept in the work directory (`state/host-identity`), else the host name.
 *
 * The work-directory copy is what keeps a container's default ORCHESTRATOR_ID stable: without a machine id
 * the host name is the container id, which changes whenever compose re-creates the container, and an
 * instance whose id changed would no longer recognise its own running submissions. The first start
 * writes the host name there (so an existing installation keeps the id it had), later starts read it back.
 */
export function readHostIdentity(
  workDir?: string,
  machineIdFiles: readonly string[] = ['/etc/machine-id', '/var/lib/dbus/machine-id'],
): string {
  for (const file of machineIdFiles) {
    const id = readTrimmed(file);
    if (id !== undefined) return id;
  }
  if (workDir === undefined) return hostname();
  const kept = join(workDir, 'state', 'host-identity');
  const existing = readTrimmed(kept);
  if (existing !== undefined) return existing;
  try {
    mkdirSync(dirname(kept), { recursive: true });
    writeFileSync(kept, `${hostname()}\n`, { flag: 'wx' });
  } catch {
    // Read-only, or another process wrote it first: what is there (else the host name, this once) serves.
  }
  return readTrimmed(kept) ?? hostname();
}

function readTrimmed(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

/** `<project>-<10 hex chars>`: stable for one host and compose project, different across hosts. */
export function defaultOrchestratorId(hostIdentity: string, composeProjectName: string | undefined): string {
  const digest = createHash('sha256').update(hostIdentity).digest('hex').slice(0, 10);
  return `${composeProjectName ?? 'synapse-orchestrator'}-${digest}`;
}
