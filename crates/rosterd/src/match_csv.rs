//! The offline matcher, `rosterd match --employees E.csv --podfactory P.csv
//! [--output csv|json]`: ops try the matcher on exports before turning
//! rosterd on.
//!
//! A file is refused only when it cannot be read as a whole (it cannot be
//! opened, it is empty, its header is wrong or incomplete). A bad row (the
//! wrong number of fields, bytes that are not UTF-8, an id that is not a
//! number, an empty name, an invalid employee email, a duplicated id) is
//! skipped and reported naming the file, the line and, when one is to
//! blame, the column: real exports carry a few such rows, and one of them
//! must not cost the rest their matches. Nothing is skipped silently.

use crate::matching::{
    match_users, EmployeeRecord, MatchResult, MatchSettings, MatchStatus, PodFactoryUser,
};
use crate::model::{Email, EmployeeId};
use anyhow::Context;
use rustc_hash::FxHashMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct MatchArgs {
    /// Employees CSV: id,name,email,department,is_active (then optional
    /// role, workspace, previous_names `;`-separated).
    #[arg(long)]
    pub employees: PathBuf,
    /// PodFactory users CSV: id,name,email,user_role.
    #[arg(long)]
    pub podfactory: PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    pub output: OutputFormat,
    /// Lowest probability of being right a name link needs (default 0.95).
    // Negative numbers parse, so that the range check can name them.
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Lead over the runner-up a name link needs (default 0.05).
    #[arg(long, allow_negative_numbers = true)]
    pub margin: Option<f64>,
    /// Station suffixes removed from emails, comma-separated (default shp,ship,pack,pick,hp).
    #[arg(long, value_delimiter = ',')]
    pub station_suffixes: Option<Vec<String>>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// podfactory_id,employee_id,status,matched_by,confidence
    Csv,
    /// One JSON object per line: the CSV's keys plus candidates, explanation,
    /// the evidence for and against, and the runner-up.
    Json,
}

impl MatchArgs {
    pub fn settings(&self) -> anyhow::Result<MatchSettings> {
        let mut s = MatchSettings::default();
        if let Some(t) = self.threshold {
            anyhow::ensure!(
                (0.0..=1.0).contains(&t),
                "--threshold must be within 0..=1, got {t}"
            );
            s.accept_threshold = t;
        }
        if let Some(m) = self.margin {
            anyhow::ensure!(
                (0.0..=1.0).contains(&m),
                "--margin must be within 0..=1, got {m}"
            );
            s.margin = m;
        }
        if let Some(suffixes) = &self.station_suffixes {
            s.station_suffixes = suffixes
                .iter()
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
        }
        Ok(s)
    }
}

/// `rosterd match`: results to stdout; each skipped row, then a one-line
/// summary, to stderr.
pub fn run_cli(args: MatchArgs) -> anyhow::Result<Summary> {
    let settings = args.settings()?;
    let open = |p: &PathBuf| {
        std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))
    };
    let (e, p) = (open(&args.employees)?, open(&args.podfactory)?);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = run_match(
        std::io::BufReader::new(e),
        &args.employees.display().to_string(),
        std::io::BufReader::new(p),
        &args.podfactory.display().to_string(),
        &settings,
        args.output,
        &mut out,
    )?;
    out.flush()?;
    for row in &summary.skipped_rows {
        eprintln!("skipped {row}");
    }
    eprintln!("{summary}");
    Ok(summary)
}

/// Counts of one offline match, and the rows it skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub matched: usize,
    pub ambiguous: usize,
    pub unmatched: usize,
    pub employees_without_user: usize,
    /// Rows of either file that could not be used, in file order.
    pub skipped_rows: Vec<CsvError>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} matched, {} ambiguous, {} unmatched; {} active employees without a PodFactory user",
            self.matched, self.ambiguous, self.unmatched, self.employees_without_user
        )?;
        match self.skipped_rows.len() {
            0 => Ok(()),
            1 => write!(f, "; 1 row skipped"),
            n => write!(f, "; {n} rows skipped"),
        }
    }
}

