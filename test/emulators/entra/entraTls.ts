// entraTls: the Entra stand-in's TLS certificate. MSAL and @azure/identity refuse an authority that is
// not https, so the stand-in must speak TLS on loopback with a certificate the bot process trusts.
// Node can parse X.509 (crypto.X509Certificate) but cannot issue a certificate, so the system's
// openssl makes a self-signed one at start (a few tens of milliseconds), valid for 127.0.0.1, ::1 and
// localhost. Its PEM file is what a process gets through NODE_EXTRA_CA_CERTS (Node reads that variable
// once, at start, and adds the file to its trusted roots).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SelfSignedTls {
  key: string;
  cert: string;
  /** The certificate's PEM file (for NODE_EXTRA_CA_CERTS). */
  certPath: string;
  /** Removes the files. */
  dispose(): void;
}

export function makeSelfSignedTls(commonName = "Entra stand-in (syncbot tests)"): SelfSignedTls {
  const dir = mkdtempSync(join(tmpdir(), "entra-tls-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "2",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
        // A self-signed leaf is its own issuer; marking it a CA lets NODE_EXTRA_CA_CERTS anchor it.
        "-addext",
        "basicConstraints=critical,CA:TRUE",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const why = (e as { code?: string }).code === "ENOENT" ? "openssl is not installed (apt-get install openssl)" : e;
    throw new Error(`the Entra stand-in could not make its TLS certificate: ${String(why)}`);
  }
  return {
    key: readFileSync(keyPath, "utf8"),
    cert: readFileSync(certPath, "utf8"),
    certPath,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
