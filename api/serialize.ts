import type { LinkView } from '../db/link-views';
import { isoTime } from '../domain/iso-time';

const iso = (d: Date | null | undefined) => (d ? isoTime(d) : null);

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
      createdDateTime: iso(view.createdAt),
      updatedDateTime: iso(view.updatedAt),
      certificate: view.certificate
        ? { fingerprintSha256: view.certificate.fingerprintSha256, subject: view.certificate.subject, notAfter: iso(view.certificate.notAfter) }
        : null,
      serviceToken: view.serviceToken ? serviceTokenAttributes(view.serviceToken) : null,
    },
    links: { self: `/v1/mdmServers/${view.id}` },
  };
}

export function serviceTokenAttributes(token: NonNullable<LinkView['serviceToken']>) {
  return {
    issuedDateTime: iso(token.issuedAt),
    expiresDateTime: iso(token.expiresAt),
    downloadedBy: token.downloadedBy,
    installedDateTime: iso(token.installedAt),
    status: token.status,
  };
}
