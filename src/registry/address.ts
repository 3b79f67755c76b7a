/** "host:port", an IPv6 host in brackets ("[::1]:7000"): how an instance, an endpoint and a message name an address. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
