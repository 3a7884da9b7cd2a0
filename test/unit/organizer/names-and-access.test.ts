/** Entity names, ACL merging and the .env lines: the small rules setup and submit rely on. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { withAccess } from '../../../src/organizer/access.js';
import { UsageError } from '../../../src/organizer/errors.js';
import { checkEntityName, entityNameProblem, safeEntityName } from '../../../src/organizer/projects.js';
import { envLinesFor } from '../../../src/organizer/setup-challenge.js';

describe('entity names', () => {
  it("accepts Synapse's characters and says which others are not allowed", () => {
    expect(entityNameProblem("My challenge (2026) - v1.0 + Bob's_team")).toBeUndefined();
    expect(entityNameProblem('a/b:c')).toContain('not / :');
    expect(entityNameProblem('  ')).toBe('it is empty');
    expect(entityNameProblem('x'.repeat(257))).toContain('longer than 256');
  });

  it('makes a valid name out of anything', () => {
    expect(safeEntityName('alice@example.org submissions')).toBe('alice_example.org submissions');
    expect(safeEntityName('///')).toBe('___');
    expect(safeEntityName('')).toBe('unnamed');
    expect(entityNameProblem(safeEntityName('Ünïcødé / name'))).toBeUndefined();
  });

  it('names the option when a name is refused', () => {
    expect(() => checkEntityName('a/b', '--name')).toThrow(UsageError);
    expect(() => checkEntityName('a/b', '--name')).toThrow(/^--name "a\/b": /);
  });
});

describe('withAccess', () => {
  const entries = [
    { principalId: 1, accessType: ['READ' as const, 'UPDATE' as const] },
    { principalId: 2, accessType: ['READ' as const] },
  ];

  it('adds only what is missing, and keeps everyone else', () => {
    const next = withAccess(entries, '2', ['READ', 'SUBMIT']);
    expect(next.changed).toBe(true);
    expect(next.entries).toEqual([entries[0], { principalId: 2, accessType: ['READ', 'SUBMIT'] }]);
  });

  it('changes nothing when the access is already there', () => {
    expect(withAccess(entries, '1', ['UPDATE']).changed).toBe(false);
  });

  it('adds a new principal as a number, as Synapse wants', () => {
    expect(withAccess([], '3345678', ['READ']).entries).toEqual([
      { principalId: 3345678, accessType: ['READ'] },
    ]);
  });
});

describe('envLinesFor', () => {
  it("gives SWO's two lines, which the orchestrator's loader reads as they are", () => {
    const lines = envLinesFor('9614045', 'syn123', 'syn456');
    expect(lines).toEqual([
      'EVALUATION_TEMPLATES={"9614045":"syn123"}',
      'WORKFLOW_OUTPUT_ROOT_ENTITY_ID=syn456',
    ]);
    const env = Object.fromEntries(
      lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const { config } = loadConfig({
      envFile: '/nonexistent/.env',
      env: { ...env, SYNAPSE_PAT: 'a-token-for-the-test', DOCKER_ENGINE_URL: 'unix:///var/run/docker.sock' },
      hostIdentity: () => 'host',
      isDirectory: () => false,
    });
    expect(config.queues).toEqual([{ evaluationId: '9614045', templateEntityId: 'syn123' }]);
    expect(config.outputRootEntityId).toBe('syn456');
  });
});
