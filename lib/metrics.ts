import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Timing of calls to external registries, for dashboards and the admin console's registry health. */
export interface RegistryMetrics {
  /** Starts timing a call; the returned function records it with its outcome (ok, not_found, error). */
  start(registry: string): (outcome: string) => void;
}

/** A Prometheus registry with process metrics and the counters the API and worker share. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registryCalls = new Histogram({
    name: 'registry_request_duration_seconds', help: 'Calls to external state registries by outcome',
    labelNames: ['registry', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const emailsSent = new Counter({
    name: 'emails_sent_total', help: 'E-mails handed to SMTP, by template', labelNames: ['template'], registers: [registry],
  });
  const httpRequests = new Histogram({
    name: 'http_request_duration_seconds', help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const registryMetrics: RegistryMetrics = {
    start(name) {
      const end = registryCalls.startTimer({ registry: name });
      return (outcome) => end({ outcome });
    },
  };
  return { registry, registryMetrics, emailsSent, httpRequests };
}

/** The metrics object createMetrics returns. */
export type Metrics = ReturnType<typeof createMetrics>;
