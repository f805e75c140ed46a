import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';

/**
 * Custom search attributes every link workflow keeps current, so operators can list lifecycles in
 * the Temporal UI (README "Operating"). Values are stored in clear: ids, names and dates only.
 */
export const OrganizationIdAttribute = defineSearchAttributeKey('DmsOrganizationId', SearchAttributeType.KEYWORD);
export const ServerNameAttribute = defineSearchAttributeKey('DmsServerName', SearchAttributeType.KEYWORD);
export const LinkStateAttribute = defineSearchAttributeKey('DmsLinkState', SearchAttributeType.KEYWORD);
export const TokenExpiryAttribute = defineSearchAttributeKey('DmsTokenExpiry', SearchAttributeType.DATETIME);
export const TokenIssuedAttribute = defineSearchAttributeKey('DmsTokenIssued', SearchAttributeType.DATETIME);

export const LINK_SEARCH_ATTRIBUTES = [
  OrganizationIdAttribute,
  ServerNameAttribute,
  LinkStateAttribute,
  TokenExpiryAttribute,
  TokenIssuedAttribute,
] as const;

/** The CLI's names for the types, for `temporal server start-dev --search-attribute`. */
export const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.BOOL]: 'Bool',
};

/** The search attribute values of a link at one moment (also used by the benchmark's no-op twin). */
export function linkSearchAttributePairs(
  orgId: string,
  life: { serverName: string; linkState: string; token: { expiresAtMs: number; issuedAtMs: number } | null },
): SearchAttributeUpdatePair[] {
  return [
    { key: OrganizationIdAttribute, value: orgId },
    { key: ServerNameAttribute, value: life.serverName },
    { key: LinkStateAttribute, value: life.linkState },
    ...(life.token
      ? [
          { key: TokenExpiryAttribute, value: new Date(life.token.expiresAtMs) },
          { key: TokenIssuedAttribute, value: new Date(life.token.issuedAtMs) },
        ]
      : []),
  ];
}
