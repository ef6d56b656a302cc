//! The harness of the console's browser tests (`console_*.rs`): a real
//! headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, one chromedriver per test), a real `rosterd serve`
//! process on a SQLite database and the Auth0 simulator, and the checks every
//! page a test visits must pass (`check_html`, `check_content`).
//!
//! Without chromedriver the tests print a skip note and pass, except with
//! `CI` set, where they fail: a browser test that skips in CI cannot fail.
//!
//! With `ROSTERD_SCREENSHOTS=<absolute dir>` the status, triage and run
//! tests write `status.png`, `triage.png` and `run.png` there (the README's
//! `docs/console/*.png` are made so).

use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use rosterd::model::RawEmployee;
use rosterd::store::Store;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// `ROSTERD_SESSION_KEY` of the daemon under test.
pub const SESSION_KEY: &str = "console-session-key-0123456789abcdef-0123";
/// The console's session cookie.
pub const SESSION_COOKIE: &str = "rosterd_session";
/// How long a page, a run or a process start may take.
pub const LIMIT: Duration = Duration::from_secs(30);

/// True when Chromium and chromedriver are installed; otherwise says why,
/// and panics in CI.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "{} not installed; install them with `apt-get install -y chromium chromium-driver` (.ci/run does)",
        missing.join(" and ")
    );
    if std::env::var_os("CI").is_some_and(|v| v != "false") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    false
}

/// A port nothing listens on (free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kill a process group we started (chromedriver and the Chromium it ran).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

// ---------------------------------------------------------------- chromedriver

