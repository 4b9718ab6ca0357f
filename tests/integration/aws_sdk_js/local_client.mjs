// The client options every script here uses against the test's own local
// endpoint: one attempt, HTTP/1.1 with short timeouts, AWS's documented
// example credentials. localClient(ClientClass, endpoint, extra) → a client.
import { NodeHttpHandler } from "@smithy/node-http-handler";

export function localClient(Client, endpoint, extra = {}) {
  return new Client({
    region: "eu-central-1",
    endpoint,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 10000 }), // (HTTP/1.1: the test's endpoint)
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
    ...extra,
  });
}
