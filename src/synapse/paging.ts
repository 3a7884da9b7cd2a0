/**
 * Reading every page of a limit/offset listing. Synapse's `totalNumberOfResults` is an estimate (offset + n,
 * plus one on a full page), so the end is a short page, not the total. Pages of a status-filtered list shift
 * while statuses change, so an item can show up twice: duplicates are dropped and counted.
 */
import type { PaginatedResults } from './types.js';

export interface AllPages<T> {
  items: T[];
  /** How many repeated items were dropped (a sign the list changed while it was read). */
  duplicates: number;
}

export async function readAllPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<PaginatedResults<T>>,
  idOf: (item: T) => string,
  limit = 100,
  maxPages = 10_000,
): Promise<AllPages<T>> {
  const seen = new Set<string>();
  const items: T[] = [];
  let duplicates = 0;
  for (let page = 0, offset = 0; page < maxPages; page++) {
    const { results } = await fetchPage(offset, limit);
    for (const item of results) {
      const id = idOf(item);
      if (seen.has(id)) {
        duplicates += 1;
        continue;
      }
      seen.add(id);
      items.push(item);
    }
    if (results.length < limit) break;
    offset += results.length;
  }
  return { items, duplicates };
}
