// warden/pki: certificate authorities, server and client certificates, CRLs, and inspection.

export {
  type CertificateAuthority,
  type CertificateAuthorityOptions,
  createCertificateAuthority,
} from './certificate-authority.js';
export {
  type CrlOptions,
  type CrlSummary,
  createCrl,
  crlSignedBy,
  type Revocation,
  readCrl,
} from './crl.js';
export { type CertificateSummary, describeCertificate } from './describe-certificate.js';
export { inspectPkiFile, type PkiFileContents } from './inspect-pki-file.js';
export { type IssuedCertificate, type IssueOptions, issueCertificate } from './issue-certificate.js';
export type { KeyType } from './key-pair.js';
export { loadCertificateAuthority } from './load-certificate-authority.js';
export { normalizedName, normalizedSerial } from './names.js';
export { OcspError, type OcspStatus, ocspRequest, ocspResponderUrls, readOcspResponse } from './ocsp.js';
export { type PemBlock, pemBlocks } from './pem.js';
export { createPkcs12, type Pkcs12Contents, type Pkcs12Input, readPkcs12 } from './pkcs12.js';
