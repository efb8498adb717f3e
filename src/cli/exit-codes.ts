import { DomainError, ValidationError } from '../domain/errors.ts';

/** What `gatehouse` exits with; documented in docs/cli.md and the README, so scripts may rely on them. */
export const EXIT = {
  ok: 0,
  /** The database cannot be reached, or something unexpected went wrong. */
  failure: 1,
  /** A bad or missing flag or argument, an unknown verb, an invalid value. */
  usage: 2,
  /** No such user, key or client. */
  notFound: 3,
  /** Refused: a conflict or a policy (duplicate email, password policy, last admin key, key limit). */
  refused: 4,
} as const;

/** A failure the command line reports as one `gatehouse: …` line, exiting with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

// A limit is a policy, though the API answers it as a plain 400.
const POLICY_MESSAGES = new Set(['Maximum number of active keys reached']);

/**
 * The exit code of a domain error. A password the policy refuses is a refusal (4), like a duplicate email; any
 * other invalid field is a usage error (2): the operator typed something the command cannot take.
 */
export function exitCodeOf(err: DomainError): number {
  if (err instanceof ValidationError) return err.problems.some((p) => p.loc.includes('password')) ? EXIT.refused : EXIT.usage;
  switch (err.code) {
    case 'not_found':
      return EXIT.notFound;
    case 'conflict':
    case 'forbidden':
    case 'precondition_failed':
    case 'too_many_requests':
      return EXIT.refused;
    case 'bad_request':
      return POLICY_MESSAGES.has(err.message) ? EXIT.refused : EXIT.usage;
    case 'validation':
      return EXIT.usage;
    default:
      return EXIT.failure;
  }
}

/** One line for a domain error: the validation problems' sentences rather than "Validation failed". */
export function messageOf(err: DomainError): string {
  if (err instanceof ValidationError) {
    return err.problems.map((p) => `${p.loc.filter((l) => l !== 'body').join('.')}: ${p.msg.replace(/^Value error, /, '')}`).join('; ');
  }
  return err.message;
}
