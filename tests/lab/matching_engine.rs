//! The matcher's evidence levels and decisions, through the public API.

use rosterd_core::matching::{
    employees_without_user, match_users, sync_metadata, EmployeeRecord, ManualMapping, MatchResult,
    MatchSettings, MatchStatus, MatchedBy, PodFactoryUser,
};
use rosterd_core::model::{Email, EmployeeId};

fn emp(id: i64, name: &str, email: &str, dept: &str) -> EmployeeRecord {
    EmployeeRecord {
        id: EmployeeId(id),
        full_name: name.into(),
        email: Email::parse(email).unwrap(),
        department: dept.into(),
        role_code: String::new(),
        is_active: true,
        previous_names: Vec::new(),
    }
}

fn user(id: &str, name: &str, email: &str, role: &str) -> PodFactoryUser {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    PodFactoryUser {
        id: id.into(),
        name: opt(name),
        email: opt(email),
        user_role: opt(role),
    }
}

fn run(
    emps: &[EmployeeRecord],
    users: &[PodFactoryUser],
    manual: &[ManualMapping],
) -> Vec<MatchResult> {
    let view: Vec<_> = emps.iter().map(EmployeeRecord::as_match).collect();
    match_users(&view, users, manual, &MatchSettings::default())
}

fn one(emps: &[EmployeeRecord], u: PodFactoryUser) -> MatchResult {
    run(emps, &[u], &[]).remove(0)
}

fn staff() -> Vec<EmployeeRecord> {
    vec![
        emp(1, "John Doe", "john.doe@pw.com", "Shipping"),
        emp(2, "José Núñez", "jose.nunez@pw.com", "Picking"),
        emp(3, "William Smith", "wsmith@pw.com", "Packing"),
        emp(4, "Maria Lopez", "maria.lopez@pw.com", "Heat Press"),
        emp(5, "Maria Lopez", "maria.lopez2@pw.com", "Picking"),
        EmployeeRecord {
            previous_names: vec!["Jane Brown".into()],
            ..emp(6, "Jane Green", "jane.green@pw.com", "Quality")
        },
        emp(7, "Katarzyna Wiśniewska", "kwisniewska@pw.com", "Shipping"),
    ]
}

fn linked(r: &MatchResult) -> Option<(i64, MatchedBy)> {
    Some((r.employee_id?.0, r.matched_by?))
}

#[test]
fn each_evidence_level() {
    let s = staff();
    let cases = [
        (
            user("a", "J. Doe", "JOHN.DOE@PW.COM", ""),
            (1, MatchedBy::Email),
        ),
        (
            user("b", "john_doe", "john.doe.shp@pw.com", ""),
            (1, MatchedBy::EmailSuffix),
        ),
        (
            user("c", "", "john.doe+floor@pw.com", ""),
            (1, MatchedBy::EmailSuffix),
        ),
        (
            user("d", "Jane Brown", "", ""),
            (6, MatchedBy::PreviousName),
        ),
        (user("e", "Nunez, Jose", "", ""), (2, MatchedBy::Name)),
        (
            user("f", "JOSE NUNEZ", "jn1990@gmail.com", ""),
            (2, MatchedBy::Name),
        ),
        (user("g", "Bill Smith", "", ""), (3, MatchedBy::FuzzyName)),
        (
            user("h", "Katarzyna Wisniewksa", "", ""),
            (7, MatchedBy::FuzzyName),
        ),
    ];
    for (u, want) in cases {
        let id = u.id.clone();
        let r = one(&s, u);
        assert_eq!(linked(&r), Some(want), "{id}: {r:#?}");
        assert_eq!(r.status, MatchStatus::Matched);
        assert!(
            !r.explanation.is_empty() && !r.candidates.is_empty(),
            "{r:#?}"
        );
    }
}

#[test]
fn an_email_link_is_overruled_when_the_names_share_nothing() {
    let r = one(
        &staff(),
        user("a", "Packing Station", "john.doe.pack@pw.com", ""),
    );
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    assert_eq!(r.candidates[0].employee_id, EmployeeId(1));
}

