import type { BootstrapAdmin } from './config.ts';
import { ADMIN_ROLE } from './domain/access.ts';
import { SYSTEM_ACTOR, type AuditDraft } from './domain/audit.ts';
import { uuidv7 } from './domain/ids.ts';
import { systemClock, type PasswordHasher } from './domain/ports.ts';
import type { AuditWriter } from './store/audit-store.ts';
import type { Database } from './store/database.ts';
import { createMetaStore } from './store/meta-store.ts';
import { createUserStore } from './store/user-store.ts';

/** The meta row that records that the bootstrap administrator was made: once per database, ever. */
export const ADMIN_CREATED = 'bootstrap_admin_created_at';

export type BootstrapAdminOutcome = 'not_configured' | 'created' | 'already_created' | 'has_users' | 'created_elsewhere';

/**
 * The first operator's way in without an API key (as Keycloak's KC_BOOTSTRAP_ADMIN_USERNAME/PASSWORD): when
 * GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and _PASSWORD are set and the database has no users, make that user an ORG-ADMIN
 * whose password is temporary, so their first sign-in (to the console, or any client) asks for a new one.
 *
 * It happens once per database. A restart with the variables still set changes nothing (the meta row, or the users
 * that exist by then, say so): it neither re-creates a deleted administrator nor resets a password the operator
 * has since changed. Replicas starting together on an empty database each try the insert; the unique email index
 * lets exactly one in, and the others find the address taken and do nothing.
 *
 * The insert and its audit events (`user.created` and `bootstrap`, both by the system) are one transaction. The
 * password goes to the hasher and nowhere else: `print` (standard error) names only the email.
 */
export async function bootstrapAdminUser(
  database: Database,
  opts: { admin: BootstrapAdmin | null; hasher: PasswordHasher; print: (text: string) => void; audit?: AuditWriter },
): Promise<BootstrapAdminOutcome> {
  const { admin } = opts;
  if (!admin) return 'not_configured';
  const { db, dialect } = database;
  const meta = createMetaStore(db);
  const created = await meta.get(ADMIN_CREATED);
  if (created !== undefined) {
    opts.print(
      `Gatehouse: the bootstrap administrator was already created (${created}); GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and _PASSWORD change nothing now and can be unset.\n`,
    );
    return 'already_created';
  }
  if ((await db.selectFrom('users').select('id').limit(1).executeTakeFirst()) !== undefined) {
    opts.print(
      'Gatehouse: GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL is set but this database already has users, so no bootstrap administrator was created; unset GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and _PASSWORD.\n',
    );
    return 'has_users';
  }

  const users = createUserStore(db, dialect, opts.audit ? { audit: opts.audit } : {});
  const passwordHash = await opts.hasher.hash(admin.password);
  const now = systemClock.now();
  const id = uuidv7(now);
  const events: AuditDraft[] = [
    {
      action: 'user.created',
      target: { type: 'user', id },
      actor: SYSTEM_ACTOR,
      details: { email: admin.email, roles: [ADMIN_ROLE], temporary_password: true },
    },
    {
      action: 'bootstrap',
      target: { type: 'user', id },
      actor: SYSTEM_ACTOR,
      details: {
        done: 'created the first administrator user on a database with no users',
        reason: 'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL and GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD are set',
        user_id: id,
        email: admin.email,
        roles: [ADMIN_ROLE],
        temporary_password: true,
      },
    },
  ];
  const outcome = await users.insert(
    { id, email: admin.email, firstName: null, lastName: null, passwordHash, passwordTemporary: true, roles: [ADMIN_ROLE], createdAt: now },
    events,
  );
  // The address taken on a database that had no users a moment ago: another replica created the same administrator.
  if (outcome === 'email_taken') return 'created_elsewhere';
  await meta.setOnce(ADMIN_CREATED, new Date(now).toISOString());
  opts.print(
    `Gatehouse: created the bootstrap administrator ${admin.email} (${ADMIN_ROLE}) with the temporary password from GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD; sign in to the console and choose a new password.\n`,
  );
  return 'created';
}
