/** Workflow templates: from a Synapse entity to a checked, extracted tree ready to copy into a job. */
export { TemplateCache, versionDirName, type PreparedTemplate, type TemplateCacheOptions } from './cache.js';
export { TemplateError, isTemplateError, type TemplateProblem } from './errors.js';
export { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from './limits.js';
export { extractArchive, type ExtractOptions, type ExtractStats } from './extract.js';
export { detectFormat, type ArchiveFormat } from './archive.js';
export {
  ROOT_TEMPLATE,
  readRootTemplate,
  resolveTemplate,
  type ArchiveLocation,
  type ResolvedTemplate,
} from './resolve.js';
export { isTrsUrl } from './trs.js';
