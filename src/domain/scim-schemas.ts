/**
 * What Gatehouse tells SCIM clients about itself (RFC 7643 §5–7, RFC 7644 §4): the service provider configuration,
 * the User and Group resource types, and their schemas — advertising only attributes Gatehouse really stores.
 * Users: userName (the email, unless a provider sets it apart), name.givenName / name.familyName, emails (the one email, type "work"), active,
 * externalId, password (write-only), groups (read-only). Groups: displayName, members, externalId. The enterprise
 * extension is not advertised: none of its attributes (employeeNumber, department, manager…) is stored, and what a
 * client sends of it is ignored.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** The largest request body SCIM routes accept (a group push of a thousand members fits). */
export const SCIM_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** The most resources one list page returns. */
export const SCIM_MAX_RESULTS = 1000;

export const SCIM_DISCOVERY_SCHEMAS = [SERVICE_PROVIDER_CONFIG_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA] as const;

interface AttributeDefinition {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttributeDefinition[];
  referenceTypes?: string[];
  canonicalValues?: string[];
}

function attr(name: string, type: AttributeDefinition['type'], description: string, more: Partial<AttributeDefinition> = {}): AttributeDefinition {
  return { name, type, multiValued: false, description, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...more };
}

const USER_ATTRIBUTES: AttributeDefinition[] = [
  attr('userName', 'string', "Unique among userNames and emails, compared case-insensitively and stored lower-cased. The user's email address unless set apart from it (then the address is in emails).", { required: true, uniqueness: 'server' }),
  attr('name', 'complex', "The user's name.", {
    subAttributes: [attr('givenName', 'string', 'Given (first) name, at most 100 characters.'), attr('familyName', 'string', 'Family (last) name, at most 100 characters.')],
  }),
  attr('emails', 'complex', "The user's one email address, of type work and primary: every Gatehouse user has one (it may be left out only when the userName is that address). Of several sent, the primary one is kept (else the work one, else the first).", {
    multiValued: true,
    required: true,
    subAttributes: [
      attr('value', 'string', 'The email address (the userName too, unless the userName was set apart).', { required: true }),
      attr('type', 'string', 'Always "work".', { canonicalValues: ['work'] }),
      attr('primary', 'boolean', 'Always true.'),
    ],
  }),
  attr('active', 'boolean', 'false: the user cannot sign in, and every session and token of theirs ends.'),
  attr('password', 'string', 'Set on create or replace; checked by the password policy. Never returned.', { mutability: 'writeOnly', returned: 'never' }),
  attr('groups', 'complex', 'The groups the user is a member of; changed through the Groups endpoint.', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attr('value', 'string', "The group's id.", { mutability: 'readOnly' }),
      attr('$ref', 'reference', "The group's URI.", { mutability: 'readOnly', referenceTypes: ['Group'] }),
      attr('display', 'string', "The group's displayName.", { mutability: 'readOnly' }),
      attr('type', 'string', 'Always "direct".', { mutability: 'readOnly', canonicalValues: ['direct'] }),
    ],
  }),
];

const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  attr('displayName', 'string', "The group's name, unique in Gatehouse.", { required: true, uniqueness: 'server' }),
  attr('members', 'complex', 'The users in the group.', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', "The member's user id.", { mutability: 'immutable' }),
      attr('$ref', 'reference', "The member's URI.", { mutability: 'immutable', referenceTypes: ['User'] }),
      attr('display', 'string', "The member's userName.", { mutability: 'readOnly' }),
      attr('type', 'string', 'Always "User".', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

/** `id`, `externalId` and `meta` (RFC 7643 §3.1) as a schema lists them. */
const COMMON_ATTRIBUTES: AttributeDefinition[] = [
  attr('id', 'string', 'Issued by Gatehouse; never changes.', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  attr('externalId', 'string', "The identity provider's own id for the resource.", { caseExact: true }),
  attr('meta', 'complex', 'Resource metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', 'User or Group.', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', 'When the resource was created.', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'When the resource last changed.', { mutability: 'readOnly' }),
      attr('location', 'reference', "The resource's URI.", { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', 'Weak entity tag of the resource; also sent as ETag and checked against If-Match.', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

export function serviceProviderConfig(base: string) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: 'https://github.com/gatehouse/gatehouse#provisioning-from-your-identity-provider',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: SCIM_MAX_RESULTS },
    changePassword: { supported: true },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer API key',
        description: 'A Gatehouse API key holding the SCIM-PROVISIONER role, sent as "Authorization: Bearer <key>".',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string) {
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A Gatehouse user',
      schema: USER_SCHEMA,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A Gatehouse group',
      schema: GROUP_SCHEMA,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

export function schemaDefinitions(base: string) {
  return [
    {
      schemas: [SCHEMA_SCHEMA],
      id: USER_SCHEMA,
      name: 'User',
      description: 'User Account',
      attributes: [...COMMON_ATTRIBUTES, ...USER_ATTRIBUTES],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${USER_SCHEMA}` },
    },
    {
      schemas: [SCHEMA_SCHEMA],
      id: GROUP_SCHEMA,
      name: 'Group',
      description: 'Group',
      attributes: [...COMMON_ATTRIBUTES, ...GROUP_ATTRIBUTES],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${GROUP_SCHEMA}` },
    },
  ];
}
