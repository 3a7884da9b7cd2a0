/**
 * Value parsers for configuration variables.
 *
 * Each parser is a zod schema that takes the raw text of one variable (or `undefined` when it is unset) and
 * yields a typed value. A parser that rejects its input says what it expected, in words an operator can act
 * on; the variable's name and value are added by the loader.
 */
import { z } from 'zod';

/** A raw variable value: `undefined` means unset (empty strings and the literal `null` are already folded). */
export type RawValue = string | undefined;
export type ValueParser<T> = z.ZodType<T, RawValue>;

/** Returned by a parse function to reject its input with one or more explanations. */
export class Rejection {
  readonly reasons: string[];
  constructor(...reasons: string[]) {
    this.reasons = reasons;
  }
}

/** Wraps a plain parse function as a zod schema; a `Rejection` becomes one zod issue per reason. */
export function parser<T>(parse: (raw: RawValue) => T | Rejection): ValueParser<T> {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const result = parse(raw);
      if (result instanceof Rejection) {
        for (const reason of result.reasons) ctx.issues.push({ code: 'custom', message: reason, input: raw });
        return z.NEVER;
      }
      return result;
    });
}

export const optionalText = (): ValueParser<string | undefined> => parser((raw) => raw);

const TRUE_WORDS = new Set(['true']);
const FALSE_WORDS = new Set(['false']);

/**
 * `true` or `false`, any case. SWO treated every other word (even `yes`) as false without a word; here an
 * unrecognised value is an error, so a typo cannot silently flip a setting.
 */
export const boolean = (fallback: boolean): ValueParser<boolean> =>
  parser((raw) => {
    if (raw === undefined) return fallback;
    const word = raw.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return new Rejection('expected true or false');
  });

/** A whole number within [min, max]. */
export const integer = (
  fallback: number | undefined,
  { min, max }: { min: number; max?: number },
): ValueParser<number | undefined> =>
  parser((raw) => {
    if (raw === undefined) return fallback;
    const range = max === undefined ? `of ${min} or more` : `from ${min} to ${max}`;
    if (!/^[+-]?\d+$/.test(raw)) return new Rejection(`expected a whole number ${range}`);
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
      return new Rejection(`expected a whole number ${range}`);
    }
    return value;
  });

/** `integer` for variables that always have a default. */
export const integerWithDefault = (fallback: number, range: { min: number; max?: number }) =>
  integer(fallback, range) as ValueParser<number>;

const SYN_ID = /^syn\d+$/;

/** A Synapse entity id such as `syn123`; like SWO, case and surrounding blanks are forgiven. */
export function normaliseSynId(value: string): string | undefined {
  const id = value.trim().toLowerCase();
  return SYN_ID.test(id) ? id : undefined;
}

export const synapseId = (): ValueParser<string | undefined> =>
  parser((raw) => {
    if (raw === undefined) return undefined;
    return normaliseSynId(raw) ?? new Rejection('expected a Synapse entity id like syn123');
  });

/** A Synapse principal (user or team) id: digits. */
export const principalId = (): ValueParser<string | undefined> =>
  parser((raw) => {
    if (raw === undefined) return undefined;
    return /^\d+$/.test(raw)
      ? raw
      : new Rejection('expected a Synapse user or team id (digits, like 3345678)');
  });

export const oneOf = <const T extends string>(values: readonly T[], fallback: T): ValueParser<T> =>
  parser((raw) => {
    if (raw === undefined) return fallback;
    const match = values.find((v) => v.toLowerCase() === raw.toLowerCase());
    return match ?? new Rejection(`expected one of ${values.join(', ')}`);
  });

/** An absolute filesystem path. */
export const absolutePath = (fallback?: string): ValueParser<string | undefined> =>
  parser((raw) => {
    if (raw === undefined) return fallback;
    return raw.startsWith('/') ? raw : new Rejection('expected an absolute path (starting with /)');
  });

export const absolutePathWithDefault = (fallback: string) => absolutePath(fallback) as ValueParser<string>;

/** An http(s) URL; a trailing slash is dropped. */
export const httpUrl = (): ValueParser<string | undefined> =>
  parser((raw) => {
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return new Rejection('expected an http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return new Rejection('expected an http:// or https:// URL');
    }
    return raw.replace(/\/+$/, '');
  });

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte size such as `512m`, `4g` or `1048576` (binary units, as Docker reads them). */
export const byteSize = (fallback?: number, min = 1): ValueParser<number | undefined> =>
  parser((raw) => {
    if (raw === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(raw.trim());
    const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
    if (match === null || unit === undefined) {
      return new Rejection('expected a size like 512m, 4g or a number of bytes');
    }
    const bytes = Math.floor(Number(match[1]) * unit);
    return bytes >= min
      ? bytes
      : new Rejection(min > 1 ? `expected at least ${min} bytes` : 'expected a size above zero');
  });

/** `byteSize` for variables that always have a default. */
export const byteSizeWithDefault = (fallback: number, min = 1) =>
  byteSize(fallback, min) as ValueParser<number>;

/** A positive decimal number, e.g. a CPU count like 1.5. */
export const positiveNumber = (): ValueParser<number | undefined> =>
  parser((raw) => {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    return /^\d+(\.\d+)?$/.test(raw) && value > 0
      ? value
      : new Rejection('expected a positive number like 2 or 0.5');
  });
