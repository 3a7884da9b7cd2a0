import { describe, expect, it } from 'vitest';
import {
  allPassed,
  formatText,
  notChecked,
  ok,
  problem,
  toJson,
  warning,
} from '../../../src/preflight/report.js';
import { tokenScopes } from '../../../src/preflight/synapse-checks.js';

describe('the validate report', () => {
  it('one line per check, the fix under problems and warnings, then a verdict', () => {
    const text = formatText([
      ok('Configuration', 'valid (environment)'),
      problem('Queue 1', 'bot (3) lacks UPDATE_SUBMISSION', 'Grant bot (3) UPDATE_SUBMISSION on queue 1.'),
      warning('Template syn2 (queue 1)', 'wf.cwl does not declare synapseConfig', 'Declare it.'),
      notChecked('Engine image', 'needs the Docker engine (see Docker engine)'),
    ]);
    expect(text.split('\n')).toEqual([
      '✔ Configuration: valid (environment)',
      '✖ Queue 1: bot (3) lacks UPDATE_SUBMISSION',
      '    → Grant bot (3) UPDATE_SUBMISSION on queue 1.',
      '! Template syn2 (queue 1): wf.cwl does not declare synapseConfig',
      '    → Declare it.',
      '○ Engine image: needs the Docker engine (see Docker engine)',
      '',
      '1 problem: fix it and run validate again. (1 check could not run until then.)',
    ]);
  });

  it('says how many passed, warnings included', () => {
    expect(
      formatText([ok('A', 'fine'), ok('B', 'fine')])
        .split('\n')
        .at(-1),
    ).toBe('All 2 checks passed.');
    expect(
      formatText([ok('A', 'fine'), warning('B', 'hmm')])
        .split('\n')
        .at(-1),
    ).toBe('All 2 checks passed. (1 warning above.)');
    expect(
      formatText([problem('A', 'x', 'fix a'), problem('B', 'y', 'fix b')])
        .split('\n')
        .at(-1),
    ).toBe('2 problems: fix them and run validate again.');
  });

  it('passes with warnings, fails with a problem or an unchecked check', () => {
    expect(allPassed([ok('A', ''), warning('B', '')])).toBe(true);
    expect(allPassed([ok('A', ''), problem('B', '', '')])).toBe(false);
    expect(allPassed([ok('A', ''), notChecked('B', '')])).toBe(false);
  });

  it('JSON: ok, offline false, the checks with fix only when there is one', () => {
    const json = toJson([ok('A', 'fine'), problem('B', 'bad', 'do this')]);
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      ok: false,
      offline: false,
      checks: [
        { name: 'A', status: 'ok', detail: 'fine' },
        { name: 'B', status: 'problem', detail: 'bad', fix: 'do this' },
      ],
    });
  });
});

describe('tokenScopes', () => {
  const jwt = (claims: unknown) =>
    `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;

  it("reads a Synapse personal access token's scopes", () => {
    expect(tokenScopes(jwt({ access: { scope: ['view', 'download', 'modify'] }, sub: '1' }))).toEqual([
      'view',
      'download',
      'modify',
    ]);
  });

  it('says nothing about a token it cannot read', () => {
    expect(tokenScopes('opaque-token')).toBeUndefined();
    expect(tokenScopes('a.%%%.c')).toBeUndefined();
    expect(tokenScopes(jwt({ sub: '1' }))).toBeUndefined();
    expect(tokenScopes(jwt({ access: { scope: 'view' } }))).toBeUndefined();
  });
});
