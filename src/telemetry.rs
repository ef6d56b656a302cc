//! Logging set-up, in one place: `tracing` to stderr as text or JSON lines,
//! filtered by `log.level` (or `RUST_LOG` when set). Stdout is kept for
//! command output (summaries, JSON reports).

use crate::config::LogSettings;
use tracing_subscriber::EnvFilter;

pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second init (tests, the demo after a config load) is harmless.
    let _ = if log.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
