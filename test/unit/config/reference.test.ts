/** The generated .envTemplate and docs/configuration.md must match the variable registry. */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, VARIABLE_NAMES } from '../../../src/config/index.js';
import { renderConfigurationDoc, renderEnvTemplate } from '../../../src/config/reference.js';
import { REPO_ROOT } from '../../support/paths.js';

const STALE = 'is out of date: run `npm run generate` and commit the result';

describe('generated configuration files', () => {
  it(`.envTemplate matches the registry (if not, it ${STALE})`, () => {
    expect(readFileSync(join(REPO_ROOT, '.envTemplate'), 'utf8')).toBe(renderEnvTemplate());
  });

  it(`docs/configuration.md matches the registry (if not, it ${STALE})`, () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8')).toBe(renderConfigurationDoc());
  });

  it('the template names every variable once, each with a line on what it does', () => {
    const template = renderEnvTemplate();
    for (const name of VARIABLE_NAMES) {
      const lines = template.split('\n');
      const index = lines.findIndex((line) => line.replace(/^#/, '').startsWith(`${name}=`));
      expect(index, name).toBeGreaterThan(0);
      expect(lines[index - 1], name).toMatch(/^## \S/);
      expect(
        lines.filter((line) => line.replace(/^#/, '').startsWith(`${name}=`)),
        name,
      ).toHaveLength(1);
    }
  });

  it('the template, with its required values filled in, is a valid configuration', () => {
    const filled = renderEnvTemplate()
      .replace(/^SYNAPSE_PAT=$/m, 'SYNAPSE_PAT=a-token-for-the-test')
      .replace(/^EVALUATION_TEMPLATES=$/m, 'EVALUATION_TEMPLATES={"9614045": "syn123"}')
      .replace(/^WORKFLOW_OUTPUT_ROOT_ENTITY_ID=$/m, 'WORKFLOW_OUTPUT_ROOT_ENTITY_ID=syn42');
    const file = join(mkdtempSync(join(tmpdir(), 'template-')), '.env');
    writeFileSync(file, filled);
    const { config, warnings } = loadConfig({
      env: {},
      envFile: file,
      hostIdentity: () => 'h',
      isDirectory: () => false,
    });
    expect(warnings).toEqual([]);
    expect(config.engine.kind).toBe('docker');
    expect(config.queues).toHaveLength(1);
  });
});
