//! The offline matcher (`rosterd match`) through `run_match`: readers in,
//! CSV or JSON lines out; a file that cannot be read is an error, a bad row
//! is skipped, each naming file, line and column.

use rosterd::match_csv::OutputFormat;
use rosterd::match_csv::{read_employees, read_podfactory, run_match};
use rosterd::matching::MatchSettings;

const EMPLOYEES: &str = "\u{feff}id,name,email,department,is_active,role,workspace,previous_names
1,John Doe,john.doe@pw.com,Shipping,true,SHIPPER,TX,
2,Jane Green,jane.green@pw.com,Quality,false,QC,MS,Jane Brown; Jane B. Brown
3,Maria Lopez,maria.lopez@pw.com,Heat Press,1,HEAT_PRESS,TX,
4,Maria Lopez,maria.lopez2@pw.com,Picking,yes,PICKER,TX,
";

const PODFACTORY: &str = "id,name,email,user_role
pf-1,\"Doe, John\",john.doe.shp@pw.com,Shipping
pf-2,Jane Brown,,QC
pf-3,Maria Lopez,,
pf-4,Nobody Known,nobody@gmail.com,Picker
";

fn run(e: &str, p: &str, output: OutputFormat) -> anyhow::Result<String> {
    let mut out = Vec::new();
    run_match(
        e.as_bytes(),
        "E.csv",
        p.as_bytes(),
        "P.csv",
        &MatchSettings::default(),
        output,
        &mut out,
    )?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn csv_output_one_row_per_user() {
    let out = run(EMPLOYEES, PODFACTORY, OutputFormat::Csv).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "podfactory_id,employee_id,status,matched_by,confidence",
            "pf-1,1,matched,email_suffix,0.9990",
            "pf-2,2,matched,previous_name,0.9990",
            // Two namesakes: an even chance for the best one.
            "pf-3,,ambiguous,,0.4995",
            "pf-4,,unmatched,,0.0000",
        ]
    );
}

/// The CSV is opened in spreadsheets: a PodFactory id that one would run as
/// a formula is written inert (a leading `'`); JSON keeps the id as it is.
#[test]
fn ids_a_spreadsheet_would_run_are_written_inert() {
    let p = "id,name,email,user_role
\"=HYPERLINK(\"\"http://x\"\")\",John Doe,,
+1+1,Jane Green,,
@SUM(A1),Nobody Known,,
-2+3,Nobody Else,,
-5,Maria Lopez,,
--1,Nobody Third,,
-inf,Nobody Fourth,,
-2.5,Nobody Fifth,,
";
    let out = run(EMPLOYEES, p, OutputFormat::Csv).unwrap();
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.rsplitn(5, ',').last().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "\"'=HYPERLINK(\"\"http://x\"\")\"",
            "'+1+1",
            "'@SUM(A1)",
            "'-2+3",
            "-5",
            "'--1",
            "'-inf",
            "-2.5"
        ]
    );
    let json = run(EMPLOYEES, p, OutputFormat::Json).unwrap();
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["podfactory_id"], "=HYPERLINK(\"http://x\")");
}

