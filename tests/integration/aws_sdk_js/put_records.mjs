// Kinesis PutRecords with the AWS SDK for JavaScript v3, its records packed
// in the Kinesis Producer Library's aggregated format by AWS Labs'
// aws-kinesis-agg, to a local endpoint the test started:
// node put_records.mjs ENDPOINT N EMAIL. User record 0 carries EMAIL (an
// empty EMAIL: none does). The endpoint's answer is not Kinesis's; the
// request is what the test reads.
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import agg from "aws-kinesis-agg";

const [endpoint, n, email] = process.argv.slice(2);
const users = [];
for (let i = 0; i < Number(n); i++)
  users.push({ partitionKey: `order-${i}`, data: Buffer.from(JSON.stringify({ order: i, status: "paid", contact: i === 0 ? email : "" })) });
const packed = [];
await new Promise((resolve, reject) =>
  agg.aggregate(users, (rec, cb) => { packed.push(rec); cb(); }, resolve, reject));
const client = new KinesisClient({
  region: "eu-central-1",
  endpoint,
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 10000 }), // (HTTP/1.1: the test's endpoint)
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
});
try {
  await client.send(new PutRecordsCommand({ StreamName: "orders", Records: packed.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }));
} catch (e) {
  // (the local endpoint does not answer as Kinesis does)
}
