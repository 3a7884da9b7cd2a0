/** Bounds on what one template may cost: download size, extracted size and number of entries. */

export interface TemplateLimits {
  /** Most bytes downloaded, and most bytes written when extracting (counted as written). */
  maxBytes: number;
  /** Most entries (files and directories) in one archive or TRS listing. */
  maxEntries: number;
}

/**
 * Generous for a workflow template (usually kilobytes), small enough that a bad link cannot fill a disk.
 * The same as the TEMPLATE_MAX_BYTES and TEMPLATE_MAX_ENTRIES defaults.
 */
export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  maxBytes: 200 * 1024 * 1024,
  maxEntries: 10_000,
};

/** "12.3 MiB" and the like, for messages. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}
