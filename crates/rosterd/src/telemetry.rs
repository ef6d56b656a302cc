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

/// An error and its causes as one line, `outer: cause: root`, each message
/// once.
///
/// rosterd's own errors either say their cause in their text or return it
/// as their `source`, never both. Other crates' errors may do both (sqlx's
/// `error returned from database: {0}` is also its source): a cause whose
/// text the message before it ends with is that repeat, and is left out.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut said = line.clone();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        said = text;
        cause = c.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[cfg(feature = "postgres")]
    #[test]
    fn a_third_party_error_that_repeats_its_source_is_said_once() {
        // sqlx: "error with configuration: {0}", and {0} is also its source.
        use std::str::FromStr;
        let sqlx = sqlx::postgres::PgConnectOptions::from_str("postgres://bad url").unwrap_err();
        let root = std::error::Error::source(&sqlx).unwrap().to_string();
        let e = anyhow::Error::from(sqlx).context("database url");
        let line = error_chain(e.as_ref());
        assert_eq!(
            line,
            format!("database url: error with configuration: {root}")
        );
        assert_eq!(line.matches(&root).count(), 1, "{line}");
    }

    #[test]
    fn a_cause_is_kept_when_its_words_only_appear_earlier() {
        let e = anyhow::anyhow!("timed out").context("export timed out after 3 tries");
        assert_eq!(
            error_chain(e.as_ref()),
            "export timed out after 3 tries: timed out"
        );
    }
}
