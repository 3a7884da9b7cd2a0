/** The identity behind the default ORCHESTRATOR_ID must survive a container being re-created. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultOrchestratorId, readHostIdentity } from '../../../src/config/host-identity.js';

const NO_MACHINE_ID = ['/nonexistent/machine-id'];

describe('readHostIdentity', () => {
  it('prefers the machine id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'host-id-'));
    const machineId = join(dir, 'machine-id');
    writeFileSync(machineId, 'abc123\n');
    expect(readHostIdentity(join(dir, 'work'), [machineId])).toBe('abc123');
  });

  it('without a machine id, keeps the first host name in the work directory and reads it back later', () => {
    const work = mkdtempSync(join(tmpdir(), 'host-id-work-'));
    const first = readHostIdentity(work, NO_MACHINE_ID);
    expect(first).toBe(hostname());
    const kept = join(work, 'state', 'host-identity');
    expect(readFileSync(kept, 'utf8').trim()).toBe(hostname());

    // A re-created container has another host name; the kept identity wins, so the id does not change.
    writeFileSync(kept, 'container-from-last-week\n');
    const later = readHostIdentity(work, NO_MACHINE_ID);
    expect(later).toBe('container-from-last-week');
    expect(defaultOrchestratorId(later, 'challenge')).toBe(
      defaultOrchestratorId('container-from-last-week', 'challenge'),
    );
  });

  it('falls back to the host name when the work directory cannot be written', () => {
    // A work "directory" that is a file: nothing can be created under it, even by root.
    const file = join(mkdtempSync(join(tmpdir(), 'host-id-ro-')), 'not-a-directory');
    writeFileSync(file, '');
    expect(readHostIdentity(file, NO_MACHINE_ID)).toBe(hostname());
  });
});
