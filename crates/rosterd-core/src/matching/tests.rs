//! The evidence of issue 14, each with the nearby case it must not link.

use super::*;

fn emp(id: i64, name: &str, email: &str) -> EmployeeRecord {
    EmployeeRecord {
        id: EmployeeId(id),
        full_name: name.into(),
        email: Email::parse(email).unwrap(),
        department: String::new(),
        role_code: String::new(),
        is_active: true,
        previous_names: Vec::new(),
    }
}

fn one(emps: &[EmployeeRecord], name: &str, email: &str) -> MatchResult {
    let view: Vec<_> = emps.iter().map(EmployeeRecord::as_match).collect();
    let user = PodFactoryUser {
        id: "u".into(),
        name: Some(name.into()),
        email: (!email.is_empty()).then(|| email.into()),
        user_role: None,
    };
    match_users(&view, &[user], &[], &MatchSettings::default()).remove(0)
}

fn linked(r: &MatchResult) -> Option<(i64, MatchedBy)> {
    Some((r.employee_id?.0, r.matched_by?))
}

/// Each typed name links, on its name alone, to the employee given.
fn each_links(staff: &[EmployeeRecord], cases: &[(&str, i64)]) {
    for &(typed, want) in cases {
        let r = one(staff, typed, "");
        assert_eq!(
            linked(&r),
            Some((want, MatchedBy::FuzzyName)),
            "{typed}: {r:?}"
        );
    }
}

#[test]
fn a_personal_mailbox_that_spells_the_name_is_name_evidence() {
    let staff = [
        emp(1, "Cody Gupta", "cody.gupta@pw.com"),
        emp(2, "Cody Garcia", "cody.garcia@pw.com"),
    ];
    let both = one(&staff, "Cody G.", "");
    assert_eq!(
        (both.status, both.employee_id),
        (MatchStatus::Ambiguous, None)
    );
    assert_eq!(both.candidates.len(), 2, "{both:?}");
    let r = one(&staff, "Cody G.", "cody_gupta85@outlook.com");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
    assert!(
        r.confidence < 1.0,
        "a mailbox's name is weaker than the name itself"
    );
    assert!(
        r.explanation.contains("personal mailbox"),
        "{}",
        r.explanation
    );
    // The same local part at an employee domain is no personal mailbox.
    let r = one(&staff, "Cody G.", "cody_gupta85@pw.com");
    assert_eq!(r.employee_id, None, "{r:?}");
}