/// chromedriver on a free port, in a process group of its own so that the
/// Chromium it starts goes with it even when a test panics.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        // A port taken between `free_port` and chromedriver's bind: try another.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("run chromedriver");
            let status = format!("http://127.0.0.1:{port}/status");
            let http = reqwest::Client::new();
            let deadline = tokio::time::Instant::now() + LIMIT;
            while tokio::time::Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if let Ok(r) = http.get(&status).send().await {
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    if body["value"]["ready"] == true {
                        return Chromedriver { child, port };
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            kill_group(child.id());
            let _ = child.wait();
        }
        panic!("chromedriver did not start");
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the daemon

/// `rosterd serve` as its own process; its log (JSON lines) kept for the
/// secrets check and for a failing test's message.
struct Serve {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Serve {
    fn start(config: &Path, session_key: &str) -> Serve {
        let tokens = format!("alice={ADMIN_TOKEN},viewer:read={READ_TOKEN}");
        let mut child = rosterd_command(config, &["serve"])
            .env("ROSTERD_ADMIN_TOKENS", tokens)
            .env("ROSTERD_SESSION_KEY", session_key)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run rosterd serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["message"] == "rosterd serving" {
                        let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_string());
                    }
                }
                let mut log = keep.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let Ok(addr) = rx.recv_timeout(LIMIT) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rosterd serve did not start:\n{}", log.lock().unwrap());
        };
        Serve {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- SMTP

/// One message as `tests/smtp/capture.py` received it.
#[derive(Debug, serde::Deserialize)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A real SMTP server (aiosmtpd via `tests/smtp/capture.py`) for the digest.
pub struct Smtp {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/capture.py");
        // stdin stays open while we live: the server exits when it closes.
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "capture.py said {line:?} (is aiosmtpd installed? \
                     `python3 -m pip install -r tests/smtp/requirements.txt`)"
                )
            });
        Smtp { child, port, dir }
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Mail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Wait until `n` messages have arrived; the `n`th.
    pub async fn nth(&self, n: usize) -> Mail {
        eventually(&format!("digest #{n}"), LIMIT, || async {
            let mut all = self.received();
            (all.len() >= n).then(|| all.swap_remove(n - 1))
        })
        .await
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the world

/// What a console test starts with.
#[derive(Default)]
pub struct Setup {
    /// Rows of the employees table, inserted before the daemon starts.
    pub employees: Vec<RawEmployee>,
    /// Accounts seeded into the Auth0 simulator.
    pub accounts: Vec<Value>,
    /// The PodFactory users as CSV (`id,name,email,user_role`); `None`: no matching.
    pub podfactory: Option<String>,
    /// Email every run's digest to a real SMTP server, with no cool-down.
    pub digest: bool,
    /// Lines of the `[reconcile]` section.
    pub reconcile: String,
    /// More configuration, whole tables (e.g. `[policy.exclude]`).
    pub config: String,
}

/// A daemon under test: a SQLite database, the simulator, `rosterd serve`.
pub struct Console {
    pub auth0: SimClient,
    /// The daemon's database, for checks behind the console's back.
    pub store: Store,
    pub smtp: Option<Smtp>,
    /// Every secret in play: no page, log line or database row may hold one.
    pub secrets: Vec<String>,
    serve: Serve,
    config: PathBuf,
    db_file: PathBuf,
    _sim: auth0_sim::RunningSim,
    _dir: tempfile::TempDir,
    _db: TestDb,
}

impl Console {
    pub async fn start(setup: Setup) -> Console {
        let db = TestDb::new(Db::Sqlite).await;
        let db_file = PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
        let sim = spawn_sim().await;
        let auth0 = SimClient::new(&sim);
        auth0.seed(setup.accounts).await;
        let dir = tempfile::tempdir().unwrap();
        // Only the runs a test starts: no start-up run, a schedule that does
        // not fire, and employee edits (SQLite: polled) not noticed for an hour.
        let mut rest = format!(
            "[serve]\nlisten = \"127.0.0.1:0\"\nrun_at_start = false\n\
             schedule = \"0 0 0 1 1 *\"\nchange_poll_ms = 3600000\n\n\
             [log]\nformat = \"json\"\nlevel = \"info\"\n\n[reconcile]\n{}\n",
            setup.reconcile
        );
        rest += &setup.config;
        if let Some(csv) = &setup.podfactory {
            let path = dir.path().join("podfactory.csv");
            std::fs::write(&path, csv).unwrap();
            rest += &format!(
                "\n[podfactory]\nsource = \"csv\"\ncsv_path = \"{}\"\n",
                path.display()
            );
        }
        let smtp = setup.digest.then(Smtp::start);
        if let Some(smtp) = &smtp {
            rest += &format!(
                "\n[notify]\nemail = true\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\n\
                 smtp_security = \"plain\"\nfrom = \"rosterd@example.com\"\n\
                 to = [\"oncall@example.com\"]\ncooldown_hours = 0\nsmtp_attempts = 1\n",
                smtp.port
            );
        }
        let config = write_cli_config(dir.path(), &db, &sim.base_url(), "", &rest);
        let s = daemon_settings(&db, &sim);
        seed_employees(&s, &setup.employees).await;
        let store = Store::connect(&s.database)
            .await
            .expect("the test database");
        let serve = Serve::start(&config, SESSION_KEY);
        Console {
            auth0,
            store,
            smtp,
            secrets: vec![
                ADMIN_TOKEN.into(),
                READ_TOKEN.into(),
                SESSION_KEY.into(),
                auth0_sim::SimConfig::default().client_secret,
            ],
            serve,
            config,
            db_file,
            _sim: sim,
            _dir: dir,
            _db: db,
        }
    }

    /// Where the daemon listens, e.g. `http://127.0.0.1:41234`.
    pub fn base(&self) -> &str {
        &self.serve.base
    }

    /// The JSON API as the admin token.
    pub fn admin_api(&self) -> DaemonClient {
        DaemonClient::new(self.base(), Some(ADMIN_TOKEN))
    }

    /// A plain HTTP client of the console that follows no redirects.
    pub fn http(&self) -> ConsoleHttp {
        ConsoleHttp::new(self.base())
    }

    /// Stop the daemon and start it again on the same database with another
    /// session key (and so another port).
    pub fn restart(&mut self, session_key: &str) {
        self.secrets.push(session_key.into());
        // The old daemon first: one leader per database.
        let old_log = self.serve.log();
        let _ = self.serve.child.kill();
        let _ = self.serve.child.wait();
        self.serve = Serve::start(&self.config, session_key);
        self.serve.log.lock().unwrap().insert_str(0, &old_log);
    }

    /// The run the daemon is running or ran last, once it has finished.
    pub async fn wait_run(&self, id: i64) -> Value {
        self.admin_api().wait_run(id, LIMIT).await
    }

    /// The checks of the end: no secret in the daemon's log or its database
    /// file (SQLite: the main file and the write-ahead log).
    pub async fn finish(self, browser: Browser) {
        browser.close().await;
        let log = self.serve.log();
        let mut db = Vec::new();
        for suffix in ["", "-wal"] {
            let mut name = self.db_file.clone().into_os_string();
            name.push(suffix);
            db.extend(std::fs::read(&name).unwrap_or_default());
        }
        for secret in &self.secrets {
            assert!(
                !log.contains(secret.as_str()),
                "a secret in the log:\n{log}"
            );
            assert!(
                !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret in the database file"
            );
        }
    }
}

/// Raw HTTP to the console, for what a browser does not show: statuses,
/// headers, requests a page would never send. `cookies` are `(name, value)`.
pub struct ConsoleHttp {
    pub base: String,
    pub http: reqwest::Client,
}

impl ConsoleHttp {
    /// A client of the console at `base` that follows no redirects.
    pub fn new(base: &str) -> Self {
        ConsoleHttp {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(LIMIT)
                .build()
                .unwrap(),
        }
    }
    fn with(req: reqwest::RequestBuilder, cookies: &[(&str, &str)]) -> reqwest::RequestBuilder {
        if cookies.is_empty() {
            return req;
        }
        let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req.header(reqwest::header::COOKIE, header.join("; "))
    }
    pub async fn get(&self, path: &str, cookies: &[(&str, &str)]) -> Reply {
        send(Self::with(
            self.http.get(format!("{}{path}", self.base)),
            cookies,
        ))
        .await
    }
    /// A form POST (`application/x-www-form-urlencoded`).
    pub async fn post(&self, path: &str, cookies: &[(&str, &str)], form: &[(&str, &str)]) -> Reply {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        send(Self::with(req, cookies)).await
    }

    /// Sign in as a browser would (the sign-in form's cookie and CSRF
    /// token, then the token): the answer to the POST.
    pub async fn sign_in(&self, token: &str) -> Reply {
        let form = self.get("/ui/login", &[]).await;
        form.expect(200);
        let nonce = set_cookie(&form, "rosterd_login").expect("the sign-in form's cookie");
        let csrf = html_attrs(&form.text, "form#login input[name=csrf]", "value");
        let csrf = csrf.first().expect("the sign-in form's CSRF token");
        self.post(
            "/ui/login",
            &[("rosterd_login", &nonce)],
            &[("csrf", csrf), ("next", "/ui"), ("token", token)],
        )
        .await
    }
}

/// The value a `Set-Cookie` header of `reply` gives the cookie `name`.
pub fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    set_cookie_header(reply, name).map(|h| {
        let pair = h.split(';').next().unwrap_or_default();
        pair.split_once('=')
            .map(|(_, v)| v)
            .unwrap_or_default()
            .to_string()
    })
}

