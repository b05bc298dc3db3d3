// httpsLoopback: a small HTTPS client for tests that talk to the Entra stand-in from inside the test
// process. Node reads NODE_EXTRA_CA_CERTS only at start, and the stand-in's certificate is made later,
// so in-process calls pass the certificate explicitly (`ca`) instead; nothing here turns verification off.

import { request } from "node:https";

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export function httpsCall(
  url: string,
  opts: { ca: string; method?: string; form?: Record<string, string>; headers?: Record<string, string> },
): Promise<HttpsAnswer> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? (body ? "POST" : "GET"),
        ca: opts.ca,
        headers: {
          ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
          ...(opts.headers ?? {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}
