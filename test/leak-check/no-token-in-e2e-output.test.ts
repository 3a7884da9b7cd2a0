/**
 * The secret scan: everything the e2e suite printed, and everything the product printed during it, must
 * be free of the Synapse token the suite handed to the product. ./scripts/test runs this after the e2e
 * project, with the same E2E_SYNAPSE_TOKEN.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRODUCT_OUTPUT_LOG, RUNNER_OUTPUT_LOG } from '../support/paths.js';

const token = process.env.E2E_SYNAPSE_TOKEN ?? '';
const WINDOW = 16;

/**
 * Which 16-character pieces of the token appear in `text` (a leak of part of it counts too), reported by
 * position so a failing run does not print the pieces themselves.
 */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + WINDOW <= token.length; i++) {
    if (text.includes(token.slice(i, i + WINDOW))) found.push(`token characters ${i}-${i + WINDOW}`);
  }
  return found;
}

describe('the e2e output', () => {
  it('is scanned with the token the e2e suite used', () => {
    expect(token.length, 'run through ./scripts/test, which sets E2E_SYNAPSE_TOKEN').toBeGreaterThan(100);
  });

  it("holds the product's output, which handled the token (shown masked)", () => {
    expect(existsSync(PRODUCT_OUTPUT_LOG)).toBe(true);
    const output = readFileSync(PRODUCT_OUTPUT_LOG, 'utf8');
    expect(output).toContain(`[secret, ${token.length} characters]`);
    expect(leaks(output)).toEqual([]);
  });

  it("holds the test runner's output, with no piece of the token", () => {
    expect(existsSync(RUNNER_OUTPUT_LOG)).toBe(true);
    const output = readFileSync(RUNNER_OUTPUT_LOG, 'utf8');
    expect(output.length).toBeGreaterThan(0);
    expect(leaks(output)).toEqual([]);
  });

  it('would catch a leak (the scan is not blind)', () => {
    expect(leaks(`prefix ${token.slice(40, 70)} suffix`).length).toBeGreaterThan(0);
  });
});