#[test]
fn json_lines_carry_candidates() {
    let out = run(EMPLOYEES, PODFACTORY, OutputFormat::Json).unwrap();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        for key in [
            "podfactory_id",
            "employee_id",
            "status",
            "matched_by",
            "confidence",
            "candidates",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    assert_eq!(rows[0]["employee_id"], 1);
    assert_eq!(rows[0]["matched_by"], "email_suffix");
    assert_eq!(rows[2]["status"], "ambiguous");
    assert_eq!(rows[2]["employee_id"], serde_json::Value::Null);
    assert_eq!(rows[2]["candidates"].as_array().unwrap().len(), 2);
}

/// Explain: every record, link or not, says what spoke for and against it
/// and names the runner-up when there is one.
#[test]
fn json_lines_explain_every_result() {
    let out = run(EMPLOYEES, PODFACTORY, OutputFormat::Json).unwrap();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &rows {
        assert!(r["evidence"]["for"].is_array(), "{r}");
        assert!(r["evidence"]["against"].is_array(), "{r}");
        assert!(r.get("runner_up").is_some(), "{r}");
    }
    let texts = |r: &serde_json::Value, side: &str| -> String {
        r["evidence"][side]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    // A link: the email, and the name that agrees with it.
    assert!(
        texts(&rows[0], "for").contains("john.doe@pw.com"),
        "{}",
        rows[0]
    );
    assert!(texts(&rows[0], "for").contains("name fits"), "{}", rows[0]);
    // Namesakes: the best candidate's name for, the tie against, the other
    // namesake as the runner-up.
    assert!(texts(&rows[2], "for").contains("name fits"), "{}", rows[2]);
    assert!(
        texts(&rows[2], "against").contains("within the margin"),
        "{}",
        rows[2]
    );
    assert_eq!(rows[2]["runner_up"]["employee_id"], 4);
    // Nobody: nothing for, why against, no runner-up.
    assert_eq!(texts(&rows[3], "for"), "");
    assert!(
        texts(&rows[3], "against").contains("no employee's name"),
        "{}",
        rows[3]
    );
    assert_eq!(rows[3]["runner_up"], serde_json::Value::Null);
}

#[test]
fn extra_columns_and_previous_names_are_read() {
    let e = read_employees(EMPLOYEES.as_bytes(), "E.csv").unwrap();
    assert!(e.skipped.is_empty());
    let e = e.rows;
    assert_eq!(e[1].previous_names, ["Jane Brown", "Jane B. Brown"]);
    assert!(!e[1].is_active && e[2].is_active && e[3].is_active);
    assert_eq!(e[0].role_code, "SHIPPER");
    let p = read_podfactory(PODFACTORY.as_bytes(), "P.csv")
        .unwrap()
        .rows;
    assert_eq!(p[1].email, None);
    assert_eq!(p[2].user_role, None);
}

fn err_e(text: &[u8]) -> String {
    read_employees(text, "E.csv").unwrap_err().to_string()
}
fn err_p(text: &[u8]) -> String {
    read_podfactory(text, "P.csv").unwrap_err().to_string()
}

#[test]
fn header_errors_name_file_line_and_column() {
    let e = err_e(b"id,name,mail,department,is_active\n1,a,b@c.de,x,true\n");
    assert!(e.starts_with("E.csv: line 1: missing column email"), "{e}");
    // The PodFactory file given as employees.
    let e = err_e(PODFACTORY.as_bytes());
    assert!(
        e.contains("E.csv: line 1") && e.contains("department, is_active"),
        "{e}"
    );
    let e = err_p(b"");
    assert!(e.starts_with("P.csv: line 1: empty file"), "{e}");
    let e = err_p(b"id,name,email,user_role,name\n");
    assert!(
        e.starts_with("P.csv: line 1, column 5 (name): column \"name\" repeats column 2"),
        "{e}"
    );
}

/// Each bad row alone: skipped with why, and the good rows around it kept.
#[test]
fn a_bad_row_is_skipped_naming_file_line_and_column() {
    let head = "id,name,email,department,is_active\n1,John Doe,john@pw.com,X,true\n";
    let tail = "3,Ann Lee,ann@pw.com,X,false\n";
    let cases = [
        (
            "x1,Jane,jane@pw.com,X,true\n",
            "E.csv: line 3, column 1 (id): \"x1\" is not an integer id",
        ),
        (
            "2,,jane@pw.com,X,true\n",
            "E.csv: line 3, column 2 (name): empty name",
        ),
        (
            "2,Jane,jane,X,true\n",
            "E.csv: line 3, column 3 (email): invalid email",
        ),
        (
            "2,Jane,jane@pw.com,X,maybe\n",
            "E.csv: line 3, column 5 (is_active): \"maybe\" is not true/false",
        ),
        (
            "1,Jane,jane@pw.com,X,true\n",
            "E.csv: line 3, column 1 (id): duplicate id 1 (first on line 2)",
        ),
        (
            "2,Jane,jane@pw.com,X\n",
            "E.csv: line 3: 4 fields, but the header has 5",
        ),
        (
            "2,Jane,jane@pw.com,X,true,extra\n",
            "E.csv: line 3: 6 fields, but the header has 5",
        ),
    ];
    for (row, want) in cases {
        let read = read_employees(format!("{head}{row}{tail}").as_bytes(), "E.csv").unwrap();
        let names: Vec<&str> = read.rows.iter().map(|e| e.full_name.as_str()).collect();
        assert_eq!(names, ["John Doe", "Ann Lee"], "{row}");
        assert_eq!(read.skipped.len(), 1, "{row}");
        let e = read.skipped[0].to_string();
        assert!(e.starts_with(want), "{e}\nwanted: {want}");
    }
    let read = read_podfactory(
        &b"id,name,email,user_role\npf-1,a,,\n,b,,\npf-1,c,,\npf-2,d,,\n"[..],
        "P.csv",
    )
    .unwrap();
    let ids: Vec<&str> = read.rows.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        ["pf-1", "pf-2"],
        "the first row of a duplicated id is kept"
    );
    let skipped: Vec<String> = read.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        [
            "P.csv: line 3, column 1 (id): empty id",
            "P.csv: line 4, column 1 (id): duplicate id \"pf-1\" (first on line 2)",
        ]
    );
}

