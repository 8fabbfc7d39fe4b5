// PEM blocks: finding them in a text of several (a bundle, a key file, a CRL), and writing one.

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

export interface PemBlock {
  readonly label: string;
  /** The whole block, BEGIN to END lines. */
  readonly text: string;
}

/** Every PEM block of the text, in order; only those with `label` when given. */
export function pemBlocks(text: string, label?: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)]
    .map((m) => ({ label: m[1] ?? '', text: m[0] }))
    .filter((b) => label === undefined || b.label === label);
}

export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const base64 = Buffer.from(der as Uint8Array)
    .toString('base64')
    .replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}
