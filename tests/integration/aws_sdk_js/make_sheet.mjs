// A workbook written by SheetJS from rows given as JSON:
//   node make_sheet.mjs OUT ROWS_JSON [SHEET] [OPTIONS_JSON]
// By default an Excel 97-2003 workbook (BIFF8 in an OLE2 compound file).
// OPTIONS_JSON: {"bookType": "xlsx", "bookSST": true, "dates": [1]}: the
// book type, shared strings, and the columns whose "YYYY-MM-DD" strings are
// written as dates (numbers in a date format, as Excel stores them).
import { writeFileSync } from "node:fs";
import * as XLSX from "xlsx";

const [out, rows, sheet, opts] = process.argv.slice(2);
const o = opts ? JSON.parse(opts) : {};
const data = JSON.parse(rows).map((row, y) =>
  row.map((v, x) => (y > 0 && (o.dates || []).includes(x) ? new Date(`${v}T00:00:00Z`) : v)));
const wb = XLSX.utils.book_new();
XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(data, { UTC: true }), sheet || "Sheet1");
writeFileSync(out, XLSX.write(wb, { type: "buffer", bookType: o.bookType || "biff8", bookSST: !!o.bookSST }));
