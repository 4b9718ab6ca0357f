// Bedrock Runtime Converse with the AWS SDK for JavaScript v3, the user's
// message holding a document file as Converse takes it (format "doc",
// "xls", ...), to a local endpoint the test started:
// node converse_doc.mjs ENDPOINT FILE FORMAT. The endpoint's answer is not
// Bedrock's; the request is what the test reads.
import { readFileSync } from "node:fs";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const [endpoint, file, format] = process.argv.slice(2);
const client = new BedrockRuntimeClient({
  region: "eu-central-1",
  endpoint,
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 10000 }), // (HTTP/1.1: the test's endpoint)
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
});
try {
  await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [{
      role: "user",
      content: [
        { text: "Summarise the attached" },
        { document: { format, name: "attachment", source: { bytes: new Uint8Array(readFileSync(file)) } } },
      ],
    }],
  }));
} catch (e) {
  // (the local endpoint does not answer as Bedrock does)
}
