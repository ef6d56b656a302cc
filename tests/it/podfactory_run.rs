//! PodFactory matching inside a run: the CSV source, each kind of evidence,
//! findings with candidates, the mapping audit, manual mappings and history.

use crate::common::*;
use rosterd::run::RunStatus;
use rosterd::store::{Backend, Store};

on_every_backend!(
    matching_links_records_history_and_reports,
    rich_metadata_puts_the_podfactory_link_on_the_account_and_converges,
    the_last_match_is_reused_only_while_its_inputs_are_unchanged,
);

async fn rows(store: &Store, sql: &str) -> Vec<(String, i64, String, Option<String>)> {
    // MySQL casts to CHAR, not TEXT.
    let sql = match store.backend() {
        Backend::MySql => sql.replace(" AS TEXT)", " AS CHAR)"),
        Backend::Postgres | Backend::Sqlite => sql.to_string(),
    };
    fetch_all(store, &sql).await
}

/// The current PodFactory links (user, employee, matched_by, PodFactory
/// email), by user id.
async fn current_links(store: &Store) -> Vec<(String, i64, String, Option<String>)> {
    rows(store, "SELECT podfactory_user_id, employee_id, matched_by, podfactory_email FROM employee_podfactory_mapping WHERE superseded_at IS NULL ORDER BY podfactory_user_id").await
}

/// A run context whose PodFactory source is a CSV file holding `users`
/// (rewrite `csv` to change them), with `tweak`ed settings.
pub(crate) struct CsvWorld {
    pub ctx: std::sync::Arc<rosterd::run::Context>,
    pub csv: std::path::PathBuf,
    pub sim: auth0_sim::RunningSim,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

pub(crate) async fn csv_world(
    db: Db,
    users: &str,
    employees: &[rosterd::model::RawEmployee],
    tweak: impl FnOnce(&mut rosterd::config::Settings),
) -> CsvWorld {
    let db = TestDb::new(db).await;
    let sim = spawn_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("podfactory.csv");
    std::fs::write(&csv, users).unwrap();
    let mut s = settings(&db, &sim);
    s.podfactory.source = "csv".into();
    s.podfactory.csv_path = csv.display().to_string();
    tweak(&mut s);
    let ctx = context(s).await;
    ctx.store.insert_employees(employees).await.unwrap();
    CsvWorld {
        ctx,
        csv,
        sim,
        _dir: dir,
        _db: db,
    }
}

async fn matching_links_records_history_and_reports(db: Db) {
    let w = csv_world(
        db,
        "id,name,email,user_role\n\
         pf1,Ana Perez,ana.perez@example.com,Picker\n\
         pf2,bo.li,bo.li.shp@example.com,Shipper\n\
         pf3,\"Twain, Cy\",,Picker\n\
         pf4,Zed Nobody,zed@elsewhere.example,Picker\n\
         pf5,Sam Lee,,Packer\n",
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(2, "Bo Li", "bo.li@example.com", true),
            employee(3, "Cy Twain", "cy@example.com", true),
            employee(4, "Sam Lee", "sam.lee@example.com", true),
            employee(5, "Sam Lee", "samuel.lee@example.com", true),
            employee(6, "Office Only", "office@example.com", true),
        ],
        |_| {},
    )
    .await;
    let ctx = &w.ctx;

    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    let pf = r.podfactory.clone().expect("matching ran");
    assert_eq!(
        (pf.users, pf.matched, pf.ambiguous, pf.unmatched),
        (5, 3, 1, 1),
        "{pf:?}"
    );
    assert_eq!(pf.new_links, 3);
    assert_eq!(r.findings.get("unmatched_podfactory_user"), Some(&1));
    assert_eq!(r.findings.get("ambiguous_podfactory_user"), Some(&1));
    // Employees 4, 5 (Sam Lee twice: ambiguous) and 6 have no PodFactory user.
    assert_eq!(r.findings.get("employee_without_podfactory_user"), Some(&3));