#[test]
fn manual_mapping_wins_even_over_email() {
    let manual = [ManualMapping {
        podfactory_user_id: "a".into(),
        employee_id: EmployeeId(3),
    }];
    let r = run(
        &staff(),
        &[user("a", "John Doe", "john.doe@pw.com", "")],
        &manual,
    )
    .remove(0);
    assert_eq!(linked(&r), Some((3, MatchedBy::Manual)));
    assert_eq!(MatchedBy::Manual.audit_kind(), "manual");
    // A mapping to an employee that is not loaded is ignored, and said so.
    let manual = [ManualMapping {
        podfactory_user_id: "a".into(),
        employee_id: EmployeeId(99),
    }];
    let r = run(&staff(), &[user("a", "John Doe", "", "")], &manual).remove(0);
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)));
    assert!(r.explanation.contains("99"), "{}", r.explanation);
}

#[test]
fn audit_kinds() {
    assert_eq!(MatchedBy::Email.audit_kind(), "email");
    assert_eq!(MatchedBy::EmailSuffix.audit_kind(), "email");
    for b in [
        MatchedBy::PreviousName,
        MatchedBy::Name,
        MatchedBy::FuzzyName,
    ] {
        assert_eq!(b.audit_kind(), "name");
    }
}

/// Users linked by email whose roles show what station names mean here:
/// six `Heat Press` users in Heat Press, six `Picker` users in Picking.
fn floor_linked(s: &mut Vec<EmployeeRecord>) -> Vec<PodFactoryUser> {
    let stations = [("Heat Press", "Heat Press"), ("Picker", "Picking")];
    let linked = stations
        .iter()
        .flat_map(|&station| std::iter::repeat_n(station, 6));
    let mut users = Vec::new();
    for (k, (role, department)) in linked.enumerate() {
        let email = format!("worker{k}@pw.com");
        s.push(emp(
            100 + k as i64,
            &format!("Worker Number{k}"),
            &email,
            department,
        ));
        users.push(user(&format!("w{k}"), "", &email, role));
    }
    users
}

