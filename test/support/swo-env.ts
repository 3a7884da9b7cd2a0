/**
 * SWO's own `.envTemplate` (test/fixtures/swo.envTemplate, copied unchanged from the SWO repository via
 * shared/fixtures) filled in the way an operator following Sage's instructions would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './paths.js';

export const SWO_TEMPLATE = readFileSync(join(FIXTURES, 'swo.envTemplate'), 'utf8');

export interface Filling {
  token: string;
  /** Lines of the template's "Optional Settings" to uncomment, with the value to give them. */
  optional?: Record<string, string>;
}

function setLine(text: string, name: string, value: string): string {
  const pattern = new RegExp(`^#?${name}=.*$`, 'm');
  if (!pattern.test(text)) throw new Error(`SWO's template has no line for ${name}`);
  return text.replace(pattern, () => `${name}=${value}`);
}

export function fillSwoTemplate({ token, optional = {} }: Filling): string {
  let text = SWO_TEMPLATE;
  text = setLine(text, 'SYNAPSE_USERNAME', 'challenge_bot');
  text = setLine(text, 'SYNAPSE_PAT', token);
  text = setLine(text, 'WORKFLOW_OUTPUT_ROOT_ENTITY_ID', 'syn7654321');
  text = setLine(text, 'EVALUATION_TEMPLATES', '{"9614045": "syn123", "9614046": "syn456"}');
  for (const [name, value] of Object.entries(optional)) text = setLine(text, name, value);
  return text;
}
