/**
 * SCIM failures (RFC 7644 §3.12): an HTTP status and, for 400s (and 409 uniqueness), a `scimType`. The SCIM routes'
 * error handler answers them as `{"schemas":[ERROR], "status":"400", "scimType", "detail"}`; domain errors raised
 * by the shared services (not found, conflict, validation) are mapped there too.
 */

export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  /** The wire body: `status` is a string, as RFC 7644 §3.12 writes it. */
  toJSON(): ScimErrorBody {
    return { schemas: [SCIM_ERROR_SCHEMA], status: String(this.status), ...(this.scimType ? { scimType: this.scimType } : {}), detail: this.message };
  }
}

export interface ScimErrorBody {
  schemas: [typeof SCIM_ERROR_SCHEMA];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export const scimErrors = {
  invalidFilter: (detail: string) => new ScimError(400, detail, 'invalidFilter'),
  invalidValue: (detail: string) => new ScimError(400, detail, 'invalidValue'),
  invalidSyntax: (detail: string) => new ScimError(400, detail, 'invalidSyntax'),
  invalidPath: (detail: string) => new ScimError(400, detail, 'invalidPath'),
  noTarget: (detail: string) => new ScimError(400, detail, 'noTarget'),
  mutability: (detail: string) => new ScimError(400, detail, 'mutability'),
  tooMany: (detail: string) => new ScimError(400, detail, 'tooMany'),
  invalidVers: (detail: string) => new ScimError(400, detail, 'invalidVers'),
  sensitive: (detail: string) => new ScimError(403, detail, 'sensitive'),
  uniqueness: (detail: string) => new ScimError(409, detail, 'uniqueness'),
  notFound: (detail: string) => new ScimError(404, detail),
  preconditionFailed: (detail = 'The resource has changed: its version does not match If-Match') => new ScimError(412, detail),
  unauthorized: (detail = 'Requires authentication') => new ScimError(401, detail),
  forbidden: (detail = 'Forbidden') => new ScimError(403, detail),
  notImplemented: (detail: string) => new ScimError(501, detail),
  /** A request SCIM allows but Gatehouse does not support (e.g. a method on a discovery endpoint). */
  methodNotAllowed: (detail: string) => new ScimError(405, detail),
} as const;