    let links = current_links(&ctx.store).await;
    let got: Vec<(&str, i64, &str)> = links
        .iter()
        .map(|(p, e, m, _)| (p.as_str(), *e, m.as_str()))
        .collect();
    assert_eq!(got[0], ("pf1", 1, "email"));
    assert_eq!(got[1], ("pf2", 2, "email_suffix"));
    assert_eq!(got[2].0, "pf3");
    assert_eq!(got[2].1, 3);
    // The audit ties employee, account and PodFactory email, by kind.
    let audit = rows(&ctx.store, "SELECT auth0_user_id, employee_id, matched_by, podfactory_email FROM auth0_employee_mapping_audit ORDER BY employee_id").await;
    let by_emp = |id: i64| audit.iter().find(|a| a.1 == id).unwrap().clone();
    assert_eq!(
        (by_emp(1).2.as_str(), by_emp(1).3.as_deref()),
        ("email", Some("ana.perez@example.com"))
    );
    assert_eq!(by_emp(2).2, "email");
    assert_eq!(by_emp(3).2, "name");

    // The ambiguous Sam Lee is listed with both candidates for on-call.
    let plan = stored_plan(&ctx.store, r.run_id).await;
    let amb = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "ambiguous_podfactory_user")
        .unwrap();
    assert_eq!(amb["podfactory_user_id"], "pf5");
    let cands: Vec<i64> = amb["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["employee_id"].as_i64().unwrap())
        .collect();
    assert!(cands.contains(&4) && cands.contains(&5), "{amb}");

    // Nothing changed: no new links, nothing rewritten.
    let again = run(ctx).await;
    assert_eq!(again.podfactory.unwrap().new_links, 0);

    // An admin maps the ambiguous user; a manual mapping also re-points pf3.
    ctx.store
        .upsert_manual_mapping("pf5", 5, "alice", chrono::Utc::now())
        .await
        .unwrap();
    ctx.store
        .upsert_manual_mapping("pf3", 6, "alice", chrono::Utc::now())
        .await
        .unwrap();
    let third = run(ctx).await;
    assert_eq!(third.podfactory.clone().unwrap().new_links, 2, "{third:#?}");
    assert_eq!(third.findings.get("ambiguous_podfactory_user"), None);
    let history = rows(&ctx.store, "SELECT podfactory_user_id, employee_id, matched_by, CAST(superseded_at AS TEXT) FROM employee_podfactory_mapping WHERE podfactory_user_id = 'pf3' ORDER BY id").await;
    assert_eq!(history.len(), 2, "the changed link is kept as history");
    assert_eq!((history[0].1, history[0].3.is_some()), (3, true));
    assert_eq!(
        (history[1].1, history[1].2.as_str(), history[1].3.is_none()),
        (6, "manual", true)
    );
}

