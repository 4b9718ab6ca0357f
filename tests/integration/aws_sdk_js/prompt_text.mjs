// A prompt with text the test wrote, to a local endpoint the test started:
// node prompt_text.mjs ENDPOINT converse|invoke FILE...
//  - converse: Bedrock Runtime Converse, each file a text content block of
//    the user's message;
//  - invoke: InvokeModel with an Anthropic Messages body (the files' text
//    as the user's content blocks), as an application builds it.
// The endpoint's answer is not Bedrock's; the request is what the test
// reads.
import { readFileSync } from "node:fs";
import { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { localClient } from "./local_client.mjs";

const [endpoint, mode, ...files] = process.argv.slice(2);
const client = localClient(BedrockRuntimeClient, endpoint);
const texts = files.map((f) => readFileSync(f, "utf8"));
const modelId = "anthropic.claude-3-haiku-20240307-v1:0";
try {
  if (mode === "converse") {
    await client.send(new ConverseCommand({
      modelId,
      messages: [{ role: "user", content: texts.map((text) => ({ text })) }],
    }));
  } else {
    await client.send(new InvokeModelCommand({
      modelId,
      contentType: "application/json",
      body: JSON.stringify({
        anthropic_version: "bedrock-2023-05-31",
        max_tokens: 512,
        messages: [{ role: "user", content: texts.map((text) => ({ type: "text", text })) }],
      }),
    }));
  }
} catch (e) {
  // (the local endpoint does not answer as Bedrock does)
}
