/**
 * One server's metrics: the registry /metrics renders (process-wide hot
 * counters from counters.ts plus what is read from this server's parts at
 * scrape time: sessions, s2s links, memory), the storage timing decorator,
 * the event-loop sampler, the upload counters fed by the `upload-stored`
 * event, and the readiness state /ready reports.
 */
import type { Config } from "../config/schema.ts";
import type { StorageDriver } from "../storage/types.ts";
import { STORAGE_OPERATIONS, type StorageOperation, timedStorage } from "../storage/timed.ts";
import type { SessionRegistry } from "../core/sessions.ts";
import type { Host } from "../core/host.ts";
import type { S2sManager } from "../s2s/manager.ts";
import { Histogram, LATENCY_BUCKETS } from "./histogram.ts";
import { EventLoopDelay } from "./event_loop.ts";
import { Registry, type Sample } from "./registry.ts";
import { auth, CONNECTION_LABELS, connections, stanzas } from "./counters.ts";

/** What the collectors read; set once the server has them. */
export interface MetricsSources {
  sessions: SessionRegistry;
  hosts: Map<string, Host>;
  s2s(): S2sManager | undefined;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly eventLoop = new EventLoopDelay();
  readonly storageLatency = new Map<StorageOperation, Histogram>(
    STORAGE_OPERATIONS.map((op) => [op, new Histogram(LATENCY_BUCKETS)]),
  );
  readonly uploads = { files: 0, bytes: 0 };
  /** Listeners are up and the server is not closing (see /ready). */
  listening = false;
  readonly #startedAt = Date.now() / 1000;

  constructor(readonly enabled: boolean) {}

  static create(config: Config): ServerMetrics {
    return new ServerMetrics(config.metrics.enabled);
  }

  /** The driver to use: timed when metrics are on, else `storage` itself. */
  wrapStorage(storage: StorageDriver): StorageDriver {
    if (!this.enabled) return storage;
    return timedStorage(storage, (op, seconds) => this.storageLatency.get(op)!.observe(seconds));
  }

  /** Start sampling and register the families (once the server's parts exist). */
  install(sources: MetricsSources): void {
    if (!this.enabled) return;
    for (const host of sources.hosts.values()) {
      host.events.on("upload-stored", (e) => {
        this.uploads.files++;
        this.uploads.bytes += e.bytes;
      });
    }
    this.eventLoop.start();
    this.#register(sources);
  }

  stop(): void {
    this.listening = false;
    this.eventLoop.stop();
  }

  #register(src: MetricsSources): void {
    const r = this.registry;
    const byTransport = (values: Record<string, number>): Sample[] =>
      CONNECTION_LABELS.map((transport) => ({ labels: { transport }, value: values[transport] }));
    r.add({
      name: "parley_client_connections",
      type: "gauge",
      help:
        "Open client connections by transport (tls: direct TLS; tcp: plain port, STARTTLS or not)",
      samples: () => byTransport(connections.open),
    });
    r.add({
      name: "parley_client_connections_accepted",
      type: "counter",
      help: "Client connections accepted, by transport",
      samples: () => byTransport(connections.accepted),
    });
    const sessionCounts = () => {
      let bound = 0, available = 0, hibernating = 0;
      for (const s of src.sessions.live) {
        if (s.fullJid === undefined) continue;
        bound++;
        if (s.presence !== undefined) available++;
        if (s.hibernating) hibernating++;
      }
      return { bound, available, hibernating };
    };
    r.add({
      name: "parley_sessions_bound",
      type: "gauge",
      help: "Client sessions with a bound resource (hibernating ones included)",
      samples: () => [{ value: sessionCounts().bound }],
    });
    r.add({
      name: "parley_sessions_available",
      type: "gauge",
      help: "Bound sessions that sent available presence",
      samples: () => [{ value: sessionCounts().available }],
    });
    r.add({
      name: "parley_sessions_hibernating",
      type: "gauge",
      help: "Sessions kept by stream management without a connection",
      samples: () => [{ value: sessionCounts().hibernating }],
    });
    r.add({
      name: "parley_stanzas_received",
      type: "counter",
      help: "Stanzas received from bound clients, by kind",
      samples: () => [
        { labels: { kind: "message" }, value: stanzas.inMessage },
        { labels: { kind: "presence" }, value: stanzas.inPresence },
        { labels: { kind: "iq" }, value: stanzas.inIq },
      ],
    });
    r.add({
      name: "parley_stanzas_sent",
      type: "counter",
      help: "Stanzas written to clients, by kind",
      samples: () => [
        { labels: { kind: "message" }, value: stanzas.outMessage },
        { labels: { kind: "presence" }, value: stanzas.outPresence },
        { labels: { kind: "iq" }, value: stanzas.outIq },
      ],
    });
    r.add({
      name: "parley_auth_successes",
      type: "counter",
      help: "Successful client SASL authentications",
      samples: () => [{ value: auth.successes }],
    });
    r.add({
      name: "parley_auth_failures",
      type: "counter",
      help: "Failed client SASL attempts by cause (the SASL condition; throttled: refused by the " +
        "login throttle)",
      samples: () => [...auth.failures].map(([cause, value]) => ({ labels: { cause }, value })),
    });
    r.add({
      name: "parley_s2s_links",
      type: "gauge",
      help: "Server-to-server streams: in (accepted) and out (ours, connecting or established)",
      samples: () => {
        const m = src.s2s();
        return [
          { labels: { direction: "in" }, value: m?.incoming.size ?? 0 },
          { labels: { direction: "out" }, value: m?.outgoingStreams ?? 0 },
        ];
      },
    });
    r.add({
      name: "parley_storage_operation_seconds",
      type: "histogram",
      unit: "seconds",
      help: "Storage call latency by operation",
      histograms: () =>
        [...this.storageLatency].map(([op, histogram]) => ({ labels: { op }, histogram })),
    });
    r.add({
      name: "parley_event_loop_delay_seconds",
      type: "histogram",
      unit: "seconds",
      help: "How late a timer due every 500 ms fired",
      histograms: () => [{ histogram: this.eventLoop.histogram }],
    });
    r.add({
      name: "parley_event_loop_delay_max_seconds",
      type: "gauge",
      unit: "seconds",
      help: "The largest event-loop delay sampled since start",
      samples: () => [{ value: this.eventLoop.max }],
    });
    r.add({
      name: "parley_process_resident_memory_bytes",
      type: "gauge",
      unit: "bytes",
      help: "Resident set size of the process",
      samples: () => [{ value: Deno.memoryUsage().rss }],
    });
    r.add({
      name: "parley_process_heap_used_bytes",
      type: "gauge",
      unit: "bytes",
      help: "JavaScript heap in use",
      samples: () => [{ value: Deno.memoryUsage().heapUsed }],
    });
    r.add({
      name: "parley_start_time_seconds",
      type: "gauge",
      unit: "seconds",
      help: "When the server started, seconds since the Unix epoch",
      samples: () => [{ value: this.#startedAt }],
    });
    r.add({
      name: "parley_uploads",
      type: "counter",
      help: "Files stored by HTTP upload",
      samples: () => [{ value: this.uploads.files }],
    });
    r.add({
      name: "parley_upload_bytes",
      type: "counter",
      unit: "bytes",
      help: "Bytes stored by HTTP upload",
      samples: () => [{ value: this.uploads.bytes }],
    });
  }
}
