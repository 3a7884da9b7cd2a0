/**
 * Presigned URLs for the fake object store: signed with an HMAC of the path and expiry (keyed by the
 * admin token, which never leaves the server), valid for 15 minutes like Synapse's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { PlatformContext } from './context.js';

export const PRESIGNED_URL_SECONDS = 15 * 60;

function signature(context: PlatformContext, path: string, expires: number): string {
  return createHmac('sha256', context.adminToken).update(`${path}\n${expires}`).digest('hex');
}

function presign(context: PlatformContext, path: string, validSeconds: number): string {
  const expires = Math.floor(Date.now() / 1000) + validSeconds;
  return `${context.baseUrl()}${path}?X-Amz-Expires=${validSeconds}&expires=${expires}&sig=${signature(context, path, expires)}`;
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
  query: { expires?: string; sig?: string },
): 'ok' | 'expired' | 'bad signature' {
  const expires = Number(query.expires);
  if (!Number.isFinite(expires) || typeof query.sig !== 'string') return 'bad signature';
  const expected = Buffer.from(signature(context, path, expires));
  const given = Buffer.from(query.sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad signature';
  return Date.now() / 1000 > expires ? 'expired' : 'ok';
}
