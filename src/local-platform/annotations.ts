/**
 * Validation of v2 annotation maps (synapse-rest.md §4.1), shared by entity annotations and submission
 * statuses' `submissionAnnotations`.
 */
import type { V2AnnotationValue } from '../synapse/types.js';
import { badRequest } from './errors.js';

const MAX_ANNOTATION_KEYS = 100;
const MAX_ANNOTATION_VALUES = 100;
const MAX_STRING_CHARACTERS = 500;
const ANNOTATION_KEY = /^[a-zA-Z0-9,_.]+$/;
const RESERVED_ANNOTATION_KEYS: ReadonlySet<string> = new Set(['_accessRequirementIds']);
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function isLong(value: string): boolean {
  if (!/^[-+]?\d+$/.test(value)) return false;
  const parsed = BigInt(value);
  return parsed >= LONG_MIN && parsed <= LONG_MAX;
}

function isDouble(value: string): boolean {
  if (/^[-+]?(NaN|Infinity)$/.test(value)) return true;
  return value.trim() !== '' && !Number.isNaN(Number(value)) && !/^0x/i.test(value.trim());
}

const VALUE_CHECKS: Readonly<Record<string, (value: string) => boolean>> = {
  STRING: () => true,
  LONG: isLong,
  TIMESTAMP_MS: isLong,
  DOUBLE: isDouble,
  BOOLEAN: (value) => /^(true|false)$/i.test(value),
};

/**
 * A value of a v2 annotation's list as Synapse reads it: a string, or a JSON number or boolean, which
 * Synapse's JSON reader turns into its text (synapseclient 4.x's SubmissionStatus model sends
 * `"value": [0.9]`). A double comes back in JavaScript's spelling ("90" where Java writes "90.0").
 */
function asAnnotationString(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'boolean') return String(raw);
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return undefined;
}

/**
 * A v2 annotation map as Synapse accepts it (§4.1): key names, key and value counts, the STRING length
 * budget, and values that parse as their declared type. Returns the map to store (keys trimmed).
 */
export function validateAnnotations(raw: unknown): Record<string, V2AnnotationValue> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('annotations must be a JSON object.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_ANNOTATION_KEYS) {
    throw badRequest(`Annotations can have at most ${MAX_ANNOTATION_KEYS} keys.`);
  }
  const result: Record<string, V2AnnotationValue> = {};
  for (const [rawKey, annotation] of entries) {
    const key = rawKey.trim();
    if (!ANNOTATION_KEY.test(key)) {
      throw badRequest(
        `Invalid annotation name: '${rawKey}'. Annotation names may only contain; letters, numbers, '_' and '.'`,
      );
    }
    if (RESERVED_ANNOTATION_KEYS.has(key)) throw badRequest(`The annotation key ${key} is reserved.`);
    if (annotation === null || typeof annotation !== 'object' || Array.isArray(annotation)) {
      throw badRequest(`The annotation for key=${key} must be an object with a type and a value list.`);
    }
    const { type, value } = annotation as { type?: unknown; value?: unknown };
    const check = typeof type === 'string' ? VALUE_CHECKS[type] : undefined;
    if (check === undefined) {
      throw badRequest(`Unknown annotation type for key=${key}: ${String(type)}`);
    }
    if (value === undefined || value === null) throw badRequest(`value list for key=${key} can not be null`);
    if (!Array.isArray(value)) throw badRequest(`value for key=${key} must be a list of strings.`);
    if (value.length > MAX_ANNOTATION_VALUES) {
      throw badRequest(`key=${key} has more than the ${MAX_ANNOTATION_VALUES} values allowed.`);
    }
    const values: string[] = [];
    for (const raw of value as unknown[]) {
      const item = asAnnotationString(raw);
      if (item === undefined) throw badRequest(`Values for key=${key} must be strings.`);
      if (!check(item)) throw badRequest(`Value for key=${key} is not a valid ${type as string}: ${item}`);
      values.push(item);
    }
    if (type === 'STRING' && values.reduce((sum, item) => sum + item.length, 0) > MAX_STRING_CHARACTERS) {
      throw badRequest(`Total String value too long. Can be at most ${MAX_STRING_CHARACTERS} characters.`);
    }
    result[key] = { type: type as V2AnnotationValue['type'], value: values };
  }
  return result;
}