/// The offline matcher over readers and a writer (`run_cli` without files).
/// With JSON output, each skipped row is a record of its own
/// (`{"skipped_row": {...}}`) before the results.
pub fn run_match(
    employees: impl Read,
    employees_file: &str,
    podfactory: impl Read,
    podfactory_file: &str,
    settings: &MatchSettings,
    output: OutputFormat,
    mut out: impl Write,
) -> anyhow::Result<Summary> {
    let employees = read_employees(employees, employees_file)?;
    // Every user unmatched against nobody would pass for a result; an
    // export with no employees is a failed one.
    if employees.rows.is_empty() {
        let skipped = match employees.skipped.len() {
            0 => "it has only a header".to_string(),
            n => format!(
                "all {n} of its rows were skipped, the first: {}",
                employees.skipped[0]
            ),
        };
        anyhow::bail!("{employees_file}: no employees to match against ({skipped})");
    }
    let users = read_podfactory(podfactory, podfactory_file)?;
    let skipped_rows: Vec<CsvError> = employees.skipped.into_iter().chain(users.skipped).collect();
    if output == OutputFormat::Json {
        for row in &skipped_rows {
            writeln!(out, "{}", serde_json::json!({ "skipped_row": row }))?;
        }
    }
    let view: Vec<_> = employees
        .rows
        .iter()
        .map(EmployeeRecord::as_match)
        .collect();
    let results = match_users(&view, &users.rows, &[], settings);
    write_results(&results, output, out)?;
    let count = |s| results.iter().filter(|r| r.status == s).count();
    Ok(Summary {
        matched: count(MatchStatus::Matched),
        ambiguous: count(MatchStatus::Ambiguous),
        unmatched: count(MatchStatus::Unmatched),
        employees_without_user: crate::matching::employees_without_user(&view, &results).len(),
        skipped_rows,
    })
}

