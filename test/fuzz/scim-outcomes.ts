import type { ScimClient, ScimResponse } from '../scim/rfc-helpers.ts';

/**
 * The SCIM fuzz suites' sender: every request through `client`, counted by status and scimType, so a suite can print
 * how often each outcome was answered (to see its generators reach every one).
 */
export function countingSender(client: ScimClient) {
  let sent = 0;
  const outcomes = new Map<string, number>();
  const send = async (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse> => {
    sent += 1;
    const res = await client.req(method, path, body, headers);
    const key = `${res.status}${res.body?.scimType ? ` ${res.body.scimType}` : ''}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    return res;
  };
  /** One line for the test output: how many requests of `kind`, and each outcome's count. */
  const summary = (kind: string) => `# fuzz: ${sent} ${kind} requests: ${[...outcomes].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}\n`;
  return { send, summary };
}
