/** How configuration values are shown to people: secrets masked, long values shortened. */
import { VARIABLES, type VariableName } from './variables.js';

const MAX_SHOWN = 160;

export function maskSecret(value: string): string {
  return `[secret, ${value.length} characters]`;
}

/** The value of `name` as it may appear in output: masked when secret, cut when very long. */
export function displayValue(name: VariableName, value: string): string {
  if (VARIABLES[name].secret === true) return maskSecret(value);
  return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}… (${value.length} characters)` : value;
}
