/**
 * Redaction of secrets from anything that is about to be written out: log lines, error messages, summaries.
 *
 * Three nets, so one missing does not leak a token:
 * 1. the exact values of known secrets (the loader registers the token and passwords it read);
 * 2. fields whose name says they hold a secret (authorization, token, password, …);
 * 3. shapes that are secrets whatever their name: `Bearer …`, JWTs (Synapse tokens are JWTs), and the
 *    `authtoken=`/`password=` lines of a Synapse credentials file.
 */

export const REDACTED = '[REDACTED]';

const knownSecrets = new Set<string>();

/** Short values are not registered: redacting every "abc" in the logs would hide more than it protects. */
const MIN_SECRET_LENGTH = 6;

export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= MIN_SECRET_LENGTH) knownSecrets.add(value);
}

/** For tests: forget registered secrets. */
export function clearRegisteredSecrets(): void {
  knownSecrets.clear();
}

const SECRET_FIELD = /authorization|token|password|passwd|secret|cookie|api[-_]?key|^pat$|credential/i;

const SECRET_SHAPES: readonly [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(authtoken|password|apikey)(\s*[=:]\s*)[^\s"',;]+/gi, `$1$2${REDACTED}`],
];

export function redactText(text: string): string {
  let result = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  for (const [shape, replacement] of SECRET_SHAPES) result = result.replace(shape, replacement);
  return result;
}

/** A deep copy of `value` with secrets removed; Errors keep their name, message and stack. */
export function redact(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, seen));
  if (value instanceof Error) {
    const copy: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    if (value.stack !== undefined) copy.stack = redactText(value.stack);
    for (const [key, field] of Object.entries(value)) copy[key] = redactField(key, field, seen);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) copy[key] = redactField(key, field, seen);
  return copy;
}

function redactField(key: string, field: unknown, seen: WeakSet<object>): unknown {
  if (SECRET_FIELD.test(key) && (typeof field === 'string' || typeof field === 'number') && field !== '') {
    return REDACTED;
  }
  return redact(field, seen);
}
