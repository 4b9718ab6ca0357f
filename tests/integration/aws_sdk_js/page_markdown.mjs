// A web page as markdown, the way an agent's fetch tool or a knowledge
// base's ingestion turns pages into text: node page_markdown.mjs IN.html OUT.md
// Turndown converts the page, keeping its tables as HTML (markdown has no
// table of its own that turndown writes; keep() is how pages with data
// tables are usually converted), so OUT.md holds an HTML block.
import { readFileSync, writeFileSync } from "node:fs";
import TurndownService from "turndown";

const [src, out] = process.argv.slice(2);
const td = new TurndownService({ headingStyle: "atx" });
td.keep(["table"]);
writeFileSync(out, td.turndown(readFileSync(src, "utf8")) + "\n");
