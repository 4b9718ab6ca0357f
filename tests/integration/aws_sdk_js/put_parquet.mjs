// S3 PutObject of a Parquet file with the AWS SDK for JavaScript v3, to a
// local endpoint the test started:
// node put_parquet.mjs ENDPOINT WRITER CODECS N [DATA] [BODY] [OUTDIR]
// WRITER "wasm": parquet-wasm (arrow-rs in WebAssembly) writes a table that
// apache-arrow built (columns name, email, customer_id int64, amount
// double; dictionary pages, page statistics, the Arrow schema in the
// footer; an int64 card_number column, a date birth_date column, a string
// passport_number column);
// "lite": parquetjs-lite (pure JS, v1 data pages, PLAIN values; optional
// email, ssn and dob (DATE) columns, an INT64 card_number, a repeated tags
// column). CODECS, comma-
// separated, one file and one PutObject each, in order: SNAPPY, GZIP, ZSTD,
// BROTLI, UNCOMPRESSED, LZ4_RAW (wasm); SNAPPY, GZIP, UNCOMPRESSED (lite).
// N rows; DATA "pii" (default): row i's email is
// user<i>@branch<i>.corp-mail.de for every 10th row (wasm) or
// p<i>@branch<i>.corp-mail.de for i % 3 != 0 (lite; a domain of its own
// each, so that the masked excerpts tell the addresses apart), a plain word
// otherwise, and row 7's ssn (lite) is "SSN 536-22-1847", row 8's a bare
// "536221848"; row 6's passport_number (wasm) "C01X00T47"; the card number
// is 4111111111111111 in row 5 (wasm) or 5500005555555559 in row 4 (lite),
// an order-like number otherwise; the birth date 1985-03-12 in row 3 (wasm)
// or 1979-11-30 in row 2 (lite), null otherwise; "clean": words and
// numbers only. BODY "bytes" (default: the SDK sends the file as it
// is) or "stream" (a stream of known length: the SDK frames it aws-chunked
// with a trailing checksum). OUTDIR: a directory the files are also
// written to (CODEC.parquet). The endpoint's answer is not S3's; the
// requests are what the test reads.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Readable, Writable } from "node:stream";
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import { localClient } from "./local_client.mjs";
import * as arrow from "apache-arrow";
import parquet from "parquetjs-lite";

const require = createRequire(import.meta.url);
const pw = require("parquet-wasm/node"); // (the subpath …/node/parquet_wasm.js is not exported)

const [endpoint, writer, codecs, n, data = "pii", body = "bytes", outdir] = process.argv.slice(2);
const rows = Number(n);
const pii = data !== "clean";
const words = ["pending", "shipped", "returned", "invoiced", "cancelled"];

function wasmFile(codec) {
  if (!(codec in pw.Compression)) throw new Error(`no codec ${codec} in parquet-wasm`);
  const name = [], email = [], id = [], amount = [], card = [], born = [], passport = [];
  for (let i = 0; i < rows; i++) {
    name.push(`Customer ${i}`);
    email.push(pii && i % 10 === 0 ? `user${i}@branch${i}.corp-mail.de` : `${words[i % words.length]} ${i}`);
    id.push(BigInt(100000 + i));
    amount.push(i * 1.25);
    card.push(pii && i === 5 ? 4111111111111111n : BigInt(5000000 + i));
    born.push(pii && i === 3 ? new Date(Date.UTC(1985, 2, 12)) : null);
    passport.push(pii && i === 6 ? "C01X00T47" : "none");
  }
  const t = new arrow.Table({
    name: arrow.vectorFromArray(name, new arrow.Utf8()), email: arrow.vectorFromArray(email, new arrow.Utf8()),
    customer_id: arrow.makeVector(BigInt64Array.from(id)), amount: arrow.makeVector(Float64Array.from(amount)),
    card_number: arrow.makeVector(BigInt64Array.from(card)),
    birth_date: arrow.vectorFromArray(born, new arrow.DateDay()),
    passport_number: arrow.vectorFromArray(passport, new arrow.Utf8()),
  });
  const table = pw.Table.fromIPCStream(arrow.tableToIPC(t, "stream"));
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression[codec]).build();
  return Buffer.from(pw.writeParquet(table, props));
}

async function liteFile(comp) {
  const schema = new parquet.ParquetSchema({
    name: { type: "UTF8", compression: comp },
    email: { type: "UTF8", optional: true, compression: comp },
    ssn: { type: "UTF8", optional: true, compression: comp },
    qty: { type: "INT64", compression: comp },
    card_number: { type: "INT64", compression: comp },
    dob: { type: "DATE", optional: true, compression: comp },
    tags: { type: "UTF8", repeated: true, compression: comp },
  });
  const parts = [];
  const sink = new Writable({ write(chunk, enc, done) { parts.push(Buffer.from(chunk)); done(); } });
  const w = await parquet.ParquetWriter.openStream(schema, sink, { pageSize: 500 });
  for (let i = 0; i < rows; i++) {
    const row = { name: `Person ${i}`, qty: i, tags: [`t${i}`, words[i % words.length]],
                  card_number: pii && i === 4 ? 5500005555555559 : 7000000 + i };
    if (i === 2 && pii) row.dob = new Date(Date.UTC(1979, 10, 30));
    if (i % 3) row.email = pii ? `p${i}@branch${i}.corp-mail.de` : `${words[i % words.length]} ${i}`;
    if (i === 7 && pii) row.ssn = "SSN 536-22-1847";
    if (i === 8 && pii) row.ssn = "536221848"; // (bare: found under the column's name)
    await w.appendRow(row);
  }
  await w.close();
  return Buffer.concat(parts);
}

const client = localClient(S3Client, endpoint, { forcePathStyle: true });
for (const codec of codecs.split(",")) {
  const file = writer === "lite" ? await liteFile(codec) : wasmFile(codec);
  if (outdir) writeFileSync(join(outdir, `${codec}.parquet`), file);
  try {
    await client.send(new PutObjectCommand({
      Bucket: "lake",
      Key: "sales/part-0000.parquet",
      ContentType: "application/vnd.apache.parquet",
      ...(body === "stream" ? { Body: Readable.from([file]), ContentLength: file.length } : { Body: file }),
    }));
  } catch (e) {
    // (the local endpoint does not answer as S3 does)
  }
}
