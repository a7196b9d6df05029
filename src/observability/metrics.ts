import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics; one registry per server instance so tests can run servers side by side. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_process_' });
  return {
    registry,
    messagesAccepted: new Counter({
      name: 'vigil_ingest_messages_total',
      help: 'Telemetry messages stored',
      labelNames: ['transport'],
      registers: [registry],
    }),
    readingsAccepted: new Counter({
      name: 'vigil_ingest_readings_total',
      help: 'Readings stored',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'vigil_ingest_duplicates_total',
      help: 'Redelivered messages acknowledged without storing again',
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'vigil_refusals_total',
      help: 'Refused inputs by reason code',
      labelNames: ['code'],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'vigil_ingest_commit_seconds',
      help: 'Duration of one ingest transaction on the writer thread, BEGIN to the end of COMMIT',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    commitWaitSeconds: new Histogram({
      name: 'vigil_ingest_commit_wait_seconds',
      help: 'From a message passing validation to the commit that stored it: the server side of a device waiting for its acknowledgement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    commitBatchSize: new Histogram({
      name: 'vigil_ingest_commit_batch_messages',
      help: 'Messages per ingest transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers: [registry],
    }),
    connectedDevices: new Gauge({
      name: 'vigil_mqtt_connected_devices',
      help: 'Devices connected to the embedded broker',
      registers: [registry],
    }),
    tlsCertificateNotAfter: new Gauge({
      name: 'vigil_tls_server_certificate_not_after_seconds',
      help: 'When the certificate the HTTPS and MQTT listeners serve expires (Unix time); alert well before it',
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'vigil_http_requests_total',
      help: 'HTTP requests by status class',
      labelNames: ['status'],
      registers: [registry],
    }),
    streamsOpen: new Gauge({
      name: 'vigil_stream_connections',
      help: 'Open live-stream WebSocket connections',
      registers: [registry],
    }),
    streamMessages: new Counter({
      name: 'vigil_stream_messages_total',
      help: 'Live-stream frames sent, by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    streamCloses: new Counter({
      name: 'vigil_stream_closes_total',
      help: 'Live-stream connections closed, by reason (client, auth, slow-consumer, no-pong, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
