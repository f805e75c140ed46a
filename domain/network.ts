import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may reach. ipaddr.js (a maintained classifier, also behind Express's
 * proxy-addr) names the special range of an address; only plain global unicast is allowed, so
 * loopback, private (RFC 1918), link-local (cloud metadata), CGNAT 100.64/10, multicast,
 * unspecified, broadcast, documentation and other reserved ranges, IPv4-mapped ::ffff:0:0/96,
 * NAT64, 6to4 2002::/16, Teredo 2001::/32, ULA fc00::/7 and fe80::/10 are all refused. Ranges a
 * future version adds are refused too, since anything not "unicast" is.
 *
 * IPv4-compatible addresses (::a.b.c.d, ::/96, deprecated by RFC 4291) are not a range of
 * ipaddr.js; they are refused here by hand, as an IPv6 stack may route them to the IPv4 address.
 */
const IPV4_COMPATIBLE: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('::'), 96];

/** Why an address is refused (the range's name), or null for a public address. */
export function blockedRangeOf(address: string): string | null {
  // Zone ids (fe80::1%eth0) only occur on link-local addresses; parse without them.
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return 'notAnAddress';
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).match(IPV4_COMPATIBLE)) {
    return (parsed as ipaddr.IPv6).range() === 'unicast' ? 'ipv4Compatible' : (parsed as ipaddr.IPv6).range();
  }
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

/** True for an IP address on the public internet. */
export function isPublicAddress(address: string): boolean {
  return blockedRangeOf(address) === null;
}
