//! When a leaver's last day ends: an end date read from the employees
//! source, read in the workspace's time zone (`[policy.departures]`), is
//! the next local midnight as a UTC instant. Pure: the planner compares it
//! with "now" (`plan::departures`); the zone rules are chrono-tz's, so a
//! 23 h or 25 h day needs no arithmetic of rosterd's own.

use crate::config::DepartureSettings;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// An end date as the source holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndDate {
    /// A date, or a timestamp without a zone (its date is taken).
    Day(NaiveDate),
    /// An instant (`timestamptz`, MySQL `TIMESTAMP`, text with an offset):
    /// its date is taken in the workspace's zone.
    At(DateTime<Utc>),
}

impl EndDate {
    /// Text as SQLite (or a text column) holds it: `YYYY-MM-DD`,
    /// `YYYY-MM-DD HH:MM:SS[.fff]` (or with a `T`), or RFC 3339 with an
    /// offset.
    pub fn parse(text: &str) -> Result<EndDate, String> {
        let t = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(t) {
            return Ok(EndDate::At(at.with_timezone(&Utc)));
        }
        for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, format) {
                return Ok(EndDate::Day(dt.date()));
            }
        }
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(EndDate::Day)
            .map_err(|_| format!("is {t:?}, not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"))
    }
}

/// The zone of `workspace`: its entry in `zones` (workspace names compare
/// case-insensitively), else `default_zone`. Both were checked by
/// [`validate`]; a zone that still does not parse reads as UTC.
pub fn zone_of(settings: &DepartureSettings, workspace: &str) -> Tz {
    let name = settings
        .zones
        .iter()
        .find(|(w, _)| w.trim().eq_ignore_ascii_case(workspace.trim()))
        .map_or(settings.default_zone.as_str(), |(_, z)| z.as_str());
    name.parse().unwrap_or(Tz::UTC)
}

/// When the last day ends (UNIX seconds): the first instant of the next
/// local day in `zone`.
pub fn leaves_at(end: EndDate, zone: Tz) -> i64 {
    let day = match end {
        EndDate::Day(d) => d,
        EndDate::At(t) => t.with_timezone(&zone).date_naive(),
    };
    let next = day
        .succ_opt()
        .unwrap_or(NaiveDate::MAX)
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    match zone.from_local_datetime(&next) {
        LocalResult::Single(t) => t.timestamp(),
        // Midnight twice (clocks put back at 01:00 to 00:00): the first.
        LocalResult::Ambiguous(first, _) => first.timestamp(),
        // Midnight skipped (clocks put forward at 00:00, as in Chile): the
        // day starts at the change, reached by counting real time from a
        // local hour before it (no zone changes twice within three hours).
        LocalResult::None => {
            let before = next - Duration::hours(3);
            zone.from_local_datetime(&before)
                .earliest()
                .map_or(next.and_utc().timestamp(), |t| {
                    t.timestamp() + Duration::hours(3).num_seconds()
                })
        }
    }
}

/// `at` as people at the workspace read it, e.g. `2026-03-09 00:00 CDT`.
pub fn local_time(at: i64, zone: Tz) -> String {
    match DateTime::from_timestamp(at, 0) {
        Some(t) => t
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        None => format!("{at} (UNIX seconds)"),
    }
}

