// An agent's turn with a web page it fetched, to a local endpoint the test
// started: node tool_result.mjs ENDPOINT PAGE_URL
// Fetches PAGE_URL (a server the test started on 127.0.0.1) as an agent's
// fetch tool does, and sends Bedrock Runtime Converse: the user's question,
// the model's toolUse, and the page as the toolResult's text. The
// endpoint's answer is not Bedrock's; the request is what the test reads.
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { localClient } from "./local_client.mjs";

const [endpoint, url] = process.argv.slice(2);
const res = await fetch(url);
if (!res.ok) {
  console.error(`fetch ${url}: ${res.status}`);
  process.exit(2);
}
const page = await res.text();
const client = localClient(BedrockRuntimeClient, endpoint);
const fetchTool = {
  name: "fetch_page",
  description: "Fetches a web page",
  inputSchema: { json: { type: "object", properties: { url: { type: "string" } }, required: ["url"] } },
};
try {
  await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [
      { role: "user", content: [{ text: `Who is listed on ${url}?` }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "tooluse_1", name: "fetch_page", input: { url } } }] },
      {
        role: "user",
        content: [{ toolResult: { toolUseId: "tooluse_1", content: [{ text: page }], status: "success" } }],
      },
    ],
    toolConfig: { tools: [{ toolSpec: fetchTool }] },
  }));
} catch (e) {
  // (the local endpoint does not answer as Bedrock does)
}
