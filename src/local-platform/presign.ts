/**
 * Presigned URLs for the fake object store, shaped as S3's (SigV4 query parameters: X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature), because clients read
 * them: synapseclient's multi-threaded download computes a URL's expiry from X-Amz-Date + X-Amz-Expires.
 * The signature is an HMAC of the path, date and lifetime keyed by the admin token (which never leaves the
 * server); URLs are valid for 15 minutes like Synapse's. They point at the object store's own origin.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformContext } from './context.js';

export const PRESIGNED_URL_SECONDS = 15 * 60;

const REGION = 'us-east-1';
const ACCESS_KEY = 'LOCALPLATFORM';

/** The query of a presigned URL, as the object store receives it. */
export interface PresignedQuery {
  'X-Amz-Date'?: string;
  'X-Amz-Expires'?: string;
  'X-Amz-Signature'?: string;
}

function signature(context: PlatformContext, path: string, amzDate: string, expires: string): string {
  return createHmac('sha256', context.adminToken).update(`${path}\n${amzDate}\n${expires}`).digest('hex');
}

/** 20240102T030405Z, S3's ISO 8601 basic format. */
function amzDateOf(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Milliseconds since the epoch of an X-Amz-Date, or NaN when it is not one. */
function parseAmzDate(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) return Number.NaN;
  const [, year, month, day, hour, minute, second] = match;
  return Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
}

function presign(context: PlatformContext, path: string, validSeconds: number): string {
  const amzDate = amzDateOf(new Date());
  const expires = String(validSeconds);
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Date': amzDate,
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Expires': expires,
    'X-Amz-Credential': `${ACCESS_KEY}/${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`,
    'X-Amz-Signature': signature(context, path, amzDate, expires),
  });
  return `${context.objectStoreUrl()}${path}?${query.toString()}`;
}

export function presignedDownloadUrl(
  context: PlatformContext,
  fileHandleId: string,
  validSeconds = PRESIGNED_URL_SECONDS,
): string {
  return presign(context, `/s3/download/${fileHandleId}`, validSeconds);
}

export function presignedPartUrl(
  context: PlatformContext,
  uploadId: string,
  partNumber: number,
  validSeconds = PRESIGNED_URL_SECONDS,
): string {
  return presign(context, `/s3/upload/${uploadId}/${partNumber}`, validSeconds);
}

/** 'ok', or why the URL is refused (the object store answers 403 for both). */
export function checkPresigned(
  context: PlatformContext,
  path: string,
  query: PresignedQuery,
): 'ok' | 'expired' | 'bad signature' {
  const amzDate = query['X-Amz-Date'];
  const expires = query['X-Amz-Expires'];
  const given = query['X-Amz-Signature'];
  if (typeof amzDate !== 'string' || typeof expires !== 'string' || typeof given !== 'string') {
    return 'bad signature';
  }
  const signedAt = parseAmzDate(amzDate);
  const lifetime = Number(expires);
  if (!Number.isFinite(signedAt) || !Number.isInteger(lifetime)) return 'bad signature';
  const expected = Buffer.from(signature(context, path, amzDate, expires));
  const received = Buffer.from(given);
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) return 'bad signature';
  return Date.now() > signedAt + lifetime * 1000 ? 'expired' : 'ok';
}