/// The whole `Set-Cookie` header of `reply` for the cookie `name`.
pub fn set_cookie_header(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The text of every element matching `css` in `html`.
pub fn html_texts(html: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// Attribute `name` of every element matching `css` in `html`.
pub fn html_attrs(html: &str, css: &str, name: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel)
        .filter_map(|e| e.value().attr(name).map(str::to_string))
        .collect()
}

async fn send(req: reqwest::RequestBuilder) -> Reply {
    let resp = req.send().await.expect("the daemon answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("a body");
    Reply {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

// ---------------------------------------------------------------- HTML check

/// What is wrong with a console page as served (empty: nothing): it does
/// not parse as HTML5 without an error, in no-quirks mode (`<!DOCTYPE
/// html>`), or its content is wrong ([`check_content`]).
pub fn check_html(html: &str, secrets: &[String]) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let mut problems: Vec<String> = doc
        .errors
        .iter()
        .map(|e| format!("HTML parse error: {e}"))
        .collect();
    // A new document is in no-quirks mode, as a page with `<!DOCTYPE html>` is.
    if doc.quirks_mode != scraper::Html::new_document().quirks_mode {
        problems.push(format!(
            "rendered in {:?} (not <!DOCTYPE html>)",
            doc.quirks_mode
        ));
    }
    problems.extend(check_content(html, secrets));
    problems
}

/// What is wrong with a page's content (served, or as a browser holds it):
/// a POST form has no non-empty `csrf` field, a script or stylesheet is
/// inline or not rosterd's own (no CDN), or the page holds one of `secrets`.
pub fn check_content(html: &str, secrets: &[String]) -> Vec<String> {
    use scraper::{Html, Selector};
    let doc = Html::parse_document(html);
    let mut problems = Vec::new();
    let forms = Selector::parse("form").unwrap();
    let csrf = Selector::parse("input[name=csrf]").unwrap();
    for form in doc.select(&forms) {
        let post = form
            .value()
            .attr("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let token = form
            .select(&csrf)
            .next()
            .and_then(|i| i.value().attr("value"));
        if post && token.is_none_or(str::is_empty) {
            problems.push(format!("a POST form without a CSRF token: {}", form.html()));
        }
    }
    let assets = Selector::parse("script, link[rel=stylesheet]").unwrap();
    for asset in doc.select(&assets) {
        let url = asset.value().attr("src").or(asset.value().attr("href"));
        if !url.is_some_and(|u| u.starts_with('/') && !u.starts_with("//")) {
            problems.push(format!("not served by rosterd: {}", asset.html()));
        }
    }
    for secret in secrets {
        if html.contains(secret.as_str()) {
            problems.push(format!("the page holds the secret {:.4}…", secret));
        }
    }
    problems
}

// ---------------------------------------------------------------- the browser

/// A headless Chromium on a fresh profile, driven over WebDriver.
pub struct Browser {
    client: Client,
    base: String,
    secrets: Vec<String>,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
    _driver: Chromedriver,
}

impl Browser {
    /// A browser, or `None` (after a skip note) when none is installed.
    pub async fn launch() -> Option<Browser> {
        if !browser_installed() {
            return None;
        }
        let driver = Chromedriver::start().await;
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            // Chromium reaches out to Google without these; this network is closed.
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "timeouts": { "pageLoad": LIMIT.as_millis() as u64, "script": 10_000 },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session");
        Some(Browser {
            client,
            base: String::new(),
            secrets: Vec::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(LIMIT)
                .build()
                .unwrap(),
            _profile: profile,
            _driver: driver,
        })
    }

    /// Point the browser at `console` (again after a restart) and take its secrets.
    pub fn bind(&mut self, console: &Console) {
        self.base = console.base().to_string();
        self.secrets = console.secrets.clone();
    }

    /// Another secret no page may show from now on (a password once shown).
    pub fn secret(&mut self, s: impl Into<String>) {
        self.secrets.push(s.into());
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Open `path` (e.g. `/ui/runs`) and check the page.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.check_page(true).await;
    }

    /// Reload the current page and check it.
    pub async fn reload(&self) {
        let was = self.mark().await;
        self.client.refresh().await.expect("reload");
        self.wait_new_document(was).await;
        self.check_page(true).await;
    }

    /// The current path and query, e.g. `/ui/login?next=%2Fui%2Fruns`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The value of the session cookie, if the browser holds one.
    pub async fn session(&self) -> Option<String> {
        self.client
            .get_named_cookie(SESSION_COOKIE)
            .await
            .ok()
            .map(|c| c.value().to_string())
    }

    /// Replace the session cookie's value (a tampered or foreign session).
    pub async fn set_session(&self, value: &str) {
        let mut cookie = self
            .client
            .get_named_cookie(SESSION_COOKIE)
            .await
            .expect("a session cookie");
        cookie.set_value(value.to_string());
        self.client.delete_cookie(SESSION_COOKIE).await.unwrap();
        self.client.add_cookie(cookie).await.unwrap();
    }

    /// Whether an element matches `css` on the current page.
    pub async fn has(&self, css: &str) -> bool {
        !self.all(css).await.is_empty()
    }

    async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    async fn one(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!(
                "no {css} on {}: {e}\n{}",
                self.path().await,
                self.client.source().await.unwrap_or_default()
            ),
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.one(css).await.text().await.expect("text")
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.all(css).await {
            out.push(e.text().await.expect("text"));
        }
        out
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.one(css).await.attr(name).await.expect("attribute")
    }

    /// The value of attribute `name` of every element matching `css`.
    pub async fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.all(css).await {
            out.extend(e.attr(name).await.expect("attribute"));
        }
        out
    }

    /// Type `text` into the field `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.one(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Tick the checkbox `css` (if it is not ticked yet).
    pub async fn tick(&self, css: &str) {
        let check = self.one(css).await;
        if !check.is_selected().await.expect("a checkbox") {
            check.click().await.expect("tick");
        }
    }

    /// Press the submit button of the form `form` (a CSS selector) as a
    /// person would, wait for the page that follows and check it.
    pub async fn submit(&self, form: &str) {
        self.press(form).await;
        self.check_page(true).await;
    }

    /// [`submit`](Self::submit) to a page that may be shown only once (the
    /// credentials): checked as the browser holds it, not fetched again.
    pub async fn submit_show_once(&self, form: &str) {
        self.press(form).await;
        self.check_page(false).await;
    }

    /// Click the link `css`, wait for its page and check it.
    pub async fn follow(&self, css: &str) {
        self.click(css).await;
        self.check_page(true).await;
    }

    async fn press(&self, form: &str) {
        self.click(&format!(
            "{form} button[type=submit], {form} input[type=submit]"
        ))
        .await;
    }

    async fn click(&self, css: &str) {
        let target = self.one(css).await;
        let was = self.mark().await;
        target
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
        self.wait_new_document(was).await;
    }

    /// Tag the current document, so that its replacement can be told apart
    /// even when the URL stays the same.
    async fn mark(&self) -> String {
        let tag = rand_suffix();
        self.client
            .execute("window.__rosterd_test = arguments[0];", vec![json!(tag)])
            .await
            .expect("run a script");
        tag
    }

    async fn wait_new_document(&self, was: String) {
        eventually("the next page", LIMIT, || {
            let was = was.clone();
            async move {
                let v = self
                    .client
                    .execute(
                        "return [window.__rosterd_test || null, document.readyState];",
                        vec![],
                    )
                    .await
                    .ok()?;
                (v[0] != json!(was) && v[1] == "complete").then_some(())
            }
        })
        .await;
    }

    /// The checks every page passes: [`check_content`] on the document as
    /// the browser holds it (its re-serialised DOM, which has lost the
    /// doctype and any parse error), and (`refetch`) [`check_html`] on the
    /// bytes the daemon serves for its URL, fetched again with the browser's
    /// session cookie.
    async fn check_page(&self, refetch: bool) {
        let path = self.path().await;
        let mut secrets = self.secrets.clone();
        secrets.extend(self.session().await);
        let dom = self.client.source().await.expect("the page source");
        let mut problems = check_content(&dom, &secrets);
        if refetch {
            let mut req = self.http.get(format!("{}{path}", self.base));
            if let Some(c) = self.session().await {
                req = req.header(reqwest::header::COOKIE, format!("{SESSION_COOKIE}={c}"));
            }
            let served = send(req).await;
            // A page answered to a POST (a refusal) is not there to GET.
            if served.status != 405 {
                let kind = served.header("content-type").unwrap_or_default();
                if !kind.starts_with("text/html") {
                    problems.push(format!("served as {kind:?}, status {}", served.status));
                }
                problems.extend(check_html(&served.text, &secrets));
            }
        }
        assert!(problems.is_empty(), "{path}: {problems:#?}\n{dom}");
    }

    /// Run `js` in the page (a test's own doing, not the console's: it ships
    /// no script); what it returns.
    pub async fn script(&self, js: &str) -> Value {
        self.client
            .execute(js, vec![])
            .await
            .unwrap_or_else(|e| panic!("{js}: {e}"))
    }

    /// The session's CSRF token, as the sign-out form carries it.
    pub async fn csrf(&self) -> String {
        self.attr("form#sign-out input[name=csrf]", "value")
            .await
            .expect("a CSRF token")
    }

    /// How many forms on the page POST (change something or sign out).
    pub async fn post_forms(&self) -> usize {
        self.all("form[method=post]").await.len()
    }

    /// Sign in with `token` from the sign-in page the browser is on.
    pub async fn sign_in(&self, token: &str) {
        self.fill("form#login input#token", token).await;
        self.submit("form#login").await;
    }

    /// What makes the current page wider than a phone (390 CSS pixels), so
    /// that the whole page scrolls sideways; `None` when it fits. (A wide
    /// table may scroll in a box of its own.)
    pub async fn too_wide_for_a_phone(&self) -> Option<String> {
        const WIDEST: &str = "
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return null;
            const boxed = e => {
                for (let p = e.parentElement; p; p = p.parentElement) {
                    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
                }
                return false;
            };
            return Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > width + 1 && !boxed(e))
                .map(e => e.outerHTML.slice(0, 100))
                .slice(0, 2)
                .join(' / ');";
        self.client.set_window_size(390, 844).await.expect("resize");
        let widest = self.script(WIDEST).await;
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resize");
        widest.as_str().map(str::to_string)
    }

    /// With `ROSTERD_SCREENSHOTS=<dir>` set: the current page as
    /// `<dir>/<name>.png`, 1100×800, at most 200 KB.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("ROSTERD_SCREENSHOTS") else {
            return;
        };
        self.client
            .set_window_size(1100, 800)
            .await
            .expect("resize");
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.len() < 200_000, "{name}.png is {} bytes", png.len());
        let path = PathBuf::from(dir).join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
