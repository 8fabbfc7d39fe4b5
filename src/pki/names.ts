// Certificate names and serial numbers in one canonical form, so a CRL's, Node's and OpenSSL's
// spellings compare. Apart from crl.ts: the TLS edge needs these on every client certificate,
// and crl.ts loads @peculiar/x509 (megabytes of heap) that a broker without CRLs never needs.

export function normalizedSerial(hex: string): string {
  return hex
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

/** "CN=a, O=b" or Node's "O=b\nCN=a" as "cn=a,o=b". */
export function normalizedName(name: string): string {
  return name
    .split(/\n|,\s*/)
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      return `${part.slice(0, eq).trim().toLowerCase()}=${part.slice(eq + 1).trim()}`;
    })
    .sort()
    .join(',');
}
