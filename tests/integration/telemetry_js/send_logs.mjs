// Exports one log record with OpenTelemetry's OTLP/HTTP protobuf exporter
// to a local collector the test started: node send_logs.mjs URL BODY EMAIL
// [gzip]. The record's body is BODY, its attribute user.email is EMAIL.
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

const [url, body, email, compression] = process.argv.slice(2);
const exporter = new OTLPLogExporter({ url, compression: compression || 'none' });
const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'checkout' }),
  processors: [new SimpleLogRecordProcessor({ exporter })],
});
provider.getLogger('payments').emit({ severityText: 'ERROR', body, attributes: { 'user.email': email } });
await provider.shutdown();
