/**
 * Paths that come from outside (archive entries, TRS file listings, ROOT_TEMPLATE) checked before they
 * touch the disk: relative, no `..`, no NUL, and inside the target directory once joined.
 */
import { join, resolve, sep } from 'node:path';

export type SafePath = { ok: true; relative: string } | { ok: false; reason: string };

/**
 * `name` as a clean relative path ('' for the root itself), or why it is refused. Backslashes count as
 * separators, so a Windows-made `..\x` is caught too.
 */
export function safeRelativePath(name: string): SafePath {
  if (name.includes('\0')) return { ok: false, reason: 'contains a NUL byte' };
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed))
    return { ok: false, reason: 'is an absolute path' };
  const segments = slashed.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return { ok: false, reason: 'goes up with ..' };
  return { ok: true, relative: segments.join('/') };
}

/** `relative` (already checked) joined under `root`, or undefined if it would still land outside. */
export function joinInside(root: string, relative: string): string | undefined {
  const base = resolve(root);
  const full = resolve(join(base, relative));
  return full === base || full.startsWith(base + sep) ? full : undefined;
}
