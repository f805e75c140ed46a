import type { DeviceRow } from '../../db/devices';

const iso = (d: Date | null) => (d ? d.toISOString() : undefined);

/**
 * A device as the device enrollment service describes it (Apple's Device object). Fields depend on
 * the protocol version as Apple's do: `device_family` and `os` from 2 (`iPadOS` for iPads from 7,
 * `iOS` before), `mdm_migration_deadline` from 8. Absent values are left out, never sent as "":
 * clients parse the dates as RFC 3339.
 */
export function depDeviceJson(d: DeviceRow, protocolVersion: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    serial_number: d.serialNumber,
    model: d.deviceModel,
    description: d.description,
    color: d.color,
    asset_tag: d.assetTag,
    profile_status: d.profileStatus,
  };
  const put = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) out[key] = value;
  };
  put('device_assigned_by', d.assignedBy);
  put('device_assigned_date', iso(d.assignedAt));
  put('profile_uuid', d.profileUuid);
  put('profile_assign_time', iso(d.profileAssignedAt));
  put('profile_push_time', iso(d.profilePushedAt));
  if (protocolVersion >= 2) {
    out.device_family = d.productFamily;
    out.os = d.os === 'iPadOS' && protocolVersion < 7 ? 'iOS' : d.os;
  }
  if (protocolVersion >= 8) put('mdm_migration_deadline', iso(d.mdmMigrationDeadline));
  return out;
}
