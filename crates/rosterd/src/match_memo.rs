//! The last match, kept for a run whose matching inputs are unchanged.
//!
//! Matching is a pure function of the employees (with their previous
//! names), the PodFactory users, the manual mappings, the settings and the
//! matcher itself. At 100,000 × 100,000 it is the largest cost of a run
//! that changes nothing (1.6 s on two cores, and the memory of its
//! indexes), so its results are stored with a fingerprint of all of those
//! (`podfactory_match_memo`, one row), and a run whose fingerprint is the
//! stored one reads them back instead of matching again. Anything else
//! differing (one employee renamed, one user's email, a mapping, a
//! threshold, another build of the matcher) matches everything again.
//!
//! It is only a cache: a memo that cannot be read, decoded or written
//! costs a full match and a warning, never the run. What a run does with
//! the results (keeping links, recording, findings) happens after it, on
//! every run, as before.

use crate::matching::{ManualMapping, MatchEmployee, MatchResult, MatchSettings, PodFactoryUser};
use sha2::{Digest, Sha256};
use std::io::{Read as _, Write as _};

/// The matcher this build is: its code and the crates, compiler and target
/// it was built with (see `build.rs`). Part of every fingerprint.
const MATCHER: &str = env!("ROSTERD_MATCHER_DIGEST");
/// The memo's own format; a change makes stored memos misses.
const FORMAT: &str = "rosterd match memo 1";

/// A match made now, to be stored by [`keep`] with the run's other
/// records: by a leader, not in a dry run.
pub struct Fresh {
    key: String,
    bytes: Vec<u8>,
}

/// The results for these inputs: the stored ones (`None`), or matched now
/// and to be kept.
pub async fn results(
    store: &crate::store::Store,
    employees: &[MatchEmployee<'_>],
    users: &[PodFactoryUser],
    manual: &[ManualMapping],
    settings: &MatchSettings,
) -> (Vec<MatchResult>, Option<Fresh>) {
    let key = fingerprint(employees, users, manual, settings);
    let stored = match store.match_memo(&key).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(error = %crate::telemetry::error_chain(&e), "podfactory: could not read the stored match; matching again");
            None
        }
    };
    if let Some(bytes) = stored {
        match decode(&bytes) {
            Ok(results) if same_users(&results, users) => return (results, None),
            Ok(_) => {
                tracing::warn!("podfactory: the stored match is of other users; matching again")
            }
            Err(e) => {
                tracing::warn!(error = %e, "podfactory: the stored match does not read; matching again")
            }
        }
    }
    let mut results = crate::matching::match_users(employees, users, manual, settings);
    lean(&mut results);
    let bytes = encode(&results);
    (results, Some(Fresh { key, bytes }))
}

/// Store a match made now, in place of the last.
pub async fn keep(store: &crate::store::Store, fresh: &Fresh) {
    if let Err(e) = store
        .put_match_memo(&fresh.key, &fresh.bytes, chrono::Utc::now())
        .await
    {
        tracing::warn!(error = %crate::telemetry::error_chain(&e), "podfactory: could not store the match; the next run matches again");
    }
}

/// Results for exactly these users, in their order.
fn same_users(results: &[MatchResult], users: &[PodFactoryUser]) -> bool {
    results.len() == users.len()
        && results
            .iter()
            .zip(users)
            .all(|(r, u)| r.podfactory_id == u.id)
}

/// Only what a run uses of each result: for a link, whom and how; for the
/// rest, the candidates and the explanation its finding shows. The evidence
/// lists and the runner-up are for `rosterd match` (half of the results'
/// size at 100,000 users). Fresh and stored results are the same shape.
fn lean(results: &mut [MatchResult]) {
    for r in results {
        r.evidence_for = Vec::new();
        r.evidence_against = Vec::new();
        r.runner_up = None;
        if r.status == crate::matching::MatchStatus::Matched {
            r.candidates = Vec::new();
            r.explanation = String::new();
        }
    }
}