#[test]
fn a_personal_mailbox_that_spells_another_candidate_blocks_the_link() {
    let staff = [
        emp(1, "Lukasz Kowalski", "lukasz.kowalski@pw.com"),
        emp(2, "Lukas Kowalski", "lukas.kowalski@pw.com"),
    ];
    assert_eq!(
        linked(&one(
            &staff,
            "Lukasz Kowalski",
            "lukasz.kowalski7@gmail.com"
        )),
        Some((1, MatchedBy::Name))
    );
    let r = one(&staff, "Lukasz Kowalski", "lukas.kowalski91@gmail.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(r.candidates.iter().any(|c| c.employee_id == EmployeeId(2)));
    // Run together, a mailbox still says which of two it is not.
    let staff = [
        emp(1, "Lukasz Kowalski", "lukasz.kowalski@pw.com"),
        emp(3, "Łukasz Jankowski-Kowalski", "lukasz.j@pw.com"),
        emp(4, "Anna Jankowski", "anna.jankowski@pw.com"),
    ];
    assert_eq!(
        linked(&one(&staff, "Lukasz Kowalski", "")),
        Some((1, MatchedBy::Name))
    );
    let r = one(
        &staff,
        "Lukasz Kowalski",
        "lukaszjankowskikowalski84@gmail.com",
    );
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(
        r.explanation.contains("spells the name of employee 3"),
        "{}",
        r.explanation
    );
}

#[test]
fn a_mailbox_at_another_organisation_blocks_a_name_link() {
    let staff = [emp(1, "Jessica Michael Johnson", "jessica.johnson@pw.com")];
    assert_eq!(
        linked(&one(&staff, "Jessica Johnson", "jjohnson@gmail.com")),
        Some((1, MatchedBy::Name))
    );
    let r = one(&staff, "Jessica Johnson", "jjohnson@staffmark-temps.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(
        r.explanation.contains("another organisation"),
        "{}",
        r.explanation
    );
}

#[test]
fn digits_that_look_like_letters_are_read_as_letters() {
    let staff = [
        emp(1, "Donald Wilson", "donald.wilson@pw.com"),
        emp(2, "Donna Wilson", "donna.wilson@pw.com"),
    ];
    assert_eq!(
        linked(&one(&staff, "Dona1d Wi1son", "")),
        Some((1, MatchedBy::Name))
    );
    // A number after a login is a number, not a letter.
    assert_eq!(normalize::name_forms("dwilson1")[0].tokens, ["dwilson"]);
}

#[test]
fn typos_in_both_parts_link_but_real_names_are_not_typos() {
    let staff = [
        emp(1, "John Smith", "john.smith@pw.com"),
        emp(2, "Joan Baker", "joan.baker@pw.com"),
    ];
    let r = one(&staff, "Jonh Smiht", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:?}");
    // `Joan` is a name an employee has: Joan Smyth is someone else.
    assert_eq!(one(&staff, "Joan Smyth", "").employee_id, None);
    // Typos that change how each part sounds, and a surname's first letters.
    let staff = [
        emp(1, "Rahul Chopra", "rahul.chopra@pw.com"),
        emp(2, "Juan Walker", "juan.walker@pw.com"),
        emp(3, "Sergio Garcia Ibarra", "sergio.garcia@pw.com"),
    ];
    each_links(&staff, &[("Rxhul Chopraa", 1), ("Juna Waoker", 2)]);
    // With one of two surnames besides, three deviations: for review only.
    let r = one(&staff, "Sregio Garcai", "");
    assert_eq!(r.employee_id, None, "{r:?}");
    assert_eq!(r.candidates[0].employee_id, EmployeeId(3), "{r:?}");
    // One edit in each is still one edit each: two are someone else.
    assert_eq!(one(&staff, "Rxhl Chopraaa", "").employee_id, None);
}

#[test]
fn a_transposed_surname_still_meets_its_employee() {
    let staff = [
        emp(1, "Xin Wang", "xin.wang@pw.com"),
        emp(2, "Wang Xin", "wang.xin@pw.com"),
    ];
    let r = one(&staff, "Xin Wagn", "");
    // Both readings fit: the swapped one must not win by default.
    assert_ne!(r.employee_id, Some(EmployeeId(2)), "{r:?}");
    assert!(r.candidates.iter().any(|c| c.employee_id == EmployeeId(1)));
}

#[test]
fn an_unknown_word_is_not_a_second_surname() {
    let staff = [
        emp(1, "Ricardo López", "ricardo.lopez@pw.com"),
        emp(2, "Ricardo López Sánchez", "ricardo.lopez2@pw.com"),
        emp(3, "Ana Castillo", "ana.castillo@pw.com"),
    ];
    // A real surname after the one he goes by: one of two surnames.
    assert_eq!(
        linked(&one(&staff, "Ricardo López Castillo", "")),
        Some((1, MatchedBy::FuzzyName))
    );
    // After a mistyped given name, a mangled one is a second slip, no
    // reason to pick Ricardo López.
    assert_ne!(
        one(&staff, "Ricrado López Snchep", "").employee_id,
        Some(EmployeeId(1))
    );
}

#[test]
fn an_email_the_name_disowns_leaves_the_decision_to_the_name() {
    let staff = [
        emp(1, "Ruby Wilson", "ruby.wilson@pw.com"),
        emp(2, "Patricia Jefferson", "patricia.jefferson@pw.com"),
    ];
    // A shared or renamed login: Ruby Wilson working under Patricia's email.
    let r = one(&staff, "Ruby Wilson", "patricia.jefferson@pw.com");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
    assert!(
        r.evidence_against
            .iter()
            .any(|t| t.contains("shared or renamed login")),
        "{r:?}"
    );
    // A name that fits no one links no one: the email's owner stays a
    // candidate for a person to decide.
    let r = one(&staff, "Packing Station", "patricia.jefferson@pw.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert_eq!(r.candidates[0].employee_id, EmployeeId(2));
    // A name that shares a part with the owner's is no disowning.
    let r = one(&staff, "Pat Jefferson", "patricia.jefferson@pw.com");
    assert_eq!(linked(&r), Some((2, MatchedBy::Email)), "{r:?}");
}

/// Namesakes 1 and 2 (Maria Lopez, Heat Press and Picking), Ana Ruiz,
/// and for each (n, role, department) n users with the role linked by
/// email to employees of the department.
fn hint_floor(linked: &[(usize, &str, &str)]) -> (Vec<EmployeeRecord>, Vec<PodFactoryUser>) {
    let mut staff = vec![
        emp(1, "Maria Lopez", "maria.lopez@pw.com"),
        emp(2, "Maria Lopez", "maria.lopez2@pw.com"),
        emp(3, "Ana Ruiz", "ana.ruiz@pw.com"),
    ];
    staff[0].department = "Heat Press".into();
    staff[1].department = "Picking".into();
    let mut users = vec![
        PodFactoryUser {
            id: "a".into(),
            name: Some("Maria Lopez".into()),
            email: None,
            user_role: Some("Picker".into()),
        },
        PodFactoryUser {
            id: "b".into(),
            name: Some("Ana Ruiz".into()),
            email: None,
            user_role: None,
        },
    ];
    let linked = linked
        .iter()
        .flat_map(|&(n, role, department)| std::iter::repeat_n((role, department), n));
    for (k, (role, department)) in linked.enumerate() {
        let email = format!("worker{k}@pw.com");
        let mut e = emp(10 + k as i64, &format!("Worker Number{k}"), &email);
        e.department = department.into();
        staff.push(e);
        users.push(PodFactoryUser {
            id: format!("w{k}"),
            name: None,
            email: Some(email),
            user_role: Some(role.into()),
        });
    }
    (staff, users)
}

#[test]
fn a_tie_broken_by_the_role_hint_shows_lower_confidence() {
    // Three pickers linked in Picking, pressers in Heat Press: too few
    // for the counts to decide alone, enough to bear out the role's name.
    let (staff, users) = hint_floor(&[(3, "Picker", "Picking"), (6, "Press", "Heat Press")]);
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let rs = match_users(&view, &users, &[], &MatchSettings::default());
    assert_eq!(linked(&rs[0]), Some((2, MatchedBy::Name)), "{:?}", rs[0]);
    assert!(rs[0].confidence < rs[1].confidence, "{rs:?}");
    assert_eq!(rs[0].confidence, calibration::ROLE_HINT);
    assert!(
        rs[0]
            .explanation
            .contains("only this one's department/role agrees with \"Picker\""),
        "{}",
        rs[0].explanation
    );
    // Below the hint's probability the tie stays a tie.
    let strict = MatchSettings {
        accept_threshold: 0.98,
        ..MatchSettings::default()
    };
    let rs = match_users(&view, &users, &[], &strict);
    assert_eq!(rs[0].status, MatchStatus::Ambiguous, "{:?}", rs[0]);
    assert_eq!(linked(&rs[1]), Some((3, MatchedBy::Name)));
}

#[test]
fn a_role_hint_the_linked_users_do_not_bear_out_breaks_no_tie() {
    // Nobody linked yet: the station's name alone is no evidence.
    let (staff, users) = hint_floor(&[]);
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let rs = match_users(&view, &users, &[], &MatchSettings::default());
    assert_eq!(rs[0].status, MatchStatus::Ambiguous, "{:?}", rs[0]);
    // Here the pickers linked so far work in Heat Press.
    let (staff, users) = hint_floor(&[(3, "Picker", "Heat Press"), (6, "Press", "Picking")]);
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let rs = match_users(&view, &users, &[], &MatchSettings::default());
    assert_eq!(rs[0].status, MatchStatus::Ambiguous, "{:?}", rs[0]);
}

#[test]
fn every_result_says_what_spoke_for_and_against_it_and_the_runner_up() {
    let staff = [
        emp(1, "John Doe", "john.doe@pw.com"),
        emp(2, "John Michael Doe", "jm.doe@pw.com"),
        emp(3, "Mary Major", "mary.major@pw.com"),
    ];
    // A name link: how the name fits for it, and the runner-up named.
    let r = one(&staff, "Mary Major", "");
    assert!(r.evidence_for[0].contains("name fits employee 3"), "{r:?}");
    assert_eq!(r.runner_up, None);
    // A tie: the best fit for, the tie against, the other as runner-up.
    let r = one(&staff, "John Doe", "");
    assert_eq!(r.status, MatchStatus::Ambiguous);
    assert!(r.evidence_for[0].contains("name fits employee 1"), "{r:?}");
    assert!(r
        .evidence_against
        .iter()
        .any(|t| t.contains("within the margin")));
    assert_eq!(r.runner_up.map(|c| c.employee_id), Some(EmployeeId(2)));
    // Nothing close: nothing for, the reason against.
    let r = one(&staff, "Zed Quux", "zq@gmail.com");
    assert!(r.evidence_for.is_empty());
    assert!(
        r.evidence_against[0].contains("no employee's name"),
        "{r:?}"
    );
}

fn users(rows: &[(&str, &str, &str)]) -> Vec<PodFactoryUser> {
    rows.iter()
        .map(|(id, name, email)| PodFactoryUser {
            id: id.to_string(),
            name: Some(name.to_string()),
            email: (!email.is_empty()).then(|| email.to_string()),
            user_role: None,
        })
        .collect()
}

fn run(staff: &[EmployeeRecord], rows: &[(&str, &str, &str)]) -> Vec<MatchResult> {
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    match_users(&view, &users(rows), &[], &MatchSettings::default())
}

#[test]
fn several_logins_on_the_employees_mailbox_are_all_linked() {
    let staff = [
        emp(1, "Francisco Molina", "francisco.molina@pw.com"),
        emp(2, "Ana Ruiz", "ana.ruiz@pw.com"),
    ];
    // One person's logins: the mailbox itself and a station variant of it.
    let rs = run(
        &staff,
        &[
            ("a", "Francisco Molina", "francisco.molina@pw.com"),
            ("b", "Francisco Molina", "francisco.molina.shp@pw.com"),
            ("c", "Paco Molina", "FRANCISCO.MOLINA+pack@pw.com"),
        ],
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::Email)), "{:?}", rs[0]);
    assert_eq!(
        linked(&rs[1]),
        Some((1, MatchedBy::EmailSuffix)),
        "{:?}",
        rs[1]
    );
    assert_eq!(
        linked(&rs[2]),
        Some((1, MatchedBy::EmailSuffix)),
        "{:?}",
        rs[2]
    );
    // The same email on two users is one login entered twice (or shared):
    // it says nothing about which user is the employee.
    let rs = run(
        &staff,
        &[
            ("a", "Francisco Molina", "francisco.molina.shp@pw.com"),
            ("b", "Francisco Molina", "Francisco.Molina.SHP@pw.com"),
        ],
    );
    assert!(rs.iter().all(|r| r.employee_id.is_none()), "{rs:?}");
    // A name claim is no login on the mailbox: the email's user keeps the
    // employee, the name's is left for a person (it may be a namesake
    // who is no employee).
    let rs = run(
        &staff,
        &[
            ("a", "Francisco Molina", "francisco.molina.shp@pw.com"),
            ("b", "Francisco Molina", ""),
        ],
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::EmailSuffix)));
    assert_eq!(rs[1].status, MatchStatus::Ambiguous, "{:?}", rs[1]);
}