pub fn write_results(
    results: &[MatchResult],
    output: OutputFormat,
    mut out: impl Write,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Csv => {
            let mut w = ::csv::Writer::from_writer(out);
            w.write_record([
                "podfactory_id",
                "employee_id",
                "status",
                "matched_by",
                "confidence",
            ])?;
            for r in results {
                w.write_record([
                    &*inert_in_a_spreadsheet(&r.podfactory_id),
                    &r.employee_id.map(|e| e.to_string()).unwrap_or_default(),
                    r.status.as_str(),
                    r.matched_by.map_or("", |b| b.as_str()),
                    &format!("{:.4}", r.confidence),
                ])?;
            }
            w.flush()?;
        }
        OutputFormat::Json => {
            let round = |x: f64| (x * 10000.0).round() / 10000.0;
            let candidate = |c: &crate::matching::Candidate| serde_json::json!({"employee_id": c.employee_id, "score": round(c.score), "reason": c.reason});
            for r in results {
                let candidates: Vec<_> = r.candidates.iter().map(candidate).collect();
                let line = serde_json::json!({
                    "podfactory_id": r.podfactory_id,
                    "employee_id": r.employee_id,
                    "status": r.status,
                    "matched_by": r.matched_by,
                    "confidence": round(r.confidence),
                    "candidates": candidates,
                    "explanation": r.explanation,
                    "evidence": {"for": r.evidence_for, "against": r.evidence_against},
                    "runner_up": r.runner_up.as_ref().map(candidate),
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

/// A cell a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+1+1`,
/// `@SUM(…)`, `-2+3`, `--1`) with a leading `'`, which makes it text: a
/// PodFactory id is the vendor's data, and this file is opened by people.
/// Only a plain negative number (`-5`, `-2.5`) is left as it is.
fn inert_in_a_spreadsheet(cell: &str) -> std::borrow::Cow<'_, str> {
    let plain_number = |s: &str| {
        s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && s.bytes().filter(|&b| b == b'.').count() <= 1
    };
    let risky = match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        Some(b'-') => !plain_number(&cell[1..]),
        _ => false,
    };
    match risky {
        true => format!("'{cell}").into(),
        false => cell.into(),
    }
}

/// A CSV input error: file, line and (when one is to blame) column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CsvError {
    pub file: String,
    pub line: u64,
    /// 1-based column number and the header's name for it.
    pub column: Option<(usize, String)>,
    pub message: String,
}

/// `{"file", "line", "column", "column_name", "problem"}`, the columns
/// absent when no one column is to blame.
impl serde::Serialize for CsvError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("file", &self.file)?;
        m.serialize_entry("line", &self.line)?;
        if let Some((n, name)) = &self.column {
            m.serialize_entry("column", n)?;
            m.serialize_entry("column_name", name)?;
        }
        m.serialize_entry("problem", &self.message)?;
        m.end()
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: the file itself could not be read (a directory, no access).
        if self.line == 0 && self.column.is_none() {
            return write!(f, "{}: cannot be read: {}", self.file, self.message);
        }
        write!(f, "{}: line {}", self.file, self.line)?;
        if let Some((n, name)) = &self.column {
            write!(f, ", column {n} ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A CSV file read as UTF-8 rows under a checked header. Held in memory
/// (exports are megabytes), so reading can start again after a quote that
/// is never closed.
struct Table {
    file: String,
    bytes: std::sync::Arc<[u8]>,
    reader: ::csv::Reader<std::io::Cursor<std::sync::Arc<[u8]>>>,
    header: Vec<String>,
}

/// Where a record starts: its line and byte.
#[derive(Clone, Copy)]
struct Start {
    line: u64,
    byte: u64,
}

impl Table {
    fn open(mut input: impl Read, file: &str, required: &[&str]) -> Result<Self, CsvError> {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(|e| CsvError {
            file: file.to_string(),
            line: 0,
            column: None,
            message: e.to_string(),
        })?;
        let bytes: std::sync::Arc<[u8]> = bytes.into();
        let reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::Cursor::new(bytes.clone()));
        let mut table = Table {
            file: file.to_string(),
            bytes,
            reader,
            header: Vec::new(),
        };
        let Some((Start { line, .. }, fields)) = table.next_raw()? else {
            return Err(table.error(
                1,
                None,
                format!("empty file; expected the header {}", required.join(",")),
            ));
        };
        let fields = fields?;
        for (i, f) in fields.into_iter().enumerate() {
            let name = f.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
            let repeated = table.header.iter().position(|h| *h == name);
            table.header.push(name.clone());
            if let Some(j) = repeated {
                return Err(table.error(
                    line,
                    Some(i),
                    format!("column \"{name}\" repeats column {}", j + 1),
                ));
            }
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|r| !table.header.contains(&r.to_string()))
            .collect();
        if !missing.is_empty() {
            return Err(table.error(
                line,
                None,
                format!(
                    "missing column{} {} (the header is \"{}\"; expected {} first)",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join(", "),
                    table.header.join(","),
                    required.join(",")
                ),
            ));
        }
        Ok(table)
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn error(&self, line: u64, column: Option<usize>, message: String) -> CsvError {
        CsvError {
            file: self.file.clone(),
            line,
            column: column.map(|c| {
                (
                    c + 1,
                    self.header.get(c).cloned().unwrap_or_else(|| "?".into()),
                )
            }),
            message,
        }
    }

    /// The next row, with its line number: its fields as UTF-8, or why the
    /// row cannot be read (the file can be, so reading goes on).
    fn next_raw(&mut self) -> Result<Option<(Start, RawRow)>, CsvError> {
        let mut record = ::csv::ByteRecord::new();
        let more = self.reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            CsvError {
                file: self.file.clone(),
                line,
                column: None,
                message: e.to_string(),
            }
        })?;
        if !more {
            return Ok(None);
        }
        let mut start = record
            .position()
            .map_or(Start { line: 0, byte: 0 }, |p| Start {
                line: p.line(),
                byte: p.byte(),
            });
        // With CRLF line endings the reader ends a record at the `\r` and
        // places the next one's start on the `\n` before it (still the line
        // before); blank lines may come first too. A record starts after
        // them: the line it is on, and the byte a stray quote's resume
        // reads on from.
        while let Some(&b) = self.bytes.get(start.byte as usize) {
            match b {
                b'\n' => start.line += 1,
                b'\r' => {}
                _ => break,
            }
            start.byte += 1;
        }
        let line = start.line;
        let fields = record
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
                    self.error(
                        line,
                        Some(i),
                        format!(
                            "not valid UTF-8 (bad byte at offset {} of the field); save the file as UTF-8",
                            e.valid_up_to()
                        ),
                    )
                })
            })
            .collect();
        Ok(Some((start, fields)))
    }

    /// After a record that began at `start` and ran over several lines
    /// when it should not have: a quote opened there and never closed
    /// swallowed the lines after it. Read again from the next line, so one
    /// stray quote costs one row, not the rest of the file. Returns how many
    /// lines it had swallowed, or `None` for a record on one line.
    fn resume_after_stray_quote(&mut self, start: Start) -> Option<u64> {
        let swallowed = self.reader.position().line().saturating_sub(start.line + 1);
        if swallowed == 0 {
            return None;
        }
        let rest = &self.bytes[start.byte as usize..];
        let next = start.byte + rest.iter().position(|&b| b == b'\n')? as u64 + 1;
        let mut at = ::csv::Position::new();
        at.set_byte(next).set_line(start.line + 1);
        self.reader.seek(at).ok()?;
        Some(swallowed)
    }

    /// Every data row through `parse`, each checked first to have the
    /// header's width: the rows it accepts, and those skipped with why.
    fn rows<T>(
        mut self,
        mut parse: impl FnMut(&Self, u64, Vec<String>) -> Result<T, CsvError>,
    ) -> Result<Rows<T>, CsvError> {
        let mut out = Rows {
            rows: Vec::new(),
            skipped: Vec::new(),
        };
        while let Some((start, fields)) = self.next_raw()? {
            let line = start.line;
            // A quoted field may hold a line break. A row over several lines
            // that is the wrong width, or holds an odd number of quotes (one
            // opened and never closed, taking in the file to its end), is a
            // stray quote.
            let end = self.reader.position().byte() as usize;
            let quotes = || {
                self.bytes[start.byte as usize..end.min(self.bytes.len())]
                    .iter()
                    .filter(|&&b| b == b'"')
                    .count()
            };
            let stray = match &fields {
                Ok(f) => f.len() != self.header.len() || quotes() % 2 == 1,
                Err(_) => true,
            };
            if stray {
                if let Some(swallowed) = self.resume_after_stray_quote(start) {
                    out.skipped.push(self.error(
                        line,
                        None,
                        format!(
                            "a quote opened on this line is never closed (it took in the next {swallowed} line{}); \
                             this row is skipped and reading goes on with the next line",
                            if swallowed == 1 { "" } else { "s" }
                        ),
                    ));
                    continue;
                }
            }
            let row = fields.and_then(|f| {
                if f.len() != self.header.len() {
                    return Err(self.error(
                        line,
                        None,
                        format!(
                            "{} fields, but the header has {}",
                            f.len(),
                            self.header.len()
                        ),
                    ));
                }
                parse(&self, line, f)
            });
            match row {
                Ok(v) => out.rows.push(v),
                Err(e) => out.skipped.push(e),
            }
        }
        Ok(out)
    }
}

