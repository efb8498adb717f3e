import { emailProblem, normaliseEmail } from '../domain/email.ts';
import { NO_PASSWORD } from '../security/legacy-password.ts';
import type { ImportCandidate, SourcePosition } from './import-types.ts';
import { keycloakPassword } from './keycloak-credentials.ts';
import { mapRoles, type RoleMap } from './role-map.ts';

/** Ids are kept as they are (Keycloak's are UUIDs); anything that could not be a path segment is refused. */
const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const NAME_MAX = 100;

export interface MappingContext {
  roleMap: RoleMap;
  /** Source roles nobody mapped, with their holder counts. */
  unmapped: Map<string, number>;
  /** When the import runs (the created time of users without `createdTimestamp`). */
  now: number;
}

function name(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  return [...trimmed].length <= NAME_MAX && !/\p{Cc}/u.test(trimmed) ? trimmed : undefined;
}

/** A group path (`/Engineering/Backend`) as a Gatehouse group name (`Engineering/Backend`). */
export function groupName(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const stripped = path.replace(/^\/+/, '').trim();
  return stripped !== '' && [...stripped].length <= 100 && !/\p{Cc}/u.test(stripped) ? stripped : undefined;
}

/** One user of a Keycloak export: what Gatehouse stores, or why they are skipped. */
export function keycloakUser(raw: unknown, at: SourcePosition, ctx: MappingContext): ImportCandidate {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'skip', reason: 'invalid', at, detail: 'not a user object' };
  const u = raw as Record<string, unknown>;
  const id = typeof u.id === 'string' ? u.id : undefined;
  const username = typeof u.username === 'string' ? u.username.slice(0, 256) : undefined;
  const rawEmail = typeof u.email === 'string' ? u.email : undefined;
  const who = { id, username, email: rawEmail?.slice(0, 256) };
  if (typeof u.serviceAccountClientId === 'string') return { kind: 'skip', reason: 'service_account', at, ...who, detail: `client ${u.serviceAccountClientId.slice(0, 128)}` };
  if (typeof u.federationLink === 'string') return { kind: 'skip', reason: 'federated', at, ...who, detail: `federation provider ${u.federationLink.slice(0, 128)}` };
  if (id === undefined || !USER_ID.test(id)) return { kind: 'skip', reason: 'invalid', at, ...who, id: id?.slice(0, 128), detail: 'missing or unusable id' };
  if (rawEmail === undefined || rawEmail.trim() === '') return { kind: 'skip', reason: 'no_email', at, ...who };
  const email = normaliseEmail(rawEmail);
  const problem = emailProblem(email);
  if (problem) return { kind: 'skip', reason: 'invalid', at, ...who, detail: `email: ${problem}` };
  const firstName = name(u.firstName);
  const lastName = name(u.lastName);
  if (firstName === undefined || lastName === undefined) return { kind: 'skip', reason: 'invalid', at, ...who, detail: `names must be text of at most ${NAME_MAX} characters` };
  const created = typeof u.createdTimestamp === 'number' && Number.isSafeInteger(u.createdTimestamp) && u.createdTimestamp > 0 ? u.createdTimestamp : ctx.now;
  const mustChange = Array.isArray(u.requiredActions) && u.requiredActions.includes('UPDATE_PASSWORD');
  const groups = Array.isArray(u.groups) ? [...new Set(u.groups.map(groupName).filter((g): g is string => g !== undefined))] : [];
  const password = keycloakPassword(u.credentials);
  const base = {
    id,
    email,
    firstName,
    lastName,
    enabled: u.enabled !== false,
    createdAt: created,
    roles: mapRoles(u.realmRoles, ctx.roleMap, ctx.unmapped),
    groups,
  };
  if (password.kind === 'hash') return { kind: 'user', at, username, user: { ...base, passwordHash: password.hash, passwordTemporary: mustChange } };
  if (password.kind === 'clear') return { kind: 'user', at, username, user: { ...base, password: password.password, passwordTemporary: mustChange } };
  return { kind: 'user', at, username, needsReset: password.reason, user: { ...base, passwordHash: NO_PASSWORD, passwordTemporary: false } };
}
