// A GFM table as markdown-table writes it (what an application or a model
// makes of rows): node make_markdown.mjs ROWS_JSON OUT [OPTIONS_JSON],
// ROWS_JSON a file with [[header...], [cell...], ...], OPTIONS_JSON
// markdown-table's options ({"delimiterStart": false, "delimiterEnd":
// false}: no outer pipes). OUT gets the table, aligned.
import { readFileSync, writeFileSync } from "node:fs";
import { markdownTable } from "markdown-table";

const [rows, out, opts] = process.argv.slice(2);
writeFileSync(out, markdownTable(JSON.parse(readFileSync(rows, "utf8")), opts ? JSON.parse(opts) : {}) + "\n");
