/**
 * Who is asking, as the edge sees it: the address the platform reports, and the key that a
 * client's failed attempts are counted under (rate limits, audit entries).
 */

/** The caller's address as the platform saw it (Cloudflare sets CF-Connecting-IP; locally it may be absent). */
export function clientAddress(req: Request): string {
  return req.headers.get("cf-connecting-ip")?.slice(0, 64) || "unknown";
}

/**
 * Whom failed attempts are counted against: the address, except that an IPv6 address counts
 * by its /64, which one subscriber holds whole (changing addresses inside it is free).
 */
export function clientKey(address: string): string {
  // IPv4, and IPv4 carried in IPv6 (::ffff:192.0.2.1): the whole address.
  if (!address.includes(":") || address.includes(".")) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const front = head ? head.split(":") : [];
  // A "::" stands for the missing zero groups.
  const groups =
    tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - tail.split(":").length)).fill("0")];
  if (groups.length < 4 || !groups.slice(0, 4).every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
