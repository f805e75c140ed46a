import type { LinkView } from '../db/link-views';
import { isoTimeOfMs } from '../domain/iso-time';

const iso = (ms: number | null) => (ms === null ? null : isoTimeOfMs(ms));

/** A link as a JSON:API resource object of type "mdmServers". */
export function mdmServerResource(view: LinkView) {
  return {
    type: 'mdmServers',
    id: view.id,
    attributes: {
      serverName: view.serverName,
      serverType: view.serverType,
      allowReleaseDevices: view.allowReleaseDevices,
      linkState: view.linkState,
      replacementReason: view.replacementReason,
      createdDateTime: iso(view.createdAtMs),
      updatedDateTime: iso(view.updatedAtMs),
      certificate: view.certificate
        ? { fingerprintSha256: view.certificate.fingerprintSha256, subject: view.certificate.subject, notAfter: iso(view.certificate.notAfterMs) }
        : null,
      serviceToken: view.serviceToken ? serviceTokenAttributes(view.serviceToken) : null,
    },
    links: { self: `/v1/mdmServers/${view.id}` },
  };
}

export function serviceTokenAttributes(token: NonNullable<LinkView['serviceToken']>) {
  return {
    issuedDateTime: iso(token.issuedAtMs),
    expiresDateTime: iso(token.expiresAtMs),
    downloadedBy: token.downloadedBy,
    installedDateTime: iso(token.installedAtMs),
    status: token.status,
  };
}
