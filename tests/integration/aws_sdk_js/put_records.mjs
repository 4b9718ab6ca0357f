// Kinesis PutRecords with the AWS SDK for JavaScript v3, its records packed
// in the Kinesis Producer Library's aggregated format by AWS Labs'
// aws-kinesis-agg, to a local endpoint the test started:
// node put_records.mjs ENDPOINT N EMAIL. User record 0 carries EMAIL (an
// empty EMAIL: none does). The endpoint's answer is not Kinesis's; the
// request is what the test reads.
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { localClient } from "./local_client.mjs";
import agg from "aws-kinesis-agg";

const [endpoint, n, email] = process.argv.slice(2);
const users = [];
for (let i = 0; i < Number(n); i++)
  users.push({ partitionKey: `order-${i}`, data: Buffer.from(JSON.stringify({ order: i, status: "paid", contact: i === 0 ? email : "" })) });
const packed = [];
await new Promise((resolve, reject) =>
  agg.aggregate(users, (rec, cb) => { packed.push(rec); cb(); }, resolve, reject));
const client = localClient(KinesisClient, endpoint);
try {
  await client.send(new PutRecordsCommand({ StreamName: "orders", Records: packed.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }));
} catch (e) {
  // (the local endpoint does not answer as Kinesis does)
}
