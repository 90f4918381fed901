//! Counters for `/metrics`, in the Prometheus text format.
//!
//! One process-wide registry of atomics: the connection, the store and the commands bump it
//! without being handed anything, and the web layer renders it. Channel labels come only from
//! public channels: nothing about a security channel appears in a metric.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Command latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    pub db_write_errors: AtomicU64,
    pub flood_delays: AtomicU64,
    pub flood_delay_ms: AtomicU64,
    /// Config reloads applied, and refused (the file had problems: nothing changed).
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    log_entries: Mutex<BTreeMap<String, u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

impl Metrics {
    /// A `!log` entry stored in a public channel (security channels are not counted here).
    /// `channel` is spelled as configured (every entry's channel is: `cmd::Origin`, `ingest`),
    /// so one channel is one series without a case rule of its own here.
    pub fn log_entry(&self, channel: &str) {
        *self.log_entries.lock().unwrap().entry(channel.to_string()).or_default() += 1;
    }

    pub fn command(&self, name: &'static str, took: Duration) {
        let secs = took.as_secs_f64();
        let mut all = self.latency.lock().unwrap();
        let h = all.entry(name).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn flood_delay(&self, waited: Duration) {
        self.flood_delays.fetch_add(1, Ordering::Relaxed);
        self.flood_delay_ms.fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
    }

    /// The counters kept here, rendered; the caller adds gauges it knows (connection, queue).
    pub fn render(&self, out: &mut String) {
        counter(
            out,
            "srebot_db_write_errors_total",
            "Database transactions that failed.",
            self.db_write_errors.load(Ordering::Relaxed),
        );
        counter(
            out,
            "srebot_flood_delays_total",
            "Outgoing lines held back by flood control.",
            self.flood_delays.load(Ordering::Relaxed),
        );
        let _ = writeln!(out, "# HELP srebot_flood_delay_seconds_total Time outgoing lines waited for flood control.");
        let _ = writeln!(out, "# TYPE srebot_flood_delay_seconds_total counter");
        let _ = writeln!(
            out,
            "srebot_flood_delay_seconds_total {}",
            self.flood_delay_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(out, "# HELP srebot_config_reloads_total Config reloads (SIGHUP), applied or refused.");
        let _ = writeln!(out, "# TYPE srebot_config_reloads_total counter");
        let _ =
            writeln!(out, "srebot_config_reloads_total{{result=\"ok\"}} {}", self.reloads_ok.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "srebot_config_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# HELP srebot_log_entries_total !log entries stored, by public channel.");
        let _ = writeln!(out, "# TYPE srebot_log_entries_total counter");
        for (channel, n) in self.log_entries.lock().unwrap().iter() {
            let _ = writeln!(out, "srebot_log_entries_total{{channel=\"{}\"}} {n}", label(channel));
        }
        let _ = writeln!(out, "# HELP srebot_command_seconds Time from a command's arrival to its replies.");
        let _ = writeln!(out, "# TYPE srebot_command_seconds histogram");
        for (name, h) in self.latency.lock().unwrap().iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "srebot_command_seconds_bucket{{command=\"{name}\",le=\"{bound}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(out, "srebot_command_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "srebot_command_seconds_sum{{command=\"{name}\"}} {}", h.sum);
            let _ = writeln!(out, "srebot_command_seconds_count{{command=\"{name}\"}} {}", h.count);
        }
    }
}

pub fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
}

pub fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
}

/// A label value with `\`, `"` and newlines escaped as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histograms_and_labels() {
        let m = Metrics::default();
        m.log_entry("#sre");
        m.log_entry("#sre");
        m.log_entry("#SRE-Ops");
        m.command("log", Duration::from_millis(3));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("srebot_log_entries_total{channel=\"#sre\"} 2"), "{out}");
        assert!(out.contains("srebot_log_entries_total{channel=\"#SRE-Ops\"} 1"), "as configured: {out}");
        assert!(out.contains("srebot_command_seconds_bucket{command=\"log\",le=\"0.0025\"} 0"));
        assert!(out.contains("srebot_command_seconds_bucket{command=\"log\",le=\"0.005\"} 1"));
        assert!(out.contains("srebot_command_seconds_count{command=\"log\"} 1"));
        assert_eq!(label("a\"b\\"), "a\\\"b\\\\");
    }
}
