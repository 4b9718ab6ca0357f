// Bedrock Runtime Converse with the AWS SDK for JavaScript v3, the user's
// message holding a document file as Converse takes it (format "doc",
// "xls", ...), to a local endpoint the test started:
// node converse_doc.mjs ENDPOINT FILE FORMAT. The endpoint's answer is not
// Bedrock's; the request is what the test reads.
import { readFileSync } from "node:fs";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { localClient } from "./local_client.mjs";

const [endpoint, file, format] = process.argv.slice(2);
const client = localClient(BedrockRuntimeClient, endpoint);
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
