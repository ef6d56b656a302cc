//! The `rosterd` command line: parse arguments, load settings, call the
//! library. No logic lives here.

use clap::{Parser, Subcommand, ValueEnum};
use rosterd::config::Settings;
use rosterd::run::{run_once, Context, RunError, RunOptions, EXIT_LOCKED};
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
    /// Run one reconcile now. Exit status: 0 succeeded, 1 failed, 3 held,
    /// 4 not started: another run holds the leader lock.
    Run {
        /// Plan and record, apply nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Create or upgrade rosterd's tables (and the employees auth0 columns).
    Migrate,
    /// Check the configuration and list every problem with its key.
    CheckConfig,
    /// A self-contained demo: SQLite, a sample workforce, the built-in Auth0 simulator.
    Demo(rosterd::demo::DemoArgs),
    /// Offline matcher: PodFactory users against employees, from CSV files.
    Match(rosterd::matching::MatchArgs),
    /// Precision, recall and F1 of the matcher (and the old name-only rule)
    /// on a synthetic workforce with ground truth.
    MatchEval(rosterd::matching::EvalArgs),
    /// Serve the Auth0 Management API simulator.
    Auth0Sim(rosterd::sim::cli::SimArgs),
    /// Measure: the planner, whole runs, the simulator.
    #[command(subcommand)]
    Bench(rosterd::bench::BenchCommand),
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Auth0Sim(args) => {
            rosterd::telemetry::init(&Default::default());
            rosterd::sim::cli::run_cli(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            // The demo prints its own summary; logs only for trouble.
            rosterd::telemetry::init(&rosterd::config::LogSettings {
                level: "warn".into(),
                ..Default::default()
            });
            rosterd::demo::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(cmd) => {
            rosterd::telemetry::init(&rosterd::config::LogSettings {
                level: "warn".into(),
                ..Default::default()
            });
            rosterd::bench::run(cmd).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Match(args) => {
            rosterd::matching::run_cli(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::MatchEval(args) => {
            rosterd::matching::eval_cli(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => match Settings::load(cli.config.as_deref()) {
            Ok(s) => {
                println!(
                    "configuration OK: mode {:?}, database {}, Auth0 {} (client {}), secret set",
                    s.mode,
                    rosterd::store::redact_url(&s.database.url),
                    s.auth0.base_url(),
                    s.auth0.client_id
                );
                Ok(ExitCode::SUCCESS)
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
            store.migrate().await?;
            println!("migrations applied ({:?})", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { dry_run, output } => {
            let settings = Settings::load(cli.config.as_deref())?;
            rosterd::telemetry::init(&settings.log);
            let ctx = Context::new(settings).await?;
            let notifier = rosterd::notify::Notifier::for_context(&ctx)?;
            let report = match run_once(&ctx, RunOptions::new("cli", dry_run)).await {
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
    }
}