async fn rich_metadata_puts_the_podfactory_link_on_the_account_and_converges(db: Db) {
    let w = csv_world(
        db,
        "id,name,email,user_role\n\
         pf1,Ana Perez,Ana.Perez@Example.com,Picker\n\
         pf2,bo.li,bo.li.shp@example.com,Shipper\n\
         pf3,Cy Twain,,Picker\n",
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(2, "Bo Li", "bo.li@example.com", true),
            employee(3, "Office Only", "office@example.com", true),
            employee(4, "Cy Twain", "cy@example.com", true),
        ],
        |s| s.podfactory.rich_metadata = true,
    )
    .await;
    let (ctx, csv) = (&w.ctx, &w.csv);
    let auth0 = SimClient::new(&w.sim);
    let sync_of = |email: &'static str| {
        let auth0 = &auth0;
        async move {
            let found = auth0.user_by_email(email).await;
            assert_eq!(found.len(), 1, "{email}: {found:?}");
            found[0]["app_metadata"]["podfactory_sync"].clone()
        }
    };

    // Created with the link in place; no second call per account.
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    assert_eq!(r.planned.get("create"), Some(&4), "{r:#?}");
    assert_eq!(r.planned.get("update"), None, "{r:#?}");
    assert_eq!(
        sync_of("ana.perez@example.com").await,
        serde_json::json!({
            "podfactory_user_id": "pf1",
            "podfactory_email": "ana.perez@example.com",
            "matched_by": "email",
            "email_variations": ["ana.perez@example.com"],
        })
    );
    assert_eq!(
        sync_of("bo.li@example.com").await,
        serde_json::json!({
            "podfactory_user_id": "pf2",
            "podfactory_email": "bo.li.shp@example.com",
            "matched_by": "email_suffix",
            "email_variations": ["bo.li.shp@example.com", "bo.li@example.com"],
        })
    );
    assert_eq!(sync_of("office@example.com").await, serde_json::Value::Null);

    // The block holds no timestamp: the next run plans nothing.
    let again = run(ctx).await;
    assert!(again.planned.is_empty(), "{again:#?}");

    // A rename: the run that renames the account already matches Cy's
    // PodFactory user by the old name, so the run after it has nothing to do.
    assert_eq!(sync_of("cy@example.com").await["matched_by"], "name");
    exec(
        &ctx.store,
        "UPDATE employees SET full_name = 'Cy Moon' WHERE id = 4",
    )
    .await;
    let renamed = run(ctx).await;
    assert_eq!(renamed.planned.get("update"), Some(&1), "{renamed:#?}");
    assert_eq!(
        sync_of("cy@example.com").await["matched_by"],
        "previous_name"
    );
    let after = run(ctx).await;
    assert!(after.planned.is_empty(), "{after:#?}");

    // Bo's PodFactory user goes away: the stale block is removed, Ana's kept.
    std::fs::write(
        csv,
        "id,name,email,user_role\n\
         pf1,Ana Perez,Ana.Perez@Example.com,Picker\n\
         pf3,Cy Twain,,Picker\n",
    )
    .unwrap();
    let third = run(ctx).await;
    assert_eq!(third.status, RunStatus::Succeeded, "{third:#?}");
    assert_eq!(third.planned.get("update"), Some(&1), "{third:#?}");
    assert_eq!(sync_of("bo.li@example.com").await, serde_json::Value::Null);
    assert_eq!(
        sync_of("ana.perez@example.com").await["podfactory_user_id"],
        "pf1"
    );
    let bo = auth0.user_by_email("bo.li@example.com").await;
    assert!(
        bo[0]["app_metadata"]
            .as_object()
            .unwrap()
            .contains_key("employee_id"),
        "removing the block keeps the other keys: {}",
        bo[0]["app_metadata"]
    );
    assert!(run(ctx).await.planned.is_empty());
}

/// One bad row in the PodFactory export does not stop matching: it is an
/// `invalid_podfactory_row` finding naming the line, the others are linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_podfactory_row_is_a_finding_and_the_rest_match() {
    let w = csv_world(
        Db::Sqlite,
        "id,name,email,user_role\n\
         pf1,Ana Perez,ana.perez@example.com,Picker\n\
         ,Nameless Row,,Picker\n\
         pf2,Bo Li,bo.li@example.com,Shipper,extra\n\
         pf3,Cy Twain,cy@example.com,Picker\n",
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(2, "Bo Li", "bo.li@example.com", true),
            employee(3, "Cy Twain", "cy@example.com", true),
        ],
        |_| {},
    )
    .await;
    let r = run(&w.ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:#?}");
    let pf = r.podfactory.clone().expect("matching ran");
    assert_eq!((pf.users, pf.matched, pf.skipped_rows), (2, 2, 2), "{pf:?}");
    assert_eq!(r.findings.get("invalid_podfactory_row"), Some(&2));
    // The report says which rows, not only how many.
    let text = rosterd::report::human(&r);
    assert!(
        text.contains("e.g. invalid_podfactory_row: ")
            && text.contains("line 3, column 1 (id): empty id"),
        "{text}"
    );
    let plan = stored_plan(&w.ctx.store, r.run_id).await;
    let mut details: Vec<&str> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "invalid_podfactory_row")
        .map(|f| f["detail"].as_str().unwrap())
        .collect();
    details.sort();
    let csv = w.csv.display().to_string();
    assert_eq!(
        details,
        [
            format!("{csv}: line 3, column 1 (id): empty id; the row was skipped, the other users matched"),
            format!("{csv}: line 4: 5 fields, but the header has 4; the row was skipped, the other users matched"),
        ]
    );
}

