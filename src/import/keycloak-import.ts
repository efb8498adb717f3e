import type { AssignableRole } from '../domain/access.ts';
import { systemClock } from '../domain/ports.ts';
import { newReport, type ImportReport } from './import-report.ts';
import type { ImportCandidate } from './import-types.ts';
import { exportFiles, readKeycloakFile } from './keycloak-reader.ts';
import { groupName, keycloakUser } from './keycloak-users.ts';
import { mapRoles, parseRoleMap, unmappedList, type RoleMap } from './role-map.ts';
import { writeImport, type ImportRunOptions } from './write-import.ts';

export interface KeycloakImportOptions extends ImportRunOptions {
  /** A realm file, a file holding a JSON array of realms, or a `kc.sh export --dir` directory. */
  path: string;
  /** `--role-map` entries (`admin=ORG-ADMIN`, or comma lists of them), or a map parsed already. */
  roleMap?: readonly string[] | RoleMap;
  /** Only this realm's users (default: every realm in the export). */
  realm?: string;
  /** Files smaller than this (bytes) are parsed whole, larger ones streamed (default PARSE_WHOLE_BELOW). */
  parseWholeBelow?: number;
}

/** Flattens a realm's group tree into group name (path without the leading slash) → mapped roles. */
function collectGroups(tree: unknown, roleMap: RoleMap, unmapped: Map<string, number>, into: Map<string, AssignableRole[]>, parent = ''): void {
  if (!Array.isArray(tree)) return;
  for (const g of tree) {
    if (g === null || typeof g !== 'object') continue;
    const group = g as Record<string, unknown>;
    const path = typeof group.path === 'string' ? group.path : typeof group.name === 'string' ? `${parent}/${group.name}` : undefined;
    const name = groupName(path);
    if (name === undefined) continue;
    into.set(name, mapRoles(group.realmRoles, roleMap, unmapped));
    collectGroups(group.subGroups, roleMap, unmapped, into, `/${name}`);
  }
}

/**
 * `gatehouse import keycloak <path>`: every user of a Keycloak export, with their ids, passwords (as hashes
 * Gatehouse verifies until their first sign-in re-hashes them), roles and groups. Returns the report; throws
 * ImportInputError (nothing written) for a file that is not a readable Keycloak export, RoleMapError for a bad map.
 */
export async function importKeycloak(opts: KeycloakImportOptions): Promise<ImportReport> {
  const clock = opts.clock ?? systemClock;
  const roleMap = Array.isArray(opts.roleMap) ? parseRoleMap(opts.roleMap as string[]) : ((opts.roleMap as RoleMap | undefined) ?? new Map());
  const { files, ignored } = await exportFiles(opts.path);
  const report = newReport(opts.path, 'keycloak', { dryRun: opts.dryRun ?? false, update: opts.update ?? false });
  report.ignoredFiles = ignored;
  const unmapped = new Map<string, number>();
  const groups = new Map<string, AssignableRole[]>();
  const ctx = { roleMap, unmapped, now: clock.now() };

  async function* candidates(): AsyncGenerator<ImportCandidate> {
    for (const file of files) {
      for await (const item of readKeycloakFile(file, opts.parseWholeBelow)) {
        if (opts.realm !== undefined && item.realm !== null && item.realm !== opts.realm) continue;
        if (item.kind === 'groups') collectGroups(item.groups, roleMap, unmapped, groups);
        else if (item.kind === 'user') yield keycloakUser(item.raw, { file: item.file, position: item.position }, ctx);
      }
    }
  }

  await writeImport(candidates(), report, { ...opts, clock, groupRoles: (name) => groups.get(name) ?? [] });
  report.unmappedRoles = unmappedList(unmapped);
  return report;
}
