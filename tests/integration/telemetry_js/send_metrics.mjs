// Pushes N time series with a Prometheus remote-write client (protobuf,
// snappy) to a local receiver the test started, with the headers Prometheus
// sends: node send_metrics.mjs URL N EMAIL. The first series carries EMAIL
// in a label (an empty EMAIL: none does).
import { pushTimeseries } from 'prometheus-remote-write';

const [url, n, email] = process.argv.slice(2);
const series = [];
for (let i = 0; i < Number(n); i++) {
  const labels = { __name__: 'checkout_requests_total', instance: `web-${i}.internal:9100`, route: `/api/v1/orders/${i}` };
  if (i === 0 && email) labels.user = email;
  series.push({ labels, samples: [{ value: i * 1.5, timestamp: 1732752000000 + i }] });
}
const r = await pushTimeseries(series, {
  url,
  fetch: globalThis.fetch,
  headers: { 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
});
if (r.status !== 200) process.exit(1);
