// ListBuckets with the AWS SDK for JavaScript v3 through an explicit proxy.
// Usage: node list_buckets.mjs PROXY_URL REGION ENDPOINT
// The endpoint's CA comes from NODE_EXTRA_CA_CERTS. Prints the bucket names
// as JSON on success; on failure prints {"error": name, "status": code} and
// exits 1, so the test can tell a proxy refusal from a crash.
import { S3Client, ListBucketsCommand } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { HttpsProxyAgent } from "https-proxy-agent";

const [proxyUrl, region, endpoint] = process.argv.slice(2);
const agent = new HttpsProxyAgent(proxyUrl);
const client = new S3Client({
  region,
  endpoint,
  forcePathStyle: true,
  maxAttempts: 1,
  credentials: {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  },
  requestHandler: new NodeHttpHandler({ httpsAgent: agent, connectionTimeout: 5000, requestTimeout: 10000 }),
});
try {
  const out = await client.send(new ListBucketsCommand({}));
  console.log(JSON.stringify({ buckets: (out.Buckets || []).map((b) => b.Name) }));
} catch (e) {
  console.log(JSON.stringify({ error: e.name || String(e), message: String(e.message || e), status: e.$metadata?.httpStatusCode ?? null }));
  process.exit(1);
}