/// PodFactory user pf1 "Jose Khan", no email, linked by name to employee 1
/// by a first run.
async fn jose_khan_linked_by_name() -> CsvWorld {
    let w = csv_world(
        Db::Sqlite,
        "id,name,email,user_role\npf1,Jose Khan,,Picker\n",
        &[employee(1, "Jose Khan", "jose.khan@example.com", true)],
        |_| {},
    )
    .await;
    let first = run(&w.ctx).await;
    assert_eq!(first.podfactory.clone().unwrap().new_links, 1, "{first:?}");
    w
}

/// A user linked by name who becomes ambiguous when a namesake joins keeps
/// the link, and says so: matched (the links table and the report agree),
/// not also a case waiting for a person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namesake_joining_keeps_the_link_and_is_no_case_for_a_person() {
    let w = jose_khan_linked_by_name().await;
    let ctx = &w.ctx;

    ctx.store
        .insert_employees(&[employee(2, "Jose Khan", "jkhan2@example.com", true)])
        .await
        .unwrap();
    let r = run(ctx).await;
    let pf = r.podfactory.clone().unwrap();
    assert_eq!(
        (pf.matched, pf.ambiguous, pf.kept_links, pf.new_links),
        (1, 0, 1, 0),
        "{pf:?}"
    );
    assert_eq!(r.findings.get("ambiguous_podfactory_user"), None, "{r:?}");
    let links = current_links(&ctx.store).await;
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].0.as_str(), links[0].1), ("pf1", 1));
    assert!(rosterd::report::human(&r).contains("1 kept though a namesake came"));
}

/// A user linked by name loses the employee when another user turns up
/// with the employee's email: not kept as a namesake's case, and its old
/// link ends, so the employee has one current link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_taken_by_stronger_evidence_ends_and_is_not_kept() {
    let w = jose_khan_linked_by_name().await;
    let ctx = &w.ctx;
    std::fs::write(
        &w.csv,
        "id,name,email,user_role\npf1,Jose Khan,,Picker\npf9,J Khan,jose.khan@example.com,Picker\n",
    )
    .unwrap();
    let r = run(ctx).await;
    let pf = r.podfactory.clone().unwrap();
    assert_eq!((pf.matched, pf.kept_links), (1, 0), "{pf:?}");
    let links = current_links(&ctx.store).await;
    let current: Vec<(&str, i64, &str)> = links
        .iter()
        .map(|(p, e, m, _)| (p.as_str(), *e, m.as_str()))
        .collect();
    assert_eq!(current, [("pf9", 1, "email")]);
}

