// A GFM table as markdown-table writes it (what an application or a model
// makes of rows): node make_markdown.mjs ROWS_JSON OUT, ROWS_JSON a file
// with [[header...], [cell...], ...]. OUT gets the table, aligned.
import { readFileSync, writeFileSync } from "node:fs";
import { markdownTable } from "markdown-table";

const [rows, out] = process.argv.slice(2);
writeFileSync(out, markdownTable(JSON.parse(readFileSync(rows, "utf8"))) + "\n");
