import { errors } from './errors.ts';
import { sessionEnded } from './sessions.ts';
import { decodeCursor, encodeCursor, type Page } from './paging.ts';
import type { Clock, UserStore } from './ports.ts';
import type { Revocations } from './principal-cache.ts';
import type { LoginSessionStore, SessionSummary } from './sign-in-ports.ts';

/** A session's use is written at most this often per session and process; every use in between is dropped. */
export const SESSION_USE_INTERVAL_MS = 60_000;
/** User agents are kept to this many characters. */
export const USER_AGENT_MAX_LENGTH = 300;

export interface UserSessionsDeps {
  users: Pick<UserStore, 'findById'>;
  loginSessions: LoginSessionStore;
  clock: Clock;
  revocations: Revocations;
  /** Writes of a session's use are fire-and-forget: a failed one is reported here and never fails a request. */
  onRecordError?: (err: unknown) => void;
  /** Sessions whose last write this process remembers (for the throttle); the oldest are forgotten beyond it. */
  maxTracked?: number;
}


// A page of sessions continues after a position in the newest-first order: "<created_at>:<id>" inside the cursor.
const POSITION = /^(\d{1,16}):([\w-]{1,200})$/;

function sessionPosition(cursor: string | undefined): { createdAt: number; id: string } | undefined {
  const position = decodeCursor(cursor, POSITION);
  if (position === null) return undefined;
  const [, createdAt, id] = POSITION.exec(position)!;
  return { createdAt: Number(createdAt), id: id! };
}

/** A user agent as stored: at most 300 characters, no half of a surrogate pair at the cut; empty is none. */
export function storedUserAgent(userAgent: string | undefined | null): string | null {
  if (userAgent === undefined || userAgent === null || userAgent.trim() === '') return null;
  let cut = userAgent.slice(0, USER_AGENT_MAX_LENGTH);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}

/** The `sid` claim of an access token this process has just minted (its signature needs no second look). */
function sessionIdOf(accessToken: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
    return typeof payload.sid === 'string' ? payload.sid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A user's login sessions as they and administrators see them: listing the live ones, ending one or all (every
 * token issued in them stops working — on this replica at once, on others within the principal cache's TTL), and
 * recording when and from where each was last used.
 */
export function createUserSessionService(deps: UserSessionsDeps) {
  const { users, loginSessions, clock, revocations } = deps;
  const maxTracked = deps.maxTracked ?? 100_000;
  // Session id → when this process last wrote its use. Map order is write order (an entry is re-inserted on each
  // write), so the entries older than the interval are always at the front and are dropped from there.
  const lastWrite = new Map<string, number>();

  async function existingUser(userId: string) {
    const user = await users.findById(userId);
    if (!user) throw errors.userNotFound(userId);
    return user;
  }

  /** Notes that the session's use at `now` is stored (moved to the back of the map), forgetting stale entries. */
  function remember(sessionId: string, now: number): void {
    lastWrite.delete(sessionId);
    lastWrite.set(sessionId, now);
    for (const [id, at] of lastWrite) {
      if (lastWrite.size <= maxTracked && now - at < SESSION_USE_INTERVAL_MS) break;
      lastWrite.delete(id);
    }
  }

  function touch(sessionId: string, clientIp: string | null | undefined, userAgent: string | null | undefined): void {
    const now = clock.now();
    const previous = lastWrite.get(sessionId);
    if (previous !== undefined && now - previous < SESSION_USE_INTERVAL_MS && now >= previous) return;
    remember(sessionId, now);
    const use = { at: now, clientIp: clientIp || null, userAgent: storedUserAgent(userAgent) };
    loginSessions.recordUse(sessionId, use).catch((err: unknown) => {
      if (lastWrite.get(sessionId) === now) lastWrite.delete(sessionId); // the next use tries again
      deps.onRecordError?.(err);
    });
  }

  return {
    /** The user's live sessions, newest first; `cursor` is the `next` of the previous page. */
    async list(userId: string, page: { pageSize: number; cursor?: string | undefined }): Promise<Page<SessionSummary>> {
      const after = sessionPosition(page.cursor);
      const user = await existingUser(userId);
      const found = await loginSessions.listLive({
        userId,
        tokenVersion: user.tokenVersion,
        now: clock.now(),
        limit: page.pageSize + 1,
        ...(after ? { after } : {}),
      });
      const items = found.slice(0, page.pageSize);
      const last = items.at(-1);
      return { items, next: found.length > page.pageSize && last ? encodeCursor(`${last.createdAt}:${last.id}`) : null };
    },

    /** Ends one session of the user that has not ended yet; anything else (unknown, ended, another user's) is 404. */
    async end(userId: string, sessionId: string): Promise<void> {
      await existingUser(userId);
      const session = await loginSessions.find(sessionId);
      if (!session || session.userId !== userId || session.endedAt !== null) throw errors.sessionNotFound();
      await loginSessions.end(sessionId, clock.now(), [sessionEnded(userId, sessionId, 'ended_by_admin')]);
      revocations.revoked(userId);
    },

    /** Ends every session of the user ("sign out everywhere"), the caller's own included. */
    async endAll(userId: string): Promise<void> {
      await existingUser(userId);
      await loginSessions.endAll(userId, clock.now(), [
        { action: 'session.ended', target: { type: 'user', id: userId }, details: { session_id: null, reason: 'all_ended_by_admin' } },
      ]);
      revocations.revoked(userId);
    },

    /**
     * Records a use of the session — when, from which address, with which user agent — unless this process wrote
     * one for it less than a minute ago. Returns at once: the write happens in the background and its failure is
     * only reported (`onRecordError`).
     */
    touch,

    /**
     * A token-only login stored its first use with its session: remembered like a write, so the session's uses
     * within the next minute are not written again.
     */
    loginStored<T extends { access_token: string }>(response: T): T {
      const sid = sessionIdOf(response.access_token);
      if (sid !== undefined) remember(sid, clock.now());
      return response;
    },

    /**
     * For the token endpoint: records the use of the session a refresh-token grant was issued in and hands the
     * response back unchanged.
     */
    recordGrant<T extends { access_token: string }>(response: T, clientIp: string | null | undefined, userAgent: string | null | undefined): T {
      const sid = sessionIdOf(response.access_token);
      if (sid !== undefined) touch(sid, clientIp, userAgent);
      return response;
    },
  };
}

export type UserSessionService = ReturnType<typeof createUserSessionService>;
