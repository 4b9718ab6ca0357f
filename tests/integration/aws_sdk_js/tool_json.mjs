// A tool's answer as JSON, to a local endpoint the test started: node
// tool_json.mjs ENDPOINT FILE
// Sends Bedrock Runtime Converse with the model's toolUse and, as the
// toolResult, the JSON document in FILE (a `json` content block, which the
// SDK serialises as it is). The endpoint's answer is not Bedrock's; the
// request is what the test reads.
import { readFileSync } from "node:fs";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { localClient } from "./local_client.mjs";

const [endpoint, file] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(file, "utf8"));
const client = localClient(BedrockRuntimeClient, endpoint);
const lookup = {
  name: "lookup_customer",
  description: "Looks a customer up",
  inputSchema: { json: { type: "object", properties: { id: { type: "string" } }, required: ["id"] } },
};
try {
  await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [
      { role: "user", content: [{ text: "Which card does customer 1843 pay with?" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "tooluse_1", name: "lookup_customer", input: { id: "1843" } } }] },
      { role: "user", content: [{ toolResult: { toolUseId: "tooluse_1", content: [{ json: doc }], status: "success" } }] },
    ],
    toolConfig: { tools: [{ toolSpec: lookup }] },
  }));
} catch (e) {
  // (the local endpoint does not answer as Bedrock does)
}
