/** `try --data name=file`: every problem is refused before anything is created, naming the option. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDataOptions } from '../../../src/local-challenge/organizer-data.js';
import { UsageError } from '../../../src/organizer/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'organizer-data-'));
const gold = join(dir, 'goldstandard.csv');
const empty = join(dir, 'empty.csv');
writeFileSync(gold, 'id,label\n1,a\n');
writeFileSync(empty, '');

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function refusal(values: string[]): string {
  try {
    parseDataOptions(values);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${values.join(' ')} was accepted`);
}

describe('parseDataOptions', () => {
  it('reads name=file pairs in order, paths made absolute', () => {
    expect(parseDataOptions([`goldstandard=${gold}`, `ref_2.v1=${gold}`])).toEqual([
      { name: 'goldstandard', path: gold },
      { name: 'ref_2.v1', path: gold },
    ]);
    expect(parseDataOptions([])).toEqual([]);
  });

  it('refuses a missing "=", a bad or repeated name, a missing, empty or non-file path', () => {
    expect(refusal(['goldstandard'])).toMatch(/^--data goldstandard: give name=file/);
    expect(refusal([`=${gold}`])).toMatch(/^--data =.*: "" is not a usable name/);
    expect(refusal([`gold standard=${gold}`])).toMatch(/"gold standard" is not a usable name/);
    expect(refusal([`a=${gold}`, `a=${gold}`])).toBe(
      `--data a=${gold}: the name a is given twice; give each --data its own name.`,
    );
    expect(refusal([`a=${join(dir, 'nope.csv')}`])).toContain(`no such file ${join(dir, 'nope.csv')}`);
    expect(refusal(['a='])).toContain('--data a=: no file given');
    expect(refusal([`a=${dir}`])).toContain(`${dir} is not a file`);
    expect(refusal([`a=${empty}`])).toContain(`${empty} is empty`);
  });
});