#[test]
fn an_edit_in_the_middle_of_a_short_surname_still_finds_the_employee() {
    let staff = [
        emp(1, "Rachel Evans", "rachel.evans@pw.com"),
        emp(2, "Brenda Evans", "brenda.evans@pw.com"),
    ];
    for typed in ["Rachel Evqns", "Rachel Evns", "Rahcel Evans"] {
        let r = one(&staff, typed, "");
        assert_eq!(
            linked(&r),
            Some((1, MatchedBy::FuzzyName)),
            "{typed}: {r:?}"
        );
    }
    // A surname that is some employee's own is a real name, not a typo.
    let staff = [
        emp(1, "Rachel Evans", "rachel.evans@pw.com"),
        emp(3, "Brenda Evens", "brenda.evens@pw.com"),
    ];
    assert_eq!(one(&staff, "Rachel Evens", "").employee_id, None);
}

#[test]
fn spanish_short_forms_and_other_spellings_of_a_given_name_link() {
    let staff = [
        emp(1, "Jesús Morales", "jesus.morales@pw.com"),
        emp(2, "Jeffrey Barker", "jeffrey.barker@pw.com"),
        emp(3, "Youssef Saleh", "youssef.saleh@pw.com"),
        emp(4, "José González", "jose.gonzalez@pw.com"),
        emp(5, "Joseph Gonzalez", "joseph.gonzalez@pw.com"),
    ];
    each_links(
        &staff,
        &[
            ("Chuy Morales", 1),
            ("Geoffrey Barker", 2),
            ("Yusuf Saleh", 3),
        ],
    );
    // `Joe` is short for José and for Joseph: a tie, left to a person.
    let r = one(&staff, "Joe Gonzalez", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert_eq!(r.candidates.len(), 2, "{r:?}");
}

#[test]
fn mc_mac_and_dela_written_apart_or_together_are_one_surname() {
    let staff = [
        emp(1, "Patrick McDonald", "patrick.mcdonald@pw.com"),
        emp(2, "Maria Dela Cruz", "maria.delacruz@pw.com"),
        emp(3, "Ewan Mac Lean", "ewan.maclean@pw.com"),
    ];
    for (typed, want) in [
        ("Patrick Mc Donald", 1),
        ("Maria Delacruz", 2),
        ("DELA CRUZ, MARIA", 2),
        ("Ewan MacLean", 3),
    ] {
        let r = one(&staff, typed, "");
        assert_eq!(linked(&r).map(|l| l.0), Some(want), "{typed}: {r:?}");
    }
    // A given name `Mac` is not a particle of the surname after it.
    let staff = [emp(1, "Mac Donald", "mac.donald@pw.com")];
    let r = one(&staff, "Mac Donald", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
}

#[test]
fn common_short_forms_in_several_languages_link_and_shared_ones_tie() {
    let staff = [
        emp(1, "Thomas Wilson", "thomas.wilson@pw.com"),
        emp(2, "Katarzyna Nowak", "katarzyna.nowak@pw.com"),
        emp(3, "Sandra Whitfield", "sandra.whitfield@pw.com"),
        emp(4, "Venkatesh Kumar", "venkatesh.kumar@pw.com"),
        emp(5, "Rajesh Patel", "rajesh.patel@pw.com"),
        emp(6, "Rajiv Patel", "rajiv.patel@pw.com"),
        emp(7, "Tomasz Król", "tomasz.krol@pw.com"),
        emp(8, "Thomas Król", "thomas.krol@pw.com"),
    ];
    each_links(
        &staff,
        &[
            ("Tom Wilson", 1),
            ("Kasia Nowak", 2),
            ("Whitfield, Sandy", 3),
            ("Venky Kumar", 4),
            ("Tomek Król", 7),
        ],
    );
    // `Tom` is short for Tomasz and for Thomas.
    let r = one(&staff, "Tom Król", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // `Raj` is listed for Rajesh, and starts Rajiv: either, a tie.
    let r = one(&staff, "Raj Patel", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert_eq!(r.candidates.len(), 2, "{r:?}");
}

#[test]
fn part_of_a_name_links_only_the_one_employee_it_fits() {
    let staff = [
        emp(1, "Petra Schmidt", "petra.schmidt@pw.com"),
        emp(2, "Sara Roberts", "sara.roberts@pw.com"),
        emp(3, "Sarah Rogers", "sarah.rogers@pw.com"),
        emp(4, "Louis Ortega Reyes", "louis.ortega@pw.com"),
    ];
    // A given name and the surname's initial (of either surname).
    let r = one(&staff, "petra s.", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:?}");
    assert!(
        r.confidence < calibration::name(0.96),
        "weaker than a whole name"
    );
    assert!(r
        .evidence_against
        .iter()
        .any(|e| e.contains("only part of a name")));
    assert_eq!(
        linked(&one(&staff, "LOUIS R.", "")),
        Some((4, MatchedBy::FuzzyName))
    );
    // A two-part given name and an initial: both parts must be the employee's.
    let two = [
        emp(5, "Mary Ann Davis", "mary.davis@pw.com"),
        emp(6, "Mary Beth Dunn", "mary.dunn@pw.com"),
    ];
    assert_eq!(
        linked(&one(&two, "Mary Ann D.", "")),
        Some((5, MatchedBy::FuzzyName))
    );
    assert_eq!(one(&two, "Mary Jo D.", "").employee_id, None);
    // A given name or a surname alone: the one candidate, for review.
    for name in ["Petra", "SCHMIDT"] {
        let r = one(&staff, name, "");
        assert_eq!(
            (r.status, r.employee_id),
            (MatchStatus::Ambiguous, None),
            "{name}"
        );
        assert_eq!(r.candidates[0].employee_id, EmployeeId(1));
        // On-call reads why it is not linked, not only whom it fits.
        assert!(r.explanation.contains("never a link"), "{}", r.explanation);
    }
    // `Sara R.` is Sara Roberts's or Sarah Rogers's: a given name that
    // sounds the same is a rival.
    let r = one(&staff, "Sara R.", "");
    assert_eq!(
        (r.status, r.employee_id),
        (MatchStatus::Ambiguous, None),
        "{r:?}"
    );
    let ids: Vec<i64> = r.candidates.iter().map(|c| c.employee_id.0).collect();
    assert_eq!(ids, [2, 3]);
    // No employee's initial fits, or a mailbox says otherwise: not linked.
    assert_eq!(one(&staff, "Petra K.", "").employee_id, None);
    assert_eq!(one(&staff, "Petra", "p.k@pw.com").employee_id, None);
    assert_eq!(
        one(&staff, "Petra", "petra@othercorp.com").employee_id,
        None
    );
    // Under a stricter threshold, the fit is a candidate, not a link.
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let strict = MatchSettings {
        accept_threshold: 0.99,
        ..MatchSettings::default()
    };
    let user = |id: &str, name: &str| PodFactoryUser {
        id: id.into(),
        name: Some(name.into()),
        email: None,
        user_role: None,
    };
    let r = match_users(&view, &[user("u", "Petra S.")], &[], &strict).remove(0);
    assert_eq!((r.status, r.employee_id), (MatchStatus::Ambiguous, None));
    assert!(
        r.explanation.contains("below the threshold 0.99"),
        "{}",
        r.explanation
    );
    // Anyone with the whole name takes the employee from a part of it.
    let both = match_users(
        &view,
        &[user("a", "Petra S."), user("b", "Petra Schmidt")],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(both[0].employee_id, None, "{:?}", both[0]);
    assert_eq!(linked(&both[1]), Some((1, MatchedBy::Name)));
}

#[test]
fn a_two_letter_station_written_first_links_only_where_the_name_agrees() {
    let staff = [
        emp(1, "Elena Garcia", "elena.garcia@pw.com"),
        emp(2, "Elena Maria Garcia", "elena.garcia2@pw.com"),
        emp(3, "Sam Smith", "smith@pw.com"),
    ];
    // The name alone is a tie between the namesakes; the login is hers.
    let name_only = one(&staff, "Elena Garcia", "");
    assert_eq!(name_only.employee_id, None, "{name_only:?}");
    let r = one(&staff, "Elena Garcia", "hp.elena.garcia@pw.com");
    assert_eq!(linked(&r), Some((1, MatchedBy::EmailSuffix)), "{r:?}");
    assert!(
        r.explanation.contains("without \"hp.\""),
        "{}",
        r.explanation
    );
    // `hp.smith` is as likely Harry P. Smith's login: not Sam Smith's.
    let r = one(&staff, "Harry Smith", "hp.smith@pw.com");
    assert_eq!(r.employee_id, None, "{r:?}");
    assert!(
        r.explanation.contains("is no employee's"),
        "{}",
        r.explanation
    );
}

#[test]
fn a_login_names_its_candidates_but_never_links() {
    let staff = [
        emp(1, "Amanda Gibson", "amanda.gibson@pw.com"),
        emp(2, "Garrett Willis", "garrett.willis@pw.com"),
        emp(3, "Mariam Othman", "mariam.othman@pw.com"),
        emp(4, "Alan Gibson", "alan.gibson@pw.com"),
    ];
    let candidates =
        |r: &MatchResult| -> Vec<i64> { r.candidates.iter().map(|c| c.employee_id.0).collect() };
    // Initial and surname either way round, given name and initial.
    for (login, id) in [("garrettw", 2), ("othmanm", 3), ("mothman7", 3)] {
        let r = one(&staff, login, "");
        assert_eq!(
            (r.status, r.employee_id),
            (MatchStatus::Ambiguous, None),
            "{r:?}"
        );
        assert_eq!(candidates(&r), [id], "{login}: {r:?}");
        assert!(r.explanation.contains("never a link"), "{}", r.explanation);
    }
    let r = one(&staff, "agibson5", "");
    assert_eq!(r.employee_id, None);
    assert_eq!(candidates(&r), [1, 4], "{r:?}");
    // A word that spells no employee's parts is still no one's.
    assert_eq!(one(&staff, "zwillis", "").status, MatchStatus::Unmatched);
}

/// A floor of 60 operators and 12 leads, each with a PodFactory user linked
/// by email, and two namesakes, an operator and a lead, whose users have
/// no email.
fn floor_with_namesakes() -> (Vec<EmployeeRecord>, Vec<PodFactoryUser>) {
    let mut staff = Vec::new();
    let mut users = Vec::new();
    for i in 0..72 {
        let (code, role) = if i < 60 {
            ("OP", "operator")
        } else {
            ("LEAD", "lead")
        };
        let mut e = emp(
            100 + i,
            &format!("Given{i} Family{i}"),
            &format!("p{i}@pw.com"),
        );
        e.role_code = code.into();
        e.department = "Printing".into();
        staff.push(e);
        users.push(PodFactoryUser {
            id: format!("u{i}"),
            name: Some(format!("Given{i} Family{i}")),
            email: Some(format!("p{i}@pw.com")),
            user_role: Some(role.into()),
        });
    }
    for (id, code) in [(1, "OP"), (2, "LEAD")] {
        let mut e = emp(id, "Maria Lopez", &format!("maria.lopez{id}@pw.com"));
        e.role_code = code.into();
        e.department = "Printing".into();
        staff.push(e);
    }
    (staff, users)
}

fn namesake_with_role(role: &str) -> MatchResult {
    namesake_named("Maria Lopez", role)
}

fn namesake_named(name: &str, role: &str) -> MatchResult {
    let (staff, mut users) = floor_with_namesakes();
    users.push(PodFactoryUser {
        id: "maria".into(),
        name: Some(name.into()),
        email: None,
        user_role: Some(role.into()),
    });
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    match_users(&view, &users, &[], &MatchSettings::default())
        .pop()
        .unwrap()
}

#[test]
fn a_role_the_linked_users_tie_to_one_role_code_breaks_a_namesake_tie() {
    let r = namesake_with_role("Lead");
    assert_eq!(linked(&r), Some((2, MatchedBy::Name)), "{r:?}");
    assert_eq!(
        r.confidence,
        calibration::TIE_BROKEN,
        "a tie broken by a role shows less than a name alone: {r:?}"
    );
    assert!(
        r.explanation
            .contains("told apart by the PodFactory role \"Lead\"")
            && r.explanation
                .contains("12 of 12 with role code \"LEAD\" in \"Printing\"")
            && r.explanation
                .contains("0 of 60 with role code \"OP\" in \"Printing\""),
        "{}",
        r.explanation
    );
    assert!(r
        .evidence_against
        .iter()
        .any(|t| t.contains("told apart by the PodFactory role alone")));
}

#[test]
fn a_role_the_counts_do_not_tie_to_one_namesake_leaves_the_tie() {
    // 60 operators and 12 leads: too few leads to say a lead is never an
    // `operator` in PodFactory.
    let r = namesake_with_role("operator");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(
        r.explanation.contains(
            "the PodFactory role \"operator\" does not single one out (of the 72 users linked on strong evidence, 60 of 60 with role code \"OP\""
        ),
        "on-call sees the counts that did not decide: {}",
        r.explanation
    );
    // A role no linked user has fits neither.
    let r = namesake_with_role("maintenance");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // Without linked users to learn from, "lead" is only a word.
    let (staff, _) = floor_with_namesakes();
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = PodFactoryUser {
        id: "maria".into(),
        name: Some("Maria Lopez".into()),
        email: None,
        user_role: Some("lead".into()),
    };
    let r = match_users(&view, &[user], &[], &MatchSettings::default()).remove(0);
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
}

#[test]
fn a_joined_hyphenated_name_and_text_read_in_the_wrong_encoding_still_match() {
    let staff = [
        emp(1, "Ji-young Kim", "jkim@pw.com"),
        emp(2, "Estela González", "egonzalez@pw.com"),
        emp(3, "Young Kim", "ykim@pw.com"),
    ];
    for name in ["Jiyoung Kim", "KIM JI-YOUNG", "kim jiyoung"] {
        let r = one(&staff, name, "");
        assert_eq!(r.employee_id, Some(EmployeeId(1)), "{name}: {r:?}");
    }
    let r = one(&staff, "Estela GonzÃ¡lez", "");
    assert_eq!(linked(&r), Some((2, MatchedBy::Name)), "{r:?}");
    // Joining the hyphen makes no one else's name: Young Kim is still himself.
    let r = one(&staff, "Young Kim", "");
    assert_eq!(linked(&r), Some((3, MatchedBy::Name)), "{r:?}");
}

#[test]
fn a_role_tells_apart_the_employees_a_partial_name_fits() {
    let r = namesake_named("Maria L.", "lead");
    assert_eq!(linked(&r), Some((2, MatchedBy::FuzzyName)), "{r:?}");
    assert_eq!(r.confidence, calibration::PARTIAL_NAME);
    assert!(
        r.explanation.contains("told apart by the PodFactory role"),
        "{}",
        r.explanation
    );
    assert_eq!(
        namesake_named("Maria L.", "operator").status,
        MatchStatus::Ambiguous
    );
    // A given name alone is never linked, whatever the role says.
    assert_eq!(
        namesake_named("Maria", "lead").status,
        MatchStatus::Ambiguous
    );
}

#[test]
fn a_second_login_from_a_personal_mailbox_with_the_employees_handle_is_linked() {
    let staff = [emp(1, "Veronica Suarez", "vsuarez@pw.com")];
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = |id: &str, email: &str| PodFactoryUser {
        id: id.into(),
        name: Some("Veronica Suarez".into()),
        email: Some(email.into()),
        user_role: None,
    };
    let rs = match_users(
        &view,
        &[
            user("a", "vsuarez@pw.com"),
            user("b", "VSuarez@hotmail.com"),
        ],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::Email)), "{rs:?}");
    assert_eq!(linked(&rs[1]), Some((1, MatchedBy::Name)), "{rs:?}");
    assert!(
        rs[1].explanation.contains("a second login"),
        "{}",
        rs[1].explanation
    );
    // Another handle is a namesake as likely as a second login: not linked.
    let rs = match_users(
        &view,
        &[
            user("a", "vsuarez@pw.com"),
            user("b", "veronica.s@hotmail.com"),
        ],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(rs[1].status, MatchStatus::Ambiguous, "{rs:?}");
}

#[test]
fn a_company_mailbox_that_is_no_ones_rules_out_the_namesakes_with_another() {
    let mut staff = [
        emp(1, "Priya Chaudhary", "priya.chaudhary@pw.com"),
        emp(2, "Priya Cruz", "priya.cruz@pw.com"),
    ];
    staff[1].previous_names = vec!["Priya Chaudhary".into()];
    let r = one(&staff, "Priya Chaudhary", "priya.chaudhary2@pw.com");
    assert_eq!(linked(&r), Some((2, MatchedBy::PreviousName)), "{r:?}");
    assert!(
        r.explanation
            .contains("is no namesake's: those within the margin have priya.chaudhary@pw.com"),
        "{}",
        r.explanation
    );
    // One typo from the namesake's own mailbox: it may be hers.
    let r = one(&staff, "Priya Chaudhary", "priya.chaudhry@pw.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // A personal mailbox rules no one out.
    let r = one(&staff, "Priya Chaudhary", "priya.chaudhary2@gmail.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
}

#[test]
fn a_name_only_a_mailbox_spells_is_a_candidate_never_a_link() {
    let staff = [
        emp(1, "Rachel Davis", "rachel.moore@pw.com"),
        emp(2, "Mary Moore", "mmoore@pw.com"),
        emp(3, "Ana Ruiz", "ana.ruiz@pw.com"),
    ];
    let r = one(&staff, "RACHEL MOORE", "");
    assert_eq!(r.employee_id, None, "{r:?}");
    assert_eq!(r.candidates.len(), 1, "{r:?}");
    assert_eq!(r.candidates[0].employee_id, EmployeeId(1));
    assert!(
        r.candidates[0].reason.contains("rachel.moore@pw.com"),
        "{r:?}"
    );
    assert!(r.explanation.contains("never a link"), "{}", r.explanation);
    // A mailbox that spells the employee's own name is no other name.
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let settings = MatchSettings::default();
    let engine = Engine::new(&view, &settings);
    assert!(engine
        .mailbox_spells(&normalize::name_forms("Ana Ruiz"))
        .is_empty());
    assert_eq!(
        engine.mailbox_spells(&normalize::name_forms("Moore, Rachel")),
        vec![0]
    );
}

#[test]
fn different_generational_suffixes_are_two_people() {
    let staff = [emp(3, "Robert Stone Sr", "robert.stone@pw.com")];
    for name in ["Robert Stone Jr", "Robert Stone II", "STONE, ROBERT JR."] {
        let r = one(&staff, name, "");
        assert_eq!(r.employee_id, None, "{name}: {r:?}");
    }
    // One side without the suffix may have dropped it.
    for name in ["Robert Stone", "Robert Stone Sr."] {
        let r = one(&staff, name, "");
        assert_eq!(linked(&r), Some((3, MatchedBy::Name)), "{name}: {r:?}");
    }
}

#[test]
fn a_company_mailbox_that_spells_the_users_own_name_is_no_slip() {
    let staff = [emp(5, "Mark Johnson", "mark.johnson@pw.com")];
    // Name and mailbox agree on Johnston: another person, not a typo.
    let r = one(&staff, "Mark Johnston", "mark.johnston@pw.com");
    assert_eq!(r.employee_id, None, "{r:?}");
    assert!(
        r.explanation.contains("is not the employee's"),
        "{}",
        r.explanation
    );
    // A slip in the mailbox alone is still a slip.
    let r = one(&staff, "Mark Johnson", "mark.johnsn@pw.com");
    assert_eq!(linked(&r), Some((5, MatchedBy::Name)), "{r:?}");
}

#[test]
fn what_on_call_reads_names_who_and_shares_the_chance() {
    let mut staff = [
        emp(1, "Maria Garcia", "maria.garcia@pw.com"),
        emp(2, "Mario Garcia", "mario.garcia@pw.com"),
        emp(3, "Ben Hart", "ben.hart@pw.com"),
        emp(4, "Anna Bell", "anna.bell@pw.com"),
    ];
    staff[2].is_active = false;
    // Two candidates below the threshold share its chance.
    let r = one(&staff, "Mari Garcia", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(r.confidence < 0.5, "{r:?}");
    assert!(
        r.explanation.contains("shared by the 2 candidates"),
        "{}",
        r.explanation
    );
    // A name link over another employee's email keeps that employee as
    // the runner-up, and an inactive employee is said to be one.
    let r = one(&staff, "Ben Hart", "anna.bell@pw.com");
    assert_eq!(linked(&r), Some((3, MatchedBy::Name)), "{r:?}");
    assert_eq!(r.runner_up.map(|c| c.employee_id), Some(EmployeeId(4)));
    assert!(
        r.explanation.contains("\"Ben Hart\" (inactive)"),
        "{}",
        r.explanation
    );
    // Two users claiming one employee as strongly: each names the other
    // and holds half the chance.
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = |id: &str| PodFactoryUser {
        id: id.into(),
        name: Some("Anna Bell".into()),
        email: None,
        user_role: None,
    };
    let rs = match_users(
        &view,
        &[user("a"), user("b")],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(rs[0].status, MatchStatus::Ambiguous);
    assert!(
        rs[0]
            .explanation
            .contains("claimed as strongly by PodFactory user \"b\""),
        "{}",
        rs[0].explanation
    );
    assert!(
        rs[1]
            .explanation
            .contains("claimed as strongly by PodFactory user \"a\""),
        "{}",
        rs[1].explanation
    );
    assert!(rs[0].confidence <= 0.5, "{:?}", rs[0]);
}

/// Cases from an independent review of this evidence.
#[test]
fn the_reviews_cases_link_no_one_wrongly() {
    // An employee's gmail.com makes a user's gmail.com no company mailbox.
    let staff = [
        emp(1, "John Smith", "jsmith1987@gmail.com"),
        emp(2, "John Smith", "john.smith@acme.com"),
    ];
    let r = one(&staff, "John Smith", "johnsmith@gmail.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // A namesake merely on another domain is not singled out by a
    // mailbox that is no one's.
    let staff = [
        emp(1, "John Smith", "john.smith@old.com"),
        emp(2, "John Smith", "john.smith@acme.com"),
    ];
    let r = one(&staff, "John Smith", "john.smith2@acme.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // `V` is a middle initial as often as a generation.
    let staff = [
        emp(3, "Robert Stone Jr", "rs.jr@acme.com"),
        emp(4, "Robert Stone", "rs@acme.com"),
    ];
    let r = one(&staff, "Robert V Stone", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // A no-break space after an accented capital is no mojibake.
    let staff = [emp(1, "René Dupont", "rdupont@acme.com")];
    let r = one(&staff, "RENÉ\u{A0}DUPONT", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
    // A margin of 0: the best alone is within it.
    let settings = MatchSettings {
        margin: 0.0,
        ..MatchSettings::default()
    };
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = PodFactoryUser {
        id: "u".into(),
        name: Some("Rene Dupon".into()),
        email: None,
        user_role: None,
    };
    let r = match_users(&view, &[user], &[], &settings).remove(0);
    assert!(r.confidence.is_finite(), "{r:?}");
}

#[test]
fn a_common_handle_on_several_personal_mailboxes_is_no_second_login() {
    let staff = [emp(1, "Juan Garcia", "jgarcia@acme.com")];
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = |id: &str, email: &str| PodFactoryUser {
        id: id.into(),
        name: Some("Juan Garcia".into()),
        email: Some(email.into()),
        user_role: None,
    };
    let rs = match_users(
        &view,
        &[
            user("a", "jgarcia@acme.com"),
            user("b", "jgarcia@gmail.com"),
            user("c", "JGarcia@yahoo.com"),
        ],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(linked(&rs[0]), Some((1, MatchedBy::Email)));
    assert_eq!(rs[1].status, MatchStatus::Ambiguous, "{rs:?}");
    assert_eq!(rs[2].status, MatchStatus::Ambiguous, "{rs:?}");
}

#[test]
fn mailbox_spelled_candidates_do_not_follow_input_order() {
    let a = emp(7, "Rachel Davis", "rachel.moore@pw.com");
    let b = emp(3, "Rachel Brown", "rachel.moore@old.pw.com");
    let first = one(&[a.clone(), b.clone()], "Rachel Moore", "");
    let second = one(&[b, a], "Rachel Moore", "");
    let ids = |r: &MatchResult| {
        r.candidates
            .iter()
            .map(|c| c.employee_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), vec![EmployeeId(3), EmployeeId(7)]);
    assert_eq!(ids(&first), ids(&second));
    assert_eq!(first.explanation, second.explanation);
}

/// Cases from a second operator's try.
#[test]
fn a_previous_name_that_is_the_current_one_is_no_change_of_name() {
    let mut staff = [
        emp(1, "Priya Chaudhary", "priya.chaudhary@pw.com"),
        emp(2, "Priya Chaudhary", "priya.c@gmail.com"),
    ];
    staff[1].previous_names = vec!["Priya Chaudhary".into()];
    let r = one(&staff, "Priya Chaudhary", "priya.chaudhary2@pw.com");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(r.confidence < 0.5, "{r:?}");
}

#[test]
fn partial_name_candidates_do_not_follow_input_order() {
    let a = emp(34, "Cody Gupta", "cg@pw.com");
    let b = emp(10, "Cody Garcia", "cga@pw.com");
    let first = one(&[a.clone(), b.clone()], "Cody G.", "");
    let second = one(&[b, a], "Cody G.", "");
    let ids = |r: &MatchResult| {
        r.candidates
            .iter()
            .map(|c| c.employee_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), vec![EmployeeId(10), EmployeeId(34)]);
    assert_eq!(ids(&first), ids(&second));
    assert_eq!(first.runner_up, second.runner_up);
}

#[test]
fn an_email_under_another_employees_exact_name_says_so() {
    let staff = [
        emp(1, "Tuan Nguyen", "tuan.nguyen@pw.com"),
        emp(4, "Linh Nguyen", "linh.nguyen@pw.com"),
    ];
    // The email decides (measured: more often right than the name), but
    // on-call reads the clash and has the namesake as runner-up.
    let r = one(&staff, "Linh Nguyen", "tuan.nguyen@pw.com");
    assert_eq!(linked(&r), Some((1, MatchedBy::Email)), "{r:?}");
    assert!(
        r.explanation.contains(
            "but the name is employee 4 \"Linh Nguyen\"'s exactly: a shared or handed-down login?"
        ),
        "{}",
        r.explanation
    );
    assert_eq!(r.runner_up.map(|c| c.employee_id), Some(EmployeeId(4)));
    // The owner's own name, shortened, is no clash.
    let r = one(&staff, "Tuan N.", "tuan.nguyen@pw.com");
    assert!(!r.explanation.contains("handed-down"), "{}", r.explanation);
}

#[test]
fn claims_as_strong_share_the_chance_among_themselves_only() {
    let staff = [emp(1, "John Doe", "john.doe@pw.com")];
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = |id: &str, email: Option<&str>| PodFactoryUser {
        id: id.into(),
        name: Some("John Doe".into()),
        email: email.map(Into::into),
        user_role: None,
    };
    // One email on two users links neither; a third claim by name alone is
    // weaker and no sharer of the email claims' chance.
    let rs = match_users(
        &view,
        &[
            user("a", Some("john.doe@pw.com")),
            user("b", Some("john.doe@pw.com")),
            user("c", None),
        ],
        &[],
        &MatchSettings::default(),
    );
    assert_eq!(rs[0].status, MatchStatus::Ambiguous, "{rs:?}");
    assert!(
        (rs[0].confidence - calibration::EMAIL / 2.0).abs() < 1e-9,
        "{:?}",
        rs[0]
    );
}

/// A one-word name that is one employee's whole name (a mononym) links to
/// them, unless it is also part of another's name: `Suresh` may be Suresh
/// Kumar writing his given name alone (it linked the mononym at 0.985 and
/// named no runner-up).
#[test]
fn a_mononym_links_unless_the_word_is_part_of_anothers_name() {
    let alone = [
        emp(3, "Suresh", "suresh@pw.com"),
        emp(5, "Mary Jones", "mary.jones@pw.com"),
    ];
    let r = one(&alone, "Suresh", "");
    assert_eq!(linked(&r), Some((3, MatchedBy::FuzzyName)), "{r:?}");
    assert!(
        r.explanation.contains("the same one-word name"),
        "{}",
        r.explanation
    );

    let shared = [
        emp(3, "Suresh", "suresh@pw.com"),
        emp(4, "Suresh Kumar", "suresh.kumar@pw.com"),
    ];
    let r = one(&shared, "SURESH", "");
    assert_eq!(
        (r.status, r.employee_id),
        (MatchStatus::Ambiguous, None),
        "{r:?}"
    );
    assert_eq!(r.confidence, 0.0, "{r:?}");
    let candidates: Vec<(i64, &str)> = r
        .candidates
        .iter()
        .map(|c| (c.employee_id.0, c.reason.as_str()))
        .collect();
    assert_eq!(candidates, [(3, "the whole name"), (4, "part of the name")]);
    assert!(
        r.explanation.contains(
            "is the whole name of employee 3 \"Suresh\", and part of the name of 1 other employee"
        ),
        "{}",
        r.explanation
    );
    // A full name is no part of a name.
    let r = one(&shared, "Suresh Kumar", "");
    assert_eq!(linked(&r), Some((4, MatchedBy::Name)), "{r:?}");
}

/// An initial and a surname, the employee's middle name left out, is a
/// candidate to review, never "no employee's name is close" (found by the
/// operator try: `J. Smith` for John Paul Smith listed no one).
#[test]
fn an_initial_and_surname_is_a_candidate_past_a_middle_name() {
    let staff = [
        emp(1, "John Paul Smith", "jps@pw.com"),
        emp(2, "Ana Lopez", "al@pw.com"),
    ];
    for typed in ["J. Smith", "J Smith", "Smith, J."] {
        let r = one(&staff, typed, "");
        assert_eq!(
            (r.status, r.employee_id),
            (MatchStatus::Ambiguous, None),
            "{typed}: {r:?}"
        );
        let ids: Vec<i64> = r.candidates.iter().map(|c| c.employee_id.0).collect();
        assert_eq!(ids, [1], "{typed}: {r:?}");
    }
}

/// Why a role did not break a tie, said so on-call can read it: no empty
/// role codes quoted, and no counts where nothing was learned (the operator
/// try read "0 of 0 with role code \"\" in \"Shipping\"").
#[test]
fn a_role_that_breaks_no_tie_says_why_in_plain_words() {
    let mut staff = [
        emp(1, "John Smith", "john.smith@pw.com"),
        emp(2, "John Smith", "john.smith2@pw.com"),
    ];
    staff[0].department = "Shipping".into();
    staff[1].department = "Packing".into();
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let user = PodFactoryUser {
        id: "u".into(),
        name: Some("John Smith".into()),
        email: None,
        user_role: Some("operator".into()),
    };
    let r = match_users(&view, &[user], &[], &MatchSettings::default()).remove(0);
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(
        r.explanation.contains(
            "the PodFactory role \"operator\" does not single one out (no user is linked on strong evidence yet to show what it means here)"
        ),
        "{}",
        r.explanation
    );
    assert!(
        !r.explanation.contains("role code \"\""),
        "{}",
        r.explanation
    );
}

#[test]
fn a_surname_the_user_wrote_tells_namesakes_apart() {
    let staff = [
        emp(1, "Luis Cruz Martínez", "lcm@pw.com"),
        emp(2, "Luis Cruz", "luis.cruz@pw.com"),
        emp(3, "Joan Anna Kowalski", "jak@pw.com"),
        emp(4, "Joan Kowalski", "joan.kowalski@pw.com"),
    ];
    // Only employee 1 has the second surname written: the other would
    // need it added by mistake. Less sure than a name with no namesake.
    let r = one(&staff, "Luis Cruz Martinez", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
    assert_eq!(r.confidence, calibration::TIE_BROKEN);
    assert!(
        r.explanation
            .contains("1 namesake within the margin lacks a surname the user wrote"),
        "{}",
        r.explanation
    );
    // The other way round a surname may have been dropped: a tie.
    let r = one(&staff, "Luis Cruz", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    // A middle name is no surname: HR often lacks one a person writes.
    let r = one(&staff, "Joan Anna Kowalski", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
}

#[test]
fn a_letter_added_to_a_given_name_is_a_slip() {
    let staff = [
        emp(1, "Robert Cook", "robert.cook@pw.com"),
        emp(2, "Maria Garcia", "maria.garcia@pw.com"),
        emp(3, "Mario Garcia", "mario.garcia@pw.com"),
    ];
    let r = one(&staff, "Roberth Cook", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:?}");
    // Any other letter may make another name: Julian is not Julia.
    let others = [
        emp(1, "Julia Stone", "julia.stone@pw.com"),
        emp(2, "Eva Marsh", "eva.marsh@pw.com"),
    ];
    for name in ["Julian Stone", "Evan Marsh"] {
        let r = one(&others, name, "");
        assert_eq!(r.employee_id, None, "{r:?}");
    }
    assert!(
        r.explanation.contains("given name one typo"),
        "{}",
        r.explanation
    );
    // A letter less may be a short form: below the threshold.
    let r = one(&staff, "Mari Garcia", "");
    assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    assert!(r.explanation.contains("shortened"), "{}", r.explanation);
}

#[test]
fn family_name_first_with_the_middles_between() {
    let staff = [
        emp(1, "Quang Huu Tran", "quang.tran@pw.com"),
        emp(2, "Rosa Morales", "rosa.morales@pw.com"),
    ];
    let r = one(&staff, "TRAN HUU QUANG", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:?}");
    assert!(r.explanation.contains("order swapped"), "{}", r.explanation);
    // Two surnames first are another order: Rosa Morales Romero, who is
    // no employee here, not Rosa Morales with a middle name.
    let r = one(&staff, "Morales Romero Rosa", "");
    assert_eq!(r.employee_id, None, "{r:?}");
    // Nor with particles: Maria Elena Dela Cruz, not Elena Dela Cruz.
    let staff = [
        emp(1, "Elena Dela Cruz", "elena.delacruz@pw.com"),
        emp(2, "Maria Elena Dela Cruz", "maria.delacruz@pw.com"),
    ];
    let r = one(&staff, "Dela Cruz Maria Elena", "");
    assert_ne!(r.employee_id, Some(EmployeeId(1)), "{r:?}");
}

#[test]
fn an_initial_and_a_surname_one_employee_alone_has_is_part_of_a_name() {
    let staff = [
        emp(1, "Dorota Kowalczyk", "dk@pw.com"),
        emp(2, "John Smith", "js@pw.com"),
        emp(3, "John Paul Smith", "jps@pw.com"),
        emp(4, "Ingrid Campbell", "ic@pw.com"),
        emp(5, "Ian Campbell", "ian.c@pw.com"),
    ];
    let r = one(&staff, "D. Kowalczyk", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::FuzzyName)), "{r:?}");
    assert_eq!(r.confidence, calibration::PARTIAL_NAME);
    assert!(
        r.explanation
            .contains("the only employee with that initial and surname"),
        "{}",
        r.explanation
    );
    // Another employee whose name it nearly fits, or a second with that
    // initial: not linked.
    for name in ["J. Smith", "I. Campbell"] {
        let r = one(&staff, name, "");
        assert_eq!(r.status, MatchStatus::Ambiguous, "{r:?}");
    }
    // Nor one a middle name away from it alone, nor HR's initial, nor
    // beside one with a second surname.
    let alone = [
        emp(1, "John Paul Smith", "jps@pw.com"),
        emp(2, "D. Nowak", "dn@pw.com"),
        emp(3, "Luis Cruz", "lc@pw.com"),
        emp(4, "Luis Cruz Martínez", "lcm@pw.com"),
    ];
    for name in ["J. Smith", "Dariusz Nowak", "L. Cruz"] {
        let r = one(&alone, name, "");
        assert_eq!(r.employee_id, None, "{r:?}");
    }
    // Only as far as the threshold allows.
    let strict = MatchSettings {
        accept_threshold: 0.97,
        ..MatchSettings::default()
    };
    let view: Vec<_> = staff.iter().map(EmployeeRecord::as_match).collect();
    let users = [PodFactoryUser {
        id: "u".into(),
        name: Some("D. Kowalczyk".into()),
        email: None,
        user_role: None,
    }];
    let rs = match_users(&view, &users, &[], &strict);
    assert_eq!(rs[0].status, MatchStatus::Ambiguous, "{:?}", rs[0]);
}

#[test]
fn a_one_word_name_that_is_another_employees_given_name_doubts_the_email() {
    let staff = [
        emp(1, "Ruby Jackson", "ruby.jackson@pw.com"),
        emp(2, "Juana Sánchez", "juana.sanchez@pw.com"),
        emp(3, "Kyle Ray", "kray@pw.com"),
    ];
    let r = one(&staff, "Juana", "ruby.jackson@pw.com");
    assert_eq!(r.employee_id, None, "{r:?}");
    assert!(
        r.candidates.iter().any(|c| c.employee_id == EmployeeId(1)),
        "{r:?}"
    );
    // A login shares no part with its owner's name, and is no doubt.
    let r = one(&staff, "kray", "kray@pw.com");
    assert_eq!(linked(&r), Some((3, MatchedBy::Email)), "{r:?}");
    let r = one(&staff, "Ruby", "ruby.jackson@pw.com");
    assert_eq!(linked(&r), Some((1, MatchedBy::Email)), "{r:?}");
}

#[test]
fn the_name_hr_says_a_person_goes_by_is_their_name() {
    let staff = [
        emp(1, "Phong \"Kevin\" Huynh", "phong.huynh@pw.com"),
        emp(2, "Li (Kelly) Zhang", "li.zhang@pw.com"),
        emp(3, "Li Zhang", "li.zhang2@pw.com"),
    ];
    let r = one(&staff, "Kevin Huynh", "");
    assert_eq!(linked(&r), Some((1, MatchedBy::Name)), "{r:?}");
    assert_eq!(
        one(&staff, "Phong Huynh", "").employee_id,
        Some(EmployeeId(1))
    );
    // Another Li Zhang may go by Kelly too; HR wrote it for one of them.
    let r = one(&staff, "Kelly Zhang", "");
    assert_eq!(r.employee_id, None, "{r:?}");
    // Written either way round.
    let staff = [
        emp(1, "Li (Kelly) Zhang", "li.zhang@pw.com"),
        emp(2, "ZHANG, LI", "li.zhang2@pw.com"),
        emp(3, "Robert Smith (Bob)", "robert.smith@pw.com"),
    ];
    let r = one(&staff, "Kelly Zhang", "");
    assert_eq!(r.employee_id, None, "{r:?}");
    // A name after the whole name says nothing of the order: Bob is no
    // given name with a slip in the surname.
    let r = one(&staff, "Bob Roberts", "");
    assert_eq!(r.employee_id, None, "{r:?}");
}