#[test]
fn namesakes_need_the_role_hint() {
    let mut s = staff();
    let r = one(&s, user("a", "Maria Lopez", "", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous);
    let mut ids: Vec<i64> = r.candidates.iter().map(|c| c.employee_id.0).collect();
    ids.sort();
    assert_eq!(ids, vec![4, 5]);
    assert!(r.employee_id.is_none() && r.matched_by.is_none());
    // A station's name alone, with nobody linked to bear it out, is no
    // evidence: a person may work at another department's station.
    let r = one(&s, user("a", "Maria Lopez", "", "Heat Press"));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");

    let floor = floor_linked(&mut s);
    let decide = |u: PodFactoryUser| {
        let users: Vec<PodFactoryUser> = std::iter::once(u).chain(floor.clone()).collect();
        run(&s, &users, &[]).remove(0)
    };
    let r = decide(user("a", "Maria Lopez", "", "Heat Press"));
    assert_eq!(linked(&r), Some((4, MatchedBy::Name)), "{r:#?}");
    let r = decide(user("a", "maria.lopez", "", "Picker"));
    assert_eq!(linked(&r), Some((5, MatchedBy::Name)));
    // A role neither has decides nothing.
    assert_eq!(
        decide(user("a", "Maria Lopez", "", "Shipping")).status,
        MatchStatus::Ambiguous
    );
}

#[test]
fn what_weak_evidence_decides() {
    let s = staff();
    // An initial and a surname one employee alone has is part of a name
    // (0.96): a link at the default threshold, a candidate above it.
    let r = one(&s, user("a", "J. Doe", "", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:#?}");
    assert_eq!(r.confidence, 0.96);
    let strict = MatchSettings {
        accept_threshold: 0.97,
        ..MatchSettings::default()
    };
    let view: Vec<_> = s.iter().map(EmployeeRecord::as_match).collect();
    let r = match_users(&view, &[user("a", "J. Doe", "", "")], &[], &strict).remove(0);
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    assert_eq!(r.candidates[0].employee_id, EmployeeId(1));
    // A different given name that is a name in this workforce.
    let r = one(&s, user("a", "Jane Doe", "", ""));
    assert_eq!(r.status, MatchStatus::Unmatched, "{r:#?}");
    // A first name alone, a last name alone: the one employee they fit
    // is a candidate to review, never a link.
    for name in ["John", "Doe"] {
        let r = one(&s, user("a", name, "", ""));
        assert_eq!(
            (r.status, r.employee_id),
            (MatchStatus::Ambiguous, None),
            "{name}: {r:#?}"
        );
        assert_eq!(r.candidates[0].employee_id, EmployeeId(1));
        assert_eq!(r.confidence, 0.0);
    }
    // Nothing at all, or a name no employee has.
    for name in ["", "Peter Parker"] {
        let r = one(&s, user("a", name, "", ""));
        assert_eq!(r.status, MatchStatus::Unmatched, "{name}: {r:#?}");
        assert_eq!(r.confidence, 0.0);
    }
}

#[test]
fn a_different_company_mailbox_blocks_a_name_link() {
    let s = staff();
    let r = one(&s, user("a", "John Doe", "john.doe2@pw.com", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    // A slip in the mailbox is not another person's.
    let r = one(&s, user("a", "John Doe", "jonh.doe@pw.com", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:#?}");
    // A personal mailbox says nothing.
    let r = one(&s, user("a", "John Doe", "jd@gmail.com", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)));
}

#[test]
fn links_are_one_to_one() {
    let s = staff();
    // Two users, one employee, equal evidence: neither is linked.
    let rs = run(
        &s,
        &[
            user("a", "John Doe", "", ""),
            user("b", "Doe, John", "", ""),
        ],
        &[],
    );
    assert!(
        rs.iter().all(|r| r.status == MatchStatus::Ambiguous),
        "{rs:#?}"
    );
    assert!(rs
        .iter()
        .all(|r| r.candidates.iter().any(|c| c.employee_id == EmployeeId(1))));
    // Email beats name; the name claimant becomes ambiguous.
    let rs = run(
        &s,
        &[
            user("a", "John Doe", "", ""),
            user("b", "J Doe", "john.doe@pw.com", ""),
        ],
        &[],
    );
    assert_eq!(rs[0].status, MatchStatus::Ambiguous);
    assert_eq!(linked(&rs[1]), Some((1, MatchedBy::Email)));
    // The mailbox and a station variant of it are one person's two logins:
    // both are linked.
    let rs = run(
        &s,
        &[
            user("a", "John Doe", "john.doe.shp@pw.com", ""),
            user("b", "John Doe", "john.doe@pw.com", ""),
        ],
        &[],
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::EmailSuffix)));
    assert_eq!(linked(&rs[1]), Some((1, MatchedBy::Email)));
    // A clearly better name claim wins over a typo'd one.
    let rs = run(
        &s,
        &[
            user("a", "Jose Nunez", "", ""),
            user("b", "Jose Nunes", "", ""),
        ],
        &[],
    );
    assert_eq!(linked(&rs[0]), Some((2, MatchedBy::Name)));
    assert_eq!(rs[1].status, MatchStatus::Ambiguous);
}

#[test]
fn inactive_employees_match_and_do_not_count_as_missing() {
    let mut s = staff();
    s[0].is_active = false;
    let r = one(&s, user("a", "John Doe", "", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)));
    let view: Vec<_> = s.iter().map(EmployeeRecord::as_match).collect();
    let results = match_users(
        &view,
        &[user("a", "José Núñez", "", "")],
        &[],
        &MatchSettings::default(),
    );
    let missing = employees_without_user(&view, &results);
    assert_eq!(missing, [3, 4, 5, 6, 7].map(EmployeeId).to_vec());
}

#[test]
fn results_are_deterministic_and_in_input_order() {
    let c = rosterd_lab::corpus::generate(800, 3, true);
    let a = run(&c.employees, &c.users, &[]);
    let mut reversed = c.employees.clone();
    reversed.reverse();
    let b = run(&reversed, &c.users, &[]);
    assert_eq!(a, b);
    assert_eq!(a, run(&c.employees, &c.users, &[]));
    assert!(a.iter().zip(&c.users).all(|(r, u)| r.podfactory_id == u.id));
}

#[test]
fn settings_are_honoured() {
    let s = staff();
    let view: Vec<_> = s.iter().map(EmployeeRecord::as_match).collect();
    let u = [user("a", "Bill Smith", "wsmith.tx@pw.com", "")];
    let strict = MatchSettings {
        accept_threshold: 0.99,
        ..MatchSettings::default()
    };
    assert_eq!(
        match_users(&view, &u, &[], &strict)[0].status,
        MatchStatus::Ambiguous
    );
    let tx = MatchSettings {
        station_suffixes: vec!["tx".into()],
        ..MatchSettings::default()
    };
    assert_eq!(
        match_users(&view, &u, &[], &tx)[0].matched_by,
        Some(MatchedBy::EmailSuffix)
    );
}

#[test]
fn surname_particles_split_or_joined_compare_equal() {
    let mut s = staff();
    s.push(emp(
        8,
        "William van der Berg",
        "william.vanderberg@pw.com",
        "Packing",
    ));
    s.push(emp(9, "Jean d'Arcy", "jdarcy@pw.com", "Shipping"));
    s.push(emp(10, "Sean O'Brien", "sobrien@pw.com", "Shipping"));
    for (name, want) in [
        // The demo's case: no email, the login as the name.
        ("william.vanderberg", 8),
        ("Berg, William van der", 8),
        ("VanDerBerg William", 8),
        ("William Van Der Berg", 8),
        ("William VanDerBerg", 8),
        ("william_vanderberg", 8),
        ("Jean Darcy", 9),
        ("Jean D Arcy", 9),
        ("D'Arcy, Jean", 9),
        ("Sean OBrien", 10),
        ("Sean O Brien", 10),
    ] {
        let r = one(&s, user("u", name, "", ""));
        assert_eq!(linked(&r), Some((want, MatchedBy::Name)), "{name}: {r:#?}");
    }
    // The other way round: employees spelled joined, users split.
    let s = vec![emp(1, "William Vanderberg", "wv@pw.com", "Packing")];
    let r = one(&s, user("u", "William van der Berg", "", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:#?}");
}

#[test]
fn different_particles_are_different_surnames() {
    let s = vec![
        emp(1, "William van der Berg", "wvdb@pw.com", "Packing"),
        emp(2, "William van Berg", "wvb@pw.com", "Packing"),
        emp(3, "Anna van den Bosch", "avdb@pw.com", "Packing"),
    ];
    for (name, want) in [
        ("William van Berg", 2),
        ("william.vanberg", 2),
        ("William van der Berg", 1),
        ("william.vanderberg", 1),
        ("VanDerBerg William", 1),
    ] {
        let r = one(&s, user("u", name, "", ""));
        assert_eq!(linked(&r), Some((want, MatchedBy::Name)), "{name}: {r:#?}");
    }
    // Without the particles either could be meant.
    let r = one(&s, user("u", "William Berg", "", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    assert_eq!(r.candidates.len(), 2, "{r:#?}");
    // A one-letter difference in the particles is not a typo.
    for name in ["Anna van der Bosch", "anna.vanderbosch"] {
        let r = one(&s, user("u", name, "", ""));
        assert_ne!(r.status, MatchStatus::Matched, "{name}: {r:#?}");
    }
    // Both users in one pass: each gets its own William.
    let rs = run(
        &s,
        &[
            user("a", "william.vanderberg", "", ""),
            user("b", "William van Berg", "", ""),
        ],
        &[],
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::Name)));
    assert_eq!(linked(&rs[1]), Some((2, MatchedBy::Name)));
}

#[test]
fn sync_metadata_names_the_link_and_every_known_email_of_matched_employees_only() {
    let emps = staff();
    let users = [
        user("pf-1", "John Doe", "John.Doe.SHP@pw.com", "Shipper"),
        user("pf-2", "José Nuñez", "not an email", "Picker"),
        user("pf-3", "Maria Lopez", "", ""),
        user("pf-4", "Nobody Known", "nobody@elsewhere.example", ""),
    ];
    let results = run(&emps, &users, &[]);
    let view: Vec<_> = emps.iter().map(EmployeeRecord::as_match).collect();
    let sync = sync_metadata(&view, &users, &results, &MatchSettings::default());

    // Only matched users: Maria Lopez is ambiguous (two of them), pf-4 unmatched.
    let ids: Vec<i64> = sync.keys().map(|e| e.0).collect();
    assert_eq!(ids, vec![1, 2], "{results:#?}");
    let john = &sync[&EmployeeId(1)];
    assert_eq!(john.podfactory_user_id, "pf-1");
    assert_eq!(
        john.podfactory_email.as_deref(),
        Some("john.doe.shp@pw.com")
    );
    assert_eq!(john.matched_by, "email_suffix");
    assert_eq!(
        john.email_variations,
        vec!["john.doe.shp@pw.com", "john.doe@pw.com"]
    );
    // An unusable PodFactory email is kept as given but is no variation.
    let jose = &sync[&EmployeeId(2)];
    assert_eq!(jose.podfactory_email.as_deref(), Some("not an email"));
    assert_eq!(jose.email_variations, vec!["jose.nunez@pw.com"]);
    assert_eq!(jose.matched_by, "name");
}

/// Two surnames (paternal, maternal), as much of this workforce has them:
/// people go by the first, either system may carry one or both.
#[test]
fn one_of_two_surnames_links_alone_and_competes_with_namesakes() {
    let ids = |r: &MatchResult| {
        let mut v: Vec<i64> = r.candidates.iter().map(|c| c.employee_id.0).collect();
        v.sort();
        v
    };
    // PodFactory dropped the second surname, or added it.
    let hr = vec![
        emp(1, "Juan Ochoa Dávila", "jochoa@pw.com", "Shipping"),
        emp(2, "Pedro Peña", "ppena@pw.com", "Picking"),
        emp(3, "Ana Ruiz", "aruiz@pw.com", "Picking"),
    ];
    let r = one(&hr, user("a", "Juan Ochoa", "", ""));
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:#?}");
    let r = one(&hr, user("a", "Pedro Pena Castillo", "", ""));
    assert_eq!(linked(&r), Some((2, MatchedBy::FuzzyName)), "{r:#?}");

    // An exact namesake is as plausible: neither is linked.
    let mut with_namesake = hr.clone();
    with_namesake.push(emp(4, "Juan Ochoa", "juan.ochoa@pw.com", "Packing"));
    let r = one(&with_namesake, user("a", "Juan Ochoa", "", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    assert_eq!(ids(&r), vec![1, 4]);

    // Both surnames, each another employee's only one.
    let hr = vec![
        emp(1, "Pedro Bermúdez", "pbermudez@pw.com", "Packing"),
        emp(2, "Pedro Martínez", "pmartinez@pw.com", "Heat Press"),
    ];
    let r = one(&hr, user("a", "Pedro Bermudez Martinez", "", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");
    assert_eq!(ids(&r), vec![1, 2]);

    // A surname read as a middle name competes with the first-surname reading.
    let hr = vec![
        emp(1, "Gabriela Ramos Andrade", "gramos@pw.com", "Office"),
        emp(2, "Gabriela Andrade Núñez", "gandrade@pw.com", "Printing"),
    ];
    let r = one(&hr, user("a", "Gabriela Andrade", "", ""));
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:#?}");

    // One of two surnames and an extra part on the other side: different
    // people (Peña Castillo is not Castillo Ruiz), either way round.
    let hr = vec![emp(1, "Juan Castillo Ruiz", "jcastillo@pw.com", "Printing")];
    let r = one(&hr, user("a", "Juan Peña Castillo", "", ""));
    assert_ne!(r.status, MatchStatus::Matched, "{r:#?}");
    let hr = vec![emp(1, "Juan Peña Castillo", "jpena@pw.com", "Printing")];
    let r = one(&hr, user("a", "Juan Castillo Ruiz", "", ""));
    assert_ne!(r.status, MatchStatus::Matched, "{r:#?}");

    // Hyphenated given names split into parts are not two surnames.
    let hr = vec![emp(1, "Ji-hoon Park", "jpark@pw.com", "Printing")];
    let r = one(&hr, user("a", "Ji-hoon Parker", "", ""));
    assert_eq!(r.status, MatchStatus::Unmatched, "{r:#?}");
}

#[test]
fn a_middle_name_is_not_read_as_a_first_surname() {
    let hr = vec![
        emp(1, "John Michael", "jmichael@pw.com", "Shipping"),
        emp(2, "Michael Brown", "mbrown@pw.com", "Picking"),
    ];
    let r = one(&hr, user("a", "John Michael Smith", "", ""));
    assert_eq!(r.status, MatchStatus::Unmatched, "{r:#?}");
}