/// Every zone of `[policy.departures]` must be an IANA zone; the problem
/// names the key.
pub fn validate(settings: &DepartureSettings, problems: &mut Vec<String>) {
    let bad = |key: String, zone: &str| {
        format!("{key}: {zone:?} is not an IANA time zone (e.g. \"America/Chicago\", \"UTC\")")
    };
    if settings.default_zone.parse::<Tz>().is_err() {
        problems.push(bad(
            "policy.departures.default_zone".into(),
            &settings.default_zone,
        ));
    }
    for (workspace, zone) in &settings.zones {
        if zone.parse::<Tz>().is_err() {
            problems.push(bad(format!("policy.departures.zones.{workspace}"), zone));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> EndDate {
        EndDate::Day(d.parse().unwrap())
    }

    fn utc(t: &str) -> i64 {
        t.parse::<DateTime<Utc>>().unwrap().timestamp()
    }

    fn settings() -> DepartureSettings {
        let mut s = DepartureSettings::default();
        s.zones.insert("TX".into(), "America/Chicago".into());
        s.zones.insert("DE".into(), "Europe/Berlin".into());
        s
    }

    #[test]
    fn the_last_day_ends_at_the_next_local_midnight_across_both_dst_changes() {
        let s = settings();
        let tx = zone_of(&s, "TX");
        let de = zone_of(&s, "de");
        for (zone, last_day, ends) in [
            // Chicago: CST (UTC-6) until 8 March 2026, a 23 h day.
            (tx, "2026-03-07", "2026-03-08T06:00:00Z"),
            (tx, "2026-03-08", "2026-03-09T05:00:00Z"),
            // CDT (UTC-5) until 1 November, a 25 h day.
            (tx, "2026-10-31", "2026-11-01T05:00:00Z"),
            (tx, "2026-11-01", "2026-11-02T06:00:00Z"),
            // Berlin: CET (UTC+1) until 29 March, a 23 h day.
            (de, "2026-03-28", "2026-03-28T23:00:00Z"),
            (de, "2026-03-29", "2026-03-29T22:00:00Z"),
            // CEST (UTC+2) until 25 October, a 25 h day.
            (de, "2026-10-24", "2026-10-24T22:00:00Z"),
            (de, "2026-10-25", "2026-10-25T23:00:00Z"),
        ] {
            assert_eq!(
                leaves_at(day(last_day), zone),
                utc(ends),
                "{last_day} in {zone}"
            );
        }
        // The short and the long day are 23 h and 25 h long.
        let length = |d: &str, z| {
            let before: NaiveDate = d.parse().unwrap();
            let before = EndDate::Day(before.pred_opt().unwrap());
            leaves_at(day(d), z) - leaves_at(before, z)
        };
        assert_eq!(length("2026-03-08", tx), 23 * 3600);
        assert_eq!(length("2026-11-01", tx), 25 * 3600);
        assert_eq!(length("2026-03-29", de), 23 * 3600);
        assert_eq!(length("2026-10-25", de), 25 * 3600);
    }

    #[test]
    fn a_workspace_without_a_zone_uses_default_zone() {
        let mut s = settings();
        assert_eq!(zone_of(&s, "NV"), Tz::UTC);
        assert_eq!(
            leaves_at(day("2026-03-08"), zone_of(&s, "NV")),
            utc("2026-03-09T00:00:00Z")
        );
        s.default_zone = "America/Los_Angeles".into();
        assert_eq!(
            leaves_at(day("2026-03-08"), zone_of(&s, "NV")),
            utc("2026-03-09T07:00:00Z")
        );
    }

    #[test]
    fn an_instant_is_dated_in_the_workspace_zone() {
        // 03:00 UTC on 9 March is still 8 March in Chicago.
        let at = EndDate::parse("2026-03-09T03:00:00Z").unwrap();
        assert_eq!(
            leaves_at(at, "America/Chicago".parse().unwrap()),
            utc("2026-03-09T05:00:00Z")
        );
        assert_eq!(
            EndDate::parse("2026-03-08 17:30:00").unwrap(),
            day("2026-03-08")
        );
        assert!(EndDate::parse("08/03/2026")
            .unwrap_err()
            .contains("not a date"));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_change() {
        // Santiago puts clocks forward at 00:00 on 6 September 2026: the
        // 6th starts at 01:00 local, 04:00 UTC.
        assert_eq!(
            leaves_at(day("2026-09-05"), "America/Santiago".parse().unwrap()),
            utc("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn a_config_with_an_unknown_zone_is_refused_naming_the_key() {
        let text = r#"
[auth0]
domain = "acme.eu.auth0.com"
client_id = "m2m"
client_secret = "s"

[policy.departures]
end_date = "last_day"

[policy.departures.zones]
TX = "America/Chicgo"
"#;
        let err = crate::config::Settings::from_sources(text, Vec::new()).unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.starts_with("policy.departures.zones.TX: ")),
            "{:?}",
            err.problems
        );
        let fixed = text.replace("Chicgo", "Chicago");
        let err = crate::config::Settings::from_sources(&fixed, Vec::new()).err();
        assert!(
            err.iter()
                .flat_map(|e| &e.problems)
                .all(|p| !p.starts_with("policy.")),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_zones_are_named_by_their_key() {
        let mut s = settings();
        s.default_zone = "Mars/Olympus".into();
        s.zones.insert("TX".into(), "America/Chicgo".into());
        let mut problems = Vec::new();
        validate(&s, &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("policy.departures.default_zone: \"Mars/Olympus\""));
        assert!(problems[1].starts_with("policy.departures.zones.TX: \"America/Chicgo\""));
    }
}