#[test]
fn invalid_utf8_skips_the_row_naming_its_column() {
    let mut bytes = b"id,name,email,user_role\npf-1,Jos".to_vec();
    bytes.push(0xe9); // Latin-1 é
    bytes.extend_from_slice(b" Nunez,,\npf-2,Ana Ruiz,,\n");
    let read = read_podfactory(&bytes[..], "P.csv").unwrap();
    assert_eq!(read.rows.len(), 1);
    assert_eq!(read.rows[0].id, "pf-2");
    let e = read.skipped[0].to_string();
    assert!(
        e.starts_with("P.csv: line 2, column 2 (name): not valid UTF-8"),
        "{e}"
    );
    // In the header, the file cannot be read at all.
    let e = err_e(b"id,na\xffme,email,department,is_active\n");
    assert!(e.starts_with("E.csv: line 1, column 2"), "{e}");
}

/// The export that aborted the whole match on line 3777: the row is
/// reported (and, in JSON, a record of its own), every other user matched.
#[test]
fn run_match_skips_bad_rows_and_says_so() {
    let mut employees = EMPLOYEES.to_string();
    employees.push_str("5,,empty.name@pw.com,Picking,true,PICKER,TX,\n");
    let mut out = Vec::new();
    let summary = run_match(
        employees.as_bytes(),
        "E.csv",
        PODFACTORY.as_bytes(),
        "P.csv",
        &MatchSettings::default(),
        OutputFormat::Json,
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.skipped_rows.len(), 1);
    assert_eq!(
        summary.skipped_rows[0].to_string(),
        "E.csv: line 6, column 2 (name): empty name"
    );
    assert!(
        summary.to_string().ends_with("; 1 row skipped"),
        "{summary}"
    );
    assert_eq!(summary.matched, 2, "{summary}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        serde_json::json!({"skipped_row": {"file": "E.csv", "line": 6, "column": 2,
            "column_name": "name", "problem": "empty name"}})
    );
    assert_eq!(lines.len(), 5, "the skipped row, then one line per user");
}

#[test]
fn run_match_reports_the_first_bad_file() {
    let e = run("id,name\n", PODFACTORY, OutputFormat::Csv)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("E.csv: line 1: missing columns"), "{e}");
}

#[test]
fn a_written_corpus_reads_back_and_matches() {
    let dir = tempfile::tempdir().unwrap();
    rosterd_lab::write_corpus(dir.path(), 300, 5).unwrap();
    let open = |n: &str| std::fs::File::open(dir.path().join(n)).unwrap();
    let mut out = Vec::new();
    let summary = run_match(
        open("E.csv"),
        "E.csv",
        open("P.csv"),
        "P.csv",
        &MatchSettings::default(),
        OutputFormat::Csv,
        &mut out,
    )
    .unwrap();
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let rows = String::from_utf8(out).unwrap();
    assert_eq!(rows.lines().count(), truth.lines().count());
    assert!(summary.matched > 200, "{summary}");
}

