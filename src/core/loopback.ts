// What counts as "this machine" wherever a rule depends on it: the self-updater's plain-http exception and the
// HTTP API's token-less reads and bind check. Only literal loopback names count: a name that merely resolves to
// 127.0.0.1 could resolve elsewhere tomorrow, and `localhost.` or `*.localhost` are left out because being strict
// here only costs a spelling.

/**
 * Whether a host name (a URL's or bind address's hostname, or a Host header's name; IPv6 with or without
 * brackets) is loopback only: `localhost`, 127.0.0.0/8 or ::1.
 */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || isLoopbackAddress(name);
}

/** Whether an IP address (a peer's, as `server.requestIP` gives it) is loopback: 127.0.0.0/8, ::1, or IPv4 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string): boolean {
  const ip = address.toLowerCase().replace(/^::ffff:/, "");
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return ip === "::1" || ip === "0:0:0:0:0:0:0:1" || (octets !== null && octets.slice(1).every((o) => Number(o) <= 255));
}
