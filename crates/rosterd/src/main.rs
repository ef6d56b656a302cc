//! The `rosterd` command line: parse arguments, load settings, call the
//! library. No logic lives here.

mod bench;
mod demo;

use clap::{Parser, Subcommand, ValueEnum};
use rosterd::config::Settings;
use rosterd::run::{Context, RunError, RunOptions, Trigger, EXIT_LOCKED};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rosterd",
    version,
    about = "Keeps Auth0 in step with the Productivity System's employees"
)]
struct Cli {
    /// Settings file (TOML); every key can be overridden by ROSTERD_SECTION__KEY.
    #[arg(long, short, global = true, env = "ROSTERD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: scheduled and change-triggered runs, the admin HTTP API, /metrics.
    Serve,
    /// Run one reconcile now. Exit status: 0 succeeded, 2 partial (some
    /// actions failed; retried next run), 1 failed or interrupted, 3 held
    /// (or the same plan as a rejected one), 4 not started: another run
    /// holds the leader lock.
    Run {
        /// Plan and record, apply nothing; `--output json` lists the plan.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Approve held run RUN: apply its plan now if nothing changed since
    /// (otherwise the fresh plan faces the guard). Exit status as `run`.
    Approve {
        run: i64,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Reject held run RUN: nothing is applied, and a later run with the
    /// same plan is not held (nor notified) again until the plan changes.
    Reject {
        run: i64,
        /// Why, recorded with the run.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Block (never delete) the accounts rosterd created in runs started in
    /// [--since, --until), and pause enforcement (runs plan, apply nothing)
    /// until `rosterd resume`; with --undo RUN, unblock what rollback run
    /// RUN blocked. More blocks (or unblocks) than the guard allows are held
    /// (exit status 3) unless --approve. Exit status as `run`.
    Rollback {
        /// RFC 3339 (2026-03-01T09:00:00Z) or a date (midnight UTC).
        #[arg(long, required_unless_present = "undo", conflicts_with = "undo")]
        since: Option<String>,
        /// The end of the window, excluded (default: now).
        #[arg(long, requires = "since")]
        until: Option<String>,
        /// A rollback run's id: unblock the accounts it blocked.
        #[arg(long, value_name = "RUN")]
        undo: Option<i64>,
        /// List what would be blocked (or unblocked); change nothing, not
        /// even the pause.
        #[arg(long)]
        dry_run: bool,
        /// Apply past the guard's limits (reconcile.max_block_count and
        /// share), recorded as approved by --actor.
        #[arg(long)]
        approve: bool,
        /// Who, as the audit, the pause and an approval record it
        /// (default: cli:$USER).
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// End the pause a rollback started: the next run applies its plan.
    Resume,
    /// Create or upgrade rosterd's tables (and the employees auth0 columns).
    Migrate,
    /// Check the configuration and list every problem with its key.
    CheckConfig,
    /// A self-contained demo: SQLite, a sample workforce, the built-in Auth0 simulator.
    Demo(demo::DemoArgs),
    /// Offline matcher: PodFactory users against employees, from CSV files.
    /// A bad row is skipped and reported on stderr (and, with --output
    /// json, as a `skipped_row` record); exit status 2 when rows were
    /// skipped, 1 when a file cannot be read.
    Match(rosterd::match_csv::MatchArgs),
    /// Precision, recall and F1 of the matcher (and the old name-only rule)
    /// on a synthetic workforce with ground truth.
    MatchEval(rosterd_lab::EvalArgs),
    /// Serve the Auth0 Management API simulator.
    Auth0Sim(auth0_sim::cli::SimArgs),
    /// Measure: the planner, whole runs, the simulator.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

/// A command line rosterd cannot parse (sysexits' `EX_USAGE`).
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    fixed_mmap_threshold();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(cli_main())
}

/// glibc serves an allocation from 128 KiB up with a mapping of its own,
/// returned when freed, but raises that bound as large blocks are freed (up
/// to 32 MiB): a run's big transient buffers (the export's chunks, rows,
/// JSON) then land in the heap between long-lived data and stay resident.
/// Fixed at the default, a no-change run over 100,000 employees, accounts
/// and PodFactory users peaks about 30 MiB lower, no slower.
fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first in `main`, before any other thread exists;
    // mallopt only sets an allocator parameter.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

async fn cli_main() -> ExitCode {
    // clap's own exit status for a usage error is 2, which `run` and
    // `approve` use for a partial run: a typo must not read as one.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", rosterd::telemetry::error_chain(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Auth0Sim(args) => {
            rosterd::telemetry::init(&Default::default());
            auth0_sim::cli::run_cli(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            // The demo prints its own summary; logs only for trouble.
            rosterd::telemetry::init(&rosterd::config::LogSettings {
                level: "warn".into(),
                ..Default::default()
            });
            demo::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(cmd) => {
            rosterd::telemetry::init(&rosterd::config::LogSettings {
                level: "warn".into(),
                ..Default::default()
            });
            bench::run(cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Match(args) => {
            // As for a partial run: done, but not all of it.
            let summary = rosterd::match_csv::run_cli(args)?;
            Ok(if summary.skipped_rows.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::MatchEval(args) => {
            rosterd_lab::eval_cli(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => match Settings::load(cli.config.as_deref()).and_then(|s| {
            let problems = s.check_files();
            if problems.is_empty() {
                Ok(s)
            } else {
                Err(rosterd::config::ConfigError { problems })
            }
        }) {
            Ok(s) => {
                println!(
                    "configuration file OK (the database is checked next): mode {}, database {}, Auth0 {} (client {}), secret set",
                    s.mode.as_str(),
                    rosterd::store::DbUrl::parse("database.url", &s.database.url, None)
                        .map_or_else(|e| e.to_string(), |url| url.to_string()),
                    s.auth0.base_url(),
                    s.auth0.client_id
                );
                let database = check_database(&s).await;
                let podfactory = check_podfactory(&s).await;
                Ok(if database == ExitCode::SUCCESS {
                    podfactory
                } else {
                    database
                })
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(1))
            }
        },
        Command::Serve => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            rosterd::daemon::serve(settings).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let store = rosterd::store::Store::connect(&settings.database).await?;
            store.migrate_for(&settings.database).await?;
            println!("migrations applied ({})", store.backend().as_str());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { dry_run, output } => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let ctx = Context::new(settings).await?;
            cli_run(&ctx, RunOptions::new(Trigger::Cli, dry_run), output).await
        }
        Command::Approve { run, output } => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let ctx = Context::new(settings).await?;
            let actor = cli_actor();
            let opts = rosterd::held::approval(&ctx.store, run, &actor).await?;
            // Recorded and audited as the run opens (`run::open_run`).
            cli_run(&ctx, opts, output).await
        }
        Command::Rollback {
            since,
            until,
            undo,
            dry_run,
            approve,
            actor,
            output,
        } => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            // The window is checked before anything connects; a bad one is
            // a command line rosterd cannot use, not a failed run.
            let window = since
                .as_deref()
                .map(|since| rosterd::rollback::window(since, until.as_deref()))
                .transpose();
            let window = match window {
                Ok(window) => window,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(EXIT_USAGE));
                }
            };
            let ctx = Context::new(settings).await?;
            let target = match (window, undo) {
                (Some(window), _) => window,
                (None, Some(run)) => rosterd::rollback::undo(&ctx.store, run).await?,
                (None, None) => unreachable!("clap requires --since or --undo"),
            };
            let actor = actor.unwrap_or_else(cli_actor);
            if !dry_run {
                let what = match &target {
                    rosterd::rollback::Target::Window { since, until } => format!(
                        "window from {}{}{}",
                        since.to_rfc3339(),
                        until.map_or_else(String::new, |u| format!(" until {}", u.to_rfc3339())),
                        if approve { " (--approve)" } else { "" }
                    ),
                    rosterd::rollback::Target::Undo { run_id } => format!("undo of run {run_id}"),
                };
                ctx.audit(&actor, "rollback", Some(&what)).await;
            }
            let mut opts = RunOptions::new(Trigger::Rollback, dry_run);
            opts.rollback = Some(rosterd::rollback::Rollback {
                target,
                actor,
                approved: approve,
            });
            cli_run(&ctx, opts, output).await
        }
        Command::Resume => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let ctx = Context::new(settings).await?;
            match rosterd::rollback::resume(&ctx, &cli_actor()).await? {
                Some(p) => println!(
                    "enforcement resumed (paused since {} by {}: {}); the next run applies its plan",
                    p.paused_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    p.paused_by,
                    p.reason
                ),
                None => println!("enforcement was not paused; nothing changed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reject { run, reason } => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let store = rosterd::store::Store::connect(&settings.database).await?;
            let actor = cli_actor();
            let rejection = rosterd::held::reject(&store, run, &actor, reason.as_deref()).await?;
            let note = &rejection.note;
            tracing::warn!(actor = %actor, held_run = run, "held run rejected");
            if let Err(e) = store
                .audit_admin(
                    &actor,
                    "reject_run",
                    Some(&format!("{run}: {note}")),
                    chrono::Utc::now(),
                )
                .await
            {
                tracing::error!(error = %e, "could not write the admin audit");
            }
            println!(
                "run {run} {note}{}; the same plan will not be held again until it changes",
                rejection.also_text()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `check-config`'s look at the database, when it answers: the employees
/// query's columns and types, and where links will be written. An
/// unreachable database is reported, not an error (the config may be
/// checked away from it).
async fn check_database(s: &Settings) -> ExitCode {
    // Before the first `migrate` a SQLite file may not exist yet: as with
    // the tables on a server, that is the next step, not a problem (unless
    // a custom employees query says the database should hold them already:
    // then a missing file is a wrong path).
    let url = rosterd::store::DbUrl::parse("database.url", &s.database.url, None);
    if let Some(file) = url.as_ref().ok().and_then(|u| u.sqlite_file()) {
        // Where migrate can create it: a directory that exists.
        let creatable = file
            .parent()
            .is_none_or(|d| d.as_os_str().is_empty() || d.is_dir());
        if !file.exists() && creatable && s.database.employees_query.is_none() {
            println!(
                "no SQLite database at {} yet: run `rosterd migrate` (it creates the file, \
                 rosterd's tables and the employees table the built-in query reads), then check again",
                file.display()
            );
            return ExitCode::SUCCESS;
        }
    }
    let mut db = s.database.clone();
    db.connect_timeout_secs = db.connect_timeout_secs.min(5);
    let store = match rosterd::store::Store::connect_existing(&db).await {
        Ok(store) => store,
        // serve, run and migrate would fail the same way: a problem.
        Err(e) => {
            eprintln!("database: {e}");
            return ExitCode::from(1);
        }
    };
    // Before the first `migrate` the built-in query's table may not exist
    // yet: that is the next step, not a problem with the settings.
    match store.is_migrated().await {
        Ok(false) if s.database.employees_query.is_none() => {
            println!(
                "database reached, rosterd's tables not there yet: run `rosterd migrate` \
                 (it creates rosterd's tables, and the employees table the built-in query \
                 reads if there is none), then check again"
            );
            return ExitCode::SUCCESS;
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    }
    match store.check_employees_source(&s.database, &s.policy).await {
        Ok(writes) => {
            println!("employees query OK; {writes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// The PodFactory source as a run would read it (the query, for one row).
async fn check_podfactory(s: &Settings) -> ExitCode {
    match rosterd::podfactory::check(&s.podfactory).await {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(found)) => {
            println!("{found}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", rosterd::telemetry::error_chain(&e));
            ExitCode::from(1)
        }
    }
}

/// One run from the command line: report, notify, exit status. Ctrl-C or
/// SIGTERM stops it as a shutdown stops the daemon's: no further action
/// starts, those in flight finish, and the run is recorded `interrupted`
/// (the next run finishes the plan); a second signal quits at once.
async fn cli_run(
    ctx: &std::sync::Arc<Context>,
    opts: RunOptions,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let notifier = rosterd::notify::Notifier::for_context(ctx)?;
    // Listening replaces the default (die at once) for the rest of the
    // command: after the run, while on-call is notified, a signal quits.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = match rosterd::run::begin(ctx, opts).await {
        Ok(started) => {
            let stop = started.stop_request();
            tokio::spawn({
                let done = done.clone();
                async move {
                    rosterd::daemon::shutdown_signal().await;
                    if !done.load(std::sync::atomic::Ordering::SeqCst) {
                        stop.request();
                        eprintln!(
                            "stopping: no further action starts, those in flight finish \
                             (a second Ctrl-C quits at once)"
                        );
                        rosterd::daemon::shutdown_signal().await;
                    }
                    std::process::exit(130);
                }
            });
            let finished = started.finish().await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            finished
        }
        Err(e) => Err(e),
    };
    let report = match finished {
        Ok(report) => report,
        Err(RunError::AlreadyRunning(running)) => {
            let e = RunError::AlreadyRunning(running.clone());
            if let Output::Json = output {
                let body = serde_json::json!({
                    "status": "locked",
                    "run_id": running.as_ref().map(|r| r.id),
                    "holder": running.as_ref().and_then(|r| r.holder.clone()),
                    "since": running.as_ref().map(|r| r.started_at),
                    "error": e.to_string(),
                });
                println!("{}", serde_json::to_string_pretty(&body)?);
            }
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_LOCKED));
        }
        Err(e) => return Err(e.into()),
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print!("{}", rosterd::report::human(&report)),
    }
    if let Some(n) = notifier {
        n.after_run(report.run_id).await;
    }
    Ok(ExitCode::from(report.status.exit_code() as u8))
}

/// Who decided, as `admin_audit` and the run record name them: the login
/// running the command.
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(uid)
        .unwrap_or_else(|| "unknown".into());
    format!("cli:{user}")
}

/// `uid:N` from the kernel, for cron, systemd and containers, where no login
/// name is set.
fn uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let real = line.split_whitespace().nth(1)?;
    Some(format!("uid:{real}"))
}
