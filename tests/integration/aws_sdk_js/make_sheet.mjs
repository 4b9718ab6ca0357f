// An Excel 97-2003 workbook (BIFF8 in an OLE2 compound file) written by
// SheetJS from rows given as JSON: node make_sheet.mjs OUT ROWS_JSON [SHEET].
import { writeFileSync } from "node:fs";
import * as XLSX from "xlsx";

const [out, rows, sheet] = process.argv.slice(2);
const wb = XLSX.utils.book_new();
XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(JSON.parse(rows)), sheet || "Sheet1");
writeFileSync(out, XLSX.write(wb, { type: "buffer", bookType: "biff8" }));
