/** Writes .envTemplate and docs/configuration.md from the variable registry (src/config/variables.ts). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc, renderEnvTemplate } from '../src/config/reference.js';

const root = fileURLToPath(new URL('..', import.meta.url));
writeFileSync(`${root}.envTemplate`, renderEnvTemplate());
writeFileSync(`${root}docs/configuration.md`, renderConfigurationDoc());
console.log('wrote .envTemplate and docs/configuration.md');