/// A digest of everything matching depends on, in order (the results are
/// in input order).
pub fn fingerprint(
    employees: &[MatchEmployee<'_>],
    users: &[PodFactoryUser],
    manual: &[ManualMapping],
    settings: &MatchSettings,
) -> String {
    let mut h = Sha256::new();
    // Each text with its length, so that no two inputs run together.
    let text = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    let optional = |h: &mut Sha256, s: &Option<String>| match s {
        Some(s) => {
            h.update([1]);
            text(h, s);
        }
        None => h.update([0]),
    };
    text(&mut h, FORMAT);
    text(&mut h, MATCHER);
    text(&mut h, &format!("{settings:?}"));
    h.update((employees.len() as u64).to_le_bytes());
    for e in employees {
        h.update(e.id.0.to_le_bytes());
        text(&mut h, e.full_name);
        text(&mut h, e.email.as_str());
        text(&mut h, e.department);
        text(&mut h, e.role_code);
        h.update([e.is_active as u8]);
        h.update((e.previous_names.len() as u64).to_le_bytes());
        for n in e.previous_names {
            text(&mut h, n);
        }
    }
    h.update((users.len() as u64).to_le_bytes());
    for u in users {
        text(&mut h, &u.id);
        optional(&mut h, &u.name);
        optional(&mut h, &u.email);
        optional(&mut h, &u.user_role);
    }
    h.update((manual.len() as u64).to_le_bytes());
    for m in manual {
        text(&mut h, &m.podfactory_user_id);
        h.update(m.employee_id.0.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// The results as stored: gzipped JSON (about a tenth of its size: the
/// explanations repeat).
pub fn encode(results: &[MatchResult]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, gz);
    serde_json::to_writer(&mut out, results).expect("match results serialize");
    out.flush().expect("writing to memory");
    let gz = out
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("writing to memory");
    gz.finish().expect("writing to memory")
}

pub fn decode(bytes: &[u8]) -> anyhow::Result<Vec<MatchResult>> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Email, EmployeeId};

    fn employee<'a>(email: &'a Email, previous: &'a [String]) -> MatchEmployee<'a> {
        MatchEmployee {
            id: EmployeeId(7),
            full_name: "Ana Pérez",
            email,
            department: "Shipping",
            role_code: "PICKER",
            is_active: true,
            previous_names: previous,
        }
    }

    fn user() -> PodFactoryUser {
        PodFactoryUser {
            id: "pf1".into(),
            name: Some("Ana Perez".into()),
            email: None,
            user_role: Some("Picker".into()),
        }
    }

    #[test]
    fn any_input_that_matching_reads_changes_the_fingerprint() {
        let email = Email::parse("ana@example.com").unwrap();
        let other_email = Email::parse("ana.p@example.com").unwrap();
        let previous = vec!["Ana Gil".to_string()];
        let settings = MatchSettings::default();
        let base = fingerprint(&[employee(&email, &[])], &[user()], &[], &settings);
        assert_eq!(
            base,
            fingerprint(&[employee(&email, &[])], &[user()], &[], &settings),
            "the same inputs, the same fingerprint"
        );
        let mut changed = Vec::new();
        let mut e = employee(&email, &[]);
        e.full_name = "Ana Peres";
        changed.push(fingerprint(&[e], &[user()], &[], &settings));
        changed.push(fingerprint(
            &[employee(&other_email, &[])],
            &[user()],
            &[],
            &settings,
        ));
        changed.push(fingerprint(
            &[employee(&email, &previous)],
            &[user()],
            &[],
            &settings,
        ));
        let mut e = employee(&email, &[]);
        e.is_active = false;
        changed.push(fingerprint(&[e], &[user()], &[], &settings));
        let mut e = employee(&email, &[]);
        e.department = "Packing";
        changed.push(fingerprint(&[e], &[user()], &[], &settings));
        let mut u = user();
        u.email = Some("ana@example.com".into());
        changed.push(fingerprint(&[employee(&email, &[])], &[u], &[], &settings));
        let mut u = user();
        u.user_role = None;
        changed.push(fingerprint(&[employee(&email, &[])], &[u], &[], &settings));
        let manual = [ManualMapping {
            podfactory_user_id: "pf1".into(),
            employee_id: EmployeeId(7),
        }];
        changed.push(fingerprint(
            &[employee(&email, &[])],
            &[user()],
            &manual,
            &settings,
        ));
        let stricter = MatchSettings {
            accept_threshold: 0.99,
            ..MatchSettings::default()
        };
        changed.push(fingerprint(
            &[employee(&email, &[])],
            &[user()],
            &[],
            &stricter,
        ));
        // A field's end is marked: moving text between two fields is a change.
        let mut u = user();
        u.name = Some("Ana PerezPicker".into());
        u.user_role = Some(String::new());
        changed.push(fingerprint(&[employee(&email, &[])], &[u], &[], &settings));
        for (i, c) in changed.iter().enumerate() {
            assert_ne!(&base, c, "change {i} kept the fingerprint");
        }
    }

    #[test]
    fn stored_results_read_back_exactly() {
        // Linked by email, by name and by a typo; namesakes; nobody.
        let rows = [
            (1, "Ana Pérez", "ana.perez@example.com"),
            (2, "Bo Li", "bo.li@example.com"),
            (3, "Sam Lee", "sam.lee@example.com"),
            (4, "Sam Lee", "samuel.lee@example.com"),
            (5, "Katarzyna Wiśniewska", "kasia.w@example.com"),
        ];
        let emails: Vec<Email> = rows.iter().map(|r| Email::parse(r.2).unwrap()).collect();
        let employees: Vec<MatchEmployee> = rows
            .iter()
            .zip(&emails)
            .map(|(r, email)| MatchEmployee {
                id: EmployeeId(r.0),
                full_name: r.1,
                ..employee(email, &[])
            })
            .collect();
        let user = |id: &str, name: &str, email: Option<&str>| PodFactoryUser {
            id: id.into(),
            name: Some(name.into()),
            email: email.map(String::from),
            user_role: None,
        };
        let users = [
            user("pf1", "Ana Perez", Some("ana.perez.shp@example.com")),
            user("pf2", "bo.li", None),
            user("pf3", "Sam Lee", None),
            user("pf4", "Katarzyna Wisniewka", None),
            user("pf5", "Zed Nobody", Some("zed@elsewhere.example")),
        ];
        let results =
            crate::matching::match_users(&employees, &users, &[], &MatchSettings::default());
        let statuses: std::collections::HashSet<_> =
            results.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(
            statuses.len(),
            3,
            "matched, ambiguous and unmatched: {results:#?}"
        );
        assert!(results.iter().any(|r| r.runner_up.is_some()));
        assert_eq!(decode(&encode(&results)).unwrap(), results);
    }
}