/// A row's fields, or why the row cannot be read.
type RawRow = Result<Vec<String>, CsvError>;

/// The rows of a CSV file that could be used, and those skipped with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    pub rows: Vec<T>,
    pub skipped: Vec<CsvError>,
}

pub const EMPLOYEE_COLUMNS: [&str; 5] = ["id", "name", "email", "department", "is_active"];
pub const PODFACTORY_COLUMNS: [&str; 4] = ["id", "name", "email", "user_role"];

/// Read the employees CSV. A duplicated id keeps its first usable row.
pub fn read_employees(input: impl Read, file: &str) -> Result<Rows<EmployeeRecord>, CsvError> {
    let t = Table::open(input, file, &EMPLOYEE_COLUMNS)?;
    let [id, name, email, dept, active] = EMPLOYEE_COLUMNS.map(|c| t.col(c).unwrap_or(0));
    let role = t.col("role").or_else(|| t.col("role_code"));
    let previous = t.col("previous_names");
    let mut seen: FxHashMap<i64, u64> = FxHashMap::default();
    t.rows(|t, line, f| {
        let id_value: i64 = f[id].trim().parse().map_err(|_| {
            t.error(
                line,
                Some(id),
                format!("\"{}\" is not an integer id", f[id]),
            )
        })?;
        let full_name = f[name].trim();
        if full_name.is_empty() {
            return Err(t.error(line, Some(name), "empty name".into()));
        }
        let email_value =
            Email::parse(&f[email]).map_err(|e| t.error(line, Some(email), e.to_string()))?;
        let is_active = parse_bool(&f[active]).ok_or_else(|| {
            t.error(
                line,
                Some(active),
                format!("\"{}\" is not true/false", f[active]),
            )
        })?;
        if let Some(first) = seen.get(&id_value) {
            return Err(t.error(
                line,
                Some(id),
                format!("duplicate id {id_value} (first on line {first})"),
            ));
        }
        seen.insert(id_value, line);
        Ok(EmployeeRecord {
            id: EmployeeId(id_value),
            full_name: full_name.to_string(),
            email: email_value,
            department: f[dept].trim().to_string(),
            role_code: role.map(|c| f[c].trim().to_string()).unwrap_or_default(),
            is_active,
            previous_names: previous
                .map(|c| {
                    f[c].split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        })
    })
}

/// Read the PodFactory users CSV. Empty fields are absent values; an
/// unusable email is left to the matcher, which says so in its explanation.
/// A duplicated id keeps its first row (a file's order is its own).
pub fn read_podfactory(input: impl Read, file: &str) -> Result<Rows<PodFactoryUser>, CsvError> {
    let t = Table::open(input, file, &PODFACTORY_COLUMNS)?;
    let [id, name, email, role] = PODFACTORY_COLUMNS.map(|c| t.col(c).unwrap_or(0));
    let mut seen: FxHashMap<String, u64> = FxHashMap::default();
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    t.rows(|t, line, f| {
        let Some(id_value) = opt(&f[id]) else {
            return Err(t.error(line, Some(id), "empty id".into()));
        };
        if let Some(first) = seen.get(&id_value) {
            return Err(t.error(
                line,
                Some(id),
                format!("duplicate id \"{id_value}\" (first on line {first})"),
            ));
        }
        seen.insert(id_value.clone(), line);
        Ok(PodFactoryUser {
            id: id_value,
            name: opt(&f[name]),
            email: opt(&f[email]),
            user_role: opt(&f[role]),
        })
    })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "y" => Some(true),
        "false" | "f" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}
