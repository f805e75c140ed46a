/**
 * `X-Server-Protocol-Version` as a number. Absent or unreadable means version 1, as Apple treats it;
 * fields that depend on it: account's org_id… and urls (3), mdm_migration_deadline (8).
 */
export function protocolVersionOf(header: string | undefined): number {
  if (!header || !/^\s*\d{1,4}\s*$/.test(header)) return 1;
  return Number(header.trim());
}
