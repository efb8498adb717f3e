import { secretMatcher } from '../security/secrets.ts';

/** Why a scrape was refused, as the API words its 401s; null when it may go ahead. */
export type ScrapeRefusal = 'Requires authentication' | 'Bad credentials' | null;

/**
 * Who may read /metrics: anyone when no token is configured (today's default), otherwise only a request whose
 * Authorization header is `Bearer <token>`, compared in constant time. Only the header counts: a scraper sends one,
 * and a browser's cookies must not open the metrics.
 */
export function scrapeGuard(token: string | null): (authorization: string | string[] | undefined) => ScrapeRefusal {
  if (token === null) return () => null;
  const matches = secretMatcher(token);
  return (authorization) => {
    if (typeof authorization !== 'string' || authorization.trim() === '') return 'Requires authentication';
    const parts = authorization.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer') return 'Bad credentials';
    return matches(parts[1]!) ? null : 'Bad credentials';
  };
}