/// The demo writes the sample workforce's PodFactory users with
/// `podfactory_csv`; the CSV source must read back those users (trimmed).
#[test]
fn the_sample_podfactory_export_reads_back_as_written() {
    let sample = rosterd_lab::workforce::sample(400, 11);
    let csv = rosterd_lab::workforce::podfactory_csv(&sample.podfactory);
    let read = read_podfactory(csv.as_bytes(), "podfactory.csv").unwrap();
    let blank = |s: &Option<String>| {
        s.as_deref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    assert!(read.skipped.is_empty());
    let read = read.rows;
    assert_eq!(read.len(), sample.podfactory.len());
    for (got, want) in read.iter().zip(&sample.podfactory) {
        assert_eq!(got.id, want.id);
        assert_eq!(blank(&got.name), blank(&want.name));
        assert_eq!(blank(&got.email), blank(&want.email));
        assert_eq!(blank(&got.user_role), blank(&want.user_role));
    }
    assert!(
        sample.employees.into_iter().all(|e| e.validate().is_ok()),
        "every sample employee is a valid row"
    );
}

/// A stray quote that is never closed costs its own row, not every row
/// after it (the CSV reader would take them all in as one field).
#[test]
fn a_quote_never_closed_costs_one_row() {
    // The row left the wrong width.
    let text = "id,name,email,user_role\npf-1,\"Ann Lee,,\npf-2,Bo Chen,,\npf-3,Cy Wu,,\n";
    let read = read_podfactory(text.as_bytes(), "P.csv").unwrap();
    let ids: Vec<&str> = read.rows.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["pf-2", "pf-3"]);
    let skipped: Vec<String> = read.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        skipped,
        ["P.csv: line 2: a quote opened on this line is never closed (it took in the next 2 lines); \
          this row is skipped and reading goes on with the next line"]
    );
    // In the last column, the row is the right width: it ran to the end.
    let text = "id,name,email,user_role\npf-1,Ann Lee,,\"Picker\npf-2,Bo Chen,,\npf-3,Cy Wu,,\n";
    let read = read_podfactory(text.as_bytes(), "P.csv").unwrap();
    let ids: Vec<&str> = read.rows.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["pf-2", "pf-3"]);
    assert_eq!(read.skipped.len(), 1);
    // A quoted line break inside a row that closes is a field like any other.
    let text = "id,name,email,user_role\npf-1,\"Ann\nLee\",,\npf-2,Bo Chen,,\n";
    let read = read_podfactory(text.as_bytes(), "P.csv").unwrap();
    assert_eq!(read.rows.len(), 2, "{:?}", read.skipped);
    assert_eq!(read.rows[0].name.as_deref(), Some("Ann\nLee"));
}

/// A file saved on Windows (CRLF line endings) is read and reported as the
/// same file with LF: each skipped row named on its own line, once, and
/// every good row kept (the lines were one too low, and a stray quote was
/// reported twice, once on a good row that was matched all the same).
#[test]
fn windows_line_endings_name_the_same_lines() {
    let lines = [
        "id,name,email,user_role",
        "7,Zoe Park,,",
        ",No Id,,",
        "9,Joe Park,,",
        "9,Dup,,",
        "8,\"Unclosed,,",
        "10,Ana Lopez,,",
        "11,Bo Chen,,",
    ];
    for eol in ["\n", "\r\n"] {
        let text = lines.join(eol) + eol;
        let read = read_podfactory(text.as_bytes(), "P.csv").unwrap();
        let ids: Vec<&str> = read.rows.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["7", "9", "10", "11"], "{eol:?}");
        let skipped: Vec<String> = read.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "P.csv: line 3, column 1 (id): empty id",
                "P.csv: line 5, column 1 (id): duplicate id \"9\" (first on line 4)",
                "P.csv: line 6: a quote opened on this line is never closed (it took in the next 2 lines); \
                 this row is skipped and reading goes on with the next line",
            ],
            "{eol:?}"
        );
    }
    // The employees file likewise.
    let text = "id,name,email,department,is_active\r\n1,John Doe,john@pw.com,X,true\r\n2,,jane@pw.com,X,true\r\n";
    let read = read_employees(text.as_bytes(), "E.csv").unwrap();
    assert_eq!(read.rows.len(), 1);
    assert_eq!(
        read.skipped[0].to_string(),
        "E.csv: line 3, column 2 (name): empty name"
    );
}

/// A failed HR export (a header and nothing else, or no usable row) would
/// leave every user "unmatched" and pass for a result: it is an error.
#[test]
fn an_employees_file_without_employees_is_an_error() {
    let header = "id,name,email,department,is_active\n";
    let err = run(header, PODFACTORY, OutputFormat::Csv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "E.csv: no employees to match against (it has only a header)"
    );
    let bad = format!("{header}x,John Doe,john.doe@pw.com,Shipping,true\n");
    let err = run(&bad, PODFACTORY, OutputFormat::Csv).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("E.csv: no employees to match against (all 1 of its rows were skipped, the first: E.csv: line 2, column 1 (id)"),
        "{err}"
    );
}
