// Exports N spans in one batch with OpenTelemetry's OTLP/HTTP protobuf
// trace exporter to a local collector the test started: node
// send_traces.mjs URL N. The SDK makes the trace and span ids (random
// bytes); the spans hold no personal data.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';

const [url, n] = process.argv.slice(2);
const count = Number(n);
const exporter = new OTLPTraceExporter({ url });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'orders' }),
  spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: count, maxQueueSize: count, scheduledDelayMillis: 600000 })],
});
const tracer = provider.getTracer('orders');
for (let i = 0; i < count; i++) {
  const span = tracer.startSpan('POST /api/orders', { attributes: { 'http.method': 'POST', 'http.route': '/api/orders/{id}', 'http.status_code': 200 } });
  span.end();
}
await provider.forceFlush();
await provider.shutdown();
