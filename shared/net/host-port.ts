// A host (IP address or name) and a port, as written in a listen address or a wg-quick Endpoint.
// Unlike Endpoint (shared/net/address.ts), the host is not resolved and may be a name.

export interface HostPort {
  host: string;
  port: number;
}

/**
 * "host:port", "1.2.3.4:port" or "[v6]:port" (a zone may follow the v6 address); ":port" gives an
 * empty host for the caller to default. undefined when the text is not of that shape.
 */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+(?:%[\w.-]+)?)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2]!, port };
}

