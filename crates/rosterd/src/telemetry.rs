//! Logging set-up, in one place: `tracing` to stderr as text or JSON lines,
//! filtered by `log.level` (or `RUST_LOG` when set). Stdout is kept for
//! command output (summaries, JSON reports).

use crate::config::{log_filter, LogSettings};
use std::io::IsTerminal as _;
use tracing_subscriber::EnvFilter;

/// What logs its own housekeeping at info (PostgreSQL's NOTICEs from
/// `migrate`'s `DROP … IF EXISTS`): warn and above only, unless the filter
/// names it.
const QUIET: [&str; 1] = ["sqlx::postgres::notice"];

pub fn init(log: &LogSettings) {
    // Settings::load has rejected a bad RUST_LOG; the commands that run
    // without settings (the simulator, the demo) fall back to log.level.
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let env_ok = from_env.as_deref().map(log_filter);
    let level = log_filter(&log.level).unwrap_or_else(|_| "info".into());
    let mut spec = match &env_ok {
        Some(Ok(filter)) => filter.clone(),
        _ => level,
    };
    for target in QUIET {
        if !spec.contains(target) {
            spec.push_str(&format!(",{target}=warn"));
        }
    }
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes are noise in a file, journald or a CI log.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // A second init (tests, the demo after a config load) is harmless.
    let _ = if log.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if let Some(Err(e)) = env_ok {
        tracing::warn!("RUST_LOG ignored: {e}");
    }
}

/// An error and its causes as one line, each message once: a cause whose
/// text the line already holds (sqlx and many others repeat their source in
/// their own message) is left out.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
}
