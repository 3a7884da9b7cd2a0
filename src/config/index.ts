export type * from './config.js';
export { ConfigError, type ConfigProblem, type ConfigWarning } from './config-error.js';
export {
  loadConfig,
  synapseEndpoint,
  type LoadOptions,
  type LoadedConfig,
  type ValueSource,
} from './load.js';
export { configAsJson, describeConfig } from './summary.js';
export { VARIABLES, VARIABLE_NAMES, type VariableName } from './variables.js';
