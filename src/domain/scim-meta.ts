import { createHash } from 'node:crypto';
import { scimErrors } from './scim-errors.ts';

/**
 * `meta` of a SCIM resource (RFC 7643 §3.1) and its version as a weak entity tag (RFC 7644 §3.14): returned as
 * `meta.version` and the `ETag` header, and checked against `If-Match` before a PUT, PATCH or DELETE (412 when it
 * does not match). A version is a digest of what it versions, so equal content has equal versions on every replica.
 */

export interface ScimMeta {
  resourceType: string;
  created: string;
  lastModified: string;
  location: string;
  version: string;
}

/** A weak ETag over the given parts: `W/"<22 url-safe base64 characters of SHA-256>"`. */
export function weakVersion(...parts: unknown[]): string {
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
  return `W/"${digest}"`;
}

export function scimMeta(input: { resourceType: string; createdAt: number; updatedAt: number; location: string; version: string }): ScimMeta {
  return {
    resourceType: input.resourceType,
    created: new Date(input.createdAt).toISOString(),
    lastModified: new Date(input.updatedAt).toISOString(),
    location: input.location,
    version: input.version,
  };
}

/** The opaque part of an entity tag, weak or strong: `W/"abc"` and `"abc"` both give `abc`. */
function opaque(tag: string): string {
  const t = tag.trim().replace(/^W\//i, '');
  return t.startsWith('"') && t.endsWith('"') && t.length >= 2 ? t.slice(1, -1) : t;
}

/** Splits a header list of entity tags (`W/"a", "b"`), commas inside quotes kept. */
function tags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|[^,\s]+/gi) ?? [];
}

/**
 * `If-Match` (RFC 9110 §13.1.1, weak comparison as SCIM uses weak tags): absent, `*`, or a list holding the current
 * version lets the change go on; anything else is 412.
 */
export function checkIfMatch(ifMatch: string | string[] | undefined, currentVersion: string): void {
  if (ifMatch === undefined) return;
  const header = Array.isArray(ifMatch) ? ifMatch.join(',') : ifMatch;
  if (header.trim() === '' || header.trim() === '*') return;
  const current = opaque(currentVersion);
  if (!tags(header).some((t) => opaque(t) === current)) throw scimErrors.preconditionFailed();
}

/** `If-None-Match` on a GET: true when the client's copy is current (answer 304 without a body). */
export function notModified(ifNoneMatch: string | string[] | undefined, currentVersion: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch;
  if (header.trim() === '*') return true;
  const current = opaque(currentVersion);
  return tags(header).some((t) => opaque(t) === current);
}