/// A run whose employees, users, mappings and settings are the last
/// match's reads that match back (same links, findings and counts), and
/// any change to them matches again; a stored match that no longer reads
/// costs a match, not the run.
async fn the_last_match_is_reused_only_while_its_inputs_are_unchanged(db: Db) {
    let w = csv_world(
        db,
        "id,name,email,user_role\n\
         pf1,Ana Perez,ana.perez@example.com,Picker\n\
         pf3,\"Twain, Cy\",,Picker\n\
         pf5,Sam Lee,,Packer\n",
        &[
            employee(1, "Ana Pérez", "ana.perez@example.com", true),
            employee(3, "Cy Twain", "cy@example.com", true),
            employee(4, "Sam Lee", "sam.lee@example.com", true),
            employee(5, "Sam Lee", "samuel.lee@example.com", true),
        ],
        |_| {},
    )
    .await;
    let ctx = &w.ctx;
    // A dry run writes nothing, the match included.
    assert!(!dry_run(ctx).await.podfactory.unwrap().reused_match);
    let stored: Vec<(String,)> =
        fetch_all(&ctx.store, "SELECT fingerprint FROM podfactory_match_memo").await;
    assert!(stored.is_empty(), "{stored:?}");
    let first = run(ctx).await;
    let pf = first.podfactory.clone().unwrap();
    assert!(!pf.reused_match, "{pf:?}");
    assert_eq!(
        (pf.matched, pf.ambiguous, pf.new_links),
        (2, 1, 2),
        "{pf:?}"
    );
    let linked = current_links(&ctx.store).await;

    let second = run(ctx).await;
    let again = second.podfactory.clone().unwrap();
    assert!(again.reused_match, "{again:?}");
    assert_eq!(
        (
            again.matched,
            again.ambiguous,
            again.unmatched,
            again.new_links
        ),
        (2, 1, 0, 0),
        "{again:?}"
    );
    assert_eq!(second.findings, first.findings);
    assert_eq!(current_links(&ctx.store).await, linked);
    assert!(rosterd::report::human(&second).contains("the last match reused"));
    // The ambiguous Sam Lee's finding still names both candidates.
    let plan = stored_plan(&ctx.store, second.run_id).await;
    let amb = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "ambiguous_podfactory_user")
        .expect("the ambiguous user's finding");
    assert_eq!(amb["candidates"].as_array().unwrap().len(), 2, "{amb}");

    // The same rows in another order are the same inputs.
    std::fs::write(
        &w.csv,
        "id,name,email,user_role\n\
         pf5,Sam Lee,,Packer\n\
         pf3,\"Twain, Cy\",,Picker\n\
         pf1,Ana Perez,ana.perez@example.com,Picker\n",
    )
    .unwrap();
    let reordered = run(ctx).await.podfactory.unwrap();
    assert!(reordered.reused_match, "{reordered:?}");
    assert_eq!((reordered.matched, reordered.new_links), (2, 0));

    // A user's email changes: matched again, and the link follows it.
    std::fs::write(
        &w.csv,
        "id,name,email,user_role\n\
         pf1,Ana Perez,ana.perez@example.com,Picker\n\
         pf3,\"Twain, Cy\",,Picker\n\
         pf5,Sam Lee,samuel.lee@example.com,Packer\n",
    )
    .unwrap();
    let third = run(ctx).await.podfactory.unwrap();
    assert!(!third.reused_match, "{third:?}");
    assert_eq!((third.matched, third.new_links), (3, 1), "{third:?}");
    assert!(current_links(&ctx.store).await.iter().any(|(p, e, m, _)| (
        p.as_str(),
        *e,
        m.as_str()
    ) == ("pf5", 5, "email")));

    // An employee's change does too.
    exec(
        &ctx.store,
        "UPDATE employees SET full_name = 'Cy Twain-Hart' WHERE id = 3",
    )
    .await;
    assert!(!run(ctx).await.podfactory.unwrap().reused_match);
    let settled = run(ctx).await.podfactory.unwrap();
    assert!(settled.reused_match, "{settled:?}");

    // A stored match that does not read is matched again, the run unharmed.
    let stored: Vec<(String,)> =
        fetch_all(&ctx.store, "SELECT fingerprint FROM podfactory_match_memo").await;
    ctx.store
        .put_match_memo(&stored[0].0, b"not gzip", chrono::Utc::now())
        .await
        .unwrap();
    let r = run(ctx).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{r:?}");
    let pf = r.podfactory.unwrap();
    assert!(!pf.reused_match);
    assert_eq!(
        (pf.matched, pf.ambiguous, pf.unmatched, pf.new_links),
        (settled.matched, settled.ambiguous, settled.unmatched, 0),
        "{pf:?}"
    );
    assert!(run(ctx).await.podfactory.unwrap().reused_match);
}

/// One person's several PodFactory logins on their mailbox are all linked,
/// and the mapping audit (one row per employee and account) names one of
/// them, the same every run: the lowest user id, as `podfactory_sync` does,
/// not whichever came last (which rewrote the row on every run, each time
/// naming the other login).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_logins_of_one_person_are_linked_and_audited_as_one() {
    let w = csv_world(
        Db::Sqlite,
        "id,name,email,user_role\n\
         pf2,Jo Doe,jdoe@example.com,Picker\n\
         pf1,Jo Doe,jdoe.shp@example.com,Shipper\n",
        &[employee(1, "Jo Doe", "jdoe@example.com", true)],
        |_| {},
    )
    .await;
    let ctx = &w.ctx;
    let audit = || async {
        rows(
            &ctx.store,
            "SELECT auth0_user_id, employee_id, matched_by, podfactory_email FROM auth0_employee_mapping_audit",
        )
        .await
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        let pf = run(ctx).await.podfactory.unwrap();
        assert_eq!(pf.matched, 2, "{pf:?}");
        let a = audit().await;
        assert_eq!(a.len(), 1, "{a:?}");
        seen.push(a[0].3.clone());
    }
    let links = current_links(&ctx.store).await;
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(seen, vec![Some("jdoe.shp@example.com".to_string()); 3]);
}
