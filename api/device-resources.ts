import type { DeviceActivityRow } from '../db/device-activities';
import type { DeviceRow } from '../db/devices';
import type { PagePosition } from './paging';
import { problem } from './problem';
import { isoTime } from '../domain/iso-time';

const iso = (d: Date | null | undefined) => (d ? isoTime(d) : null);

/** A device as Apple Business shapes it: type orgDevices, id = serial number, relationship assignedServer. */
export function orgDeviceResource(d: DeviceRow) {
  const self = `/v1/orgDevices/${encodeURIComponent(d.serialNumber)}`;
  return {
    type: 'orgDevices',
    id: d.serialNumber,
    attributes: {
      serialNumber: d.serialNumber,
      deviceModel: d.deviceModel,
      productFamily: d.productFamily,
      os: d.os,
      color: d.color,
      deviceCapacity: d.deviceCapacity,
      orderNumber: d.orderNumber,
      purchaseSourceType: d.purchaseSourceType,
      description: d.description,
      assetTag: d.assetTag,
      status: d.linkId ? 'ASSIGNED' : 'UNASSIGNED',
      addedToOrgDateTime: iso(d.addedAt),
      updatedDateTime: iso(d.updatedAt),
      assignedDateTime: iso(d.assignedAt),
      profileStatus: d.profileStatus,
      mdmMigrationDeadline: iso(d.mdmMigrationDeadline),
    },
    relationships: {
      assignedServer: {
        data: d.linkId ? { type: 'mdmServers', id: d.linkId } : null,
        links: { self: `${self}/relationships/assignedServer`, related: `${self}/assignedServer` },
      },
    },
    links: { self },
  };
}

/** An activity as Apple Business shapes it, with the per-device result file as downloadUrl. */
export function deviceActivityResource(a: DeviceActivityRow) {
  const self = `/v1/orgDeviceActivities/${a.id}`;
  return {
    type: 'orgDeviceActivities',
    id: a.id,
    attributes: {
      activityType: a.activityType,
      status: a.status,
      subStatus: a.subStatus,
      createdDateTime: iso(a.createdAt),
      completedDateTime: iso(a.completedAt),
      deviceCount: a.deviceCount,
      processedCount: a.processedCount,
      failedCount: a.failedCount,
      mdmMigrationDeadline: iso(a.mdmMigrationDeadline),
      deadlineReport: a.deadlineReport ?? null,
      downloadUrl: `${self}/results.csv`,
    },
    relationships: { mdmServer: { data: a.linkId ? { type: 'mdmServers', id: a.linkId } : null } },
    links: { self },
  };
}

/**
 * The serial number a device list continues after, from an api/paging.ts cursor position (key and
 * id are the last serial). Its signature already proves it ours; the shape is checked again so a
 * cursor can only ever become a serial-number comparison.
 */
export function serialAfter(position: PagePosition | undefined): string | undefined {
  if (!position) return undefined;
  if (!/^[0-9A-Z]{1,64}$/.test(position.key)) throw problem('BAD_REQUEST', 'Query parameter cursor: must be the meta.paging.nextCursor of a previous page of this list.');
  return position.key;
}
