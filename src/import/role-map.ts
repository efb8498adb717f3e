import { isAssignableRole, type AssignableRole } from '../domain/access.ts';

/** Source role name → the Gatehouse roles it becomes (`--role-map admin=ORG-ADMIN`). */
export type RoleMap = ReadonlyMap<string, readonly AssignableRole[]>;

/** A `--role-map` that cannot be used: the CLI answers it as a usage error (exit 2). */
export class RoleMapError extends Error {
  override name = 'RoleMapError';
}

/**
 * Parses `SOURCE=GATEHOUSE` entries; each entry may also be a comma-separated list of them, and one source role
 * may map to several Gatehouse roles (given as separate entries).
 */
export function parseRoleMap(entries: readonly string[]): RoleMap {
  const map = new Map<string, AssignableRole[]>();
  for (const entry of entries.flatMap((e) => e.split(','))) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const eq = trimmed.lastIndexOf('=');
    const source = trimmed.slice(0, eq).trim();
    const target = trimmed.slice(eq + 1).trim();
    if (eq <= 0 || source === '' || target === '') throw new RoleMapError(`--role-map entry "${trimmed}" is not SOURCE=GATEHOUSE`);
    if (!isAssignableRole(target)) throw new RoleMapError(`--role-map entry "${trimmed}": ${target} is not a Gatehouse role`);
    const roles = map.get(source) ?? [];
    if (!roles.includes(target)) roles.push(target);
    map.set(source, roles);
  }
  return map;
}

/**
 * Keycloak's own roles that every user holds by default: never reported as unmapped (they mean nothing outside
 * Keycloak), though they can still be mapped explicitly.
 */
const KEYCLOAK_BUILT_IN = /^(default-roles-.+|offline_access|uma_authorization)$/;

/** Maps the source roles; the ones no entry maps are counted in `unmapped` (built-in Keycloak roles excepted). */
export function mapRoles(names: unknown, map: RoleMap, unmapped: Map<string, number>): AssignableRole[] {
  if (!Array.isArray(names)) return [];
  const out = new Set<AssignableRole>();
  for (const name of names) {
    if (typeof name !== 'string') continue;
    const mapped = map.get(name);
    if (mapped) for (const r of mapped) out.add(r);
    else if (!KEYCLOAK_BUILT_IN.test(name)) unmapped.set(name, (unmapped.get(name) ?? 0) + 1);
  }
  return [...out];
}

export function unmappedList(unmapped: Map<string, number>): { role: string; holders: number }[] {
  return [...unmapped].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([role, holders]) => ({ role, holders }));
}
