// Bedrock Runtime Converse with the AWS SDK for JavaScript v3, the user's
// message holding a PDF document that jsPDF made, to a local endpoint the
// test started: node converse_pdf.mjs ENDPOINT TEXT [AUTHOR] [COMPRESS] [OUT].
// TEXT is the page's text; AUTHOR (empty: none) the document's Author
// property; COMPRESS "compress" makes jsPDF deflate its streams (the page's
// text then only in a FlateDecode stream), else they are plain; OUT a path
// the PDF is also written to. The endpoint's answer is not Bedrock's; the
// request is what the test reads.
import { writeFileSync } from "node:fs";
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { localClient } from "./local_client.mjs";
import { jsPDF } from "jspdf";

const [endpoint, text, author, compress, out] = process.argv.slice(2);
const doc = new jsPDF({ compress: compress === "compress" });
if (author) doc.setProperties({ title: "Intake form", author });
doc.text(text, 20, 20);
const pdf = new Uint8Array(doc.output("arraybuffer"));
if (out) writeFileSync(out, pdf);
const client = localClient(BedrockRuntimeClient, endpoint);
try {
  await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [{
      role: "user",
      content: [
        { text: "Summarise the attached" },
        { document: { format: "pdf", name: "intake", source: { bytes: pdf } } },
      ],
    }],
  }));
} catch (e) {
  // (the local endpoint does not answer as Bedrock does)
}
