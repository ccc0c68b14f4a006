use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::config::Config;
use gatehouse::{AppState, Application};

/// Gatehouse back office. With no subcommand it serves the API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a benchmark data set with bulk SQL: N contributors ready to be paid and M
    /// approved work records (their pay available), plus two finance users.
    Seed {
        #[arg(long, default_value_t = 10_000)]
        contributors: u64,
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Password of the finance users finance1@bench.test and finance2@bench.test
        /// (default: GATEHOUSE_BENCH_PASSWORD, else "bench-password-1").
        #[arg(long)]
        finance_password: Option<String>,
        /// Payout rail of every contributor: `mixed` (PayPal, Wise and ACH in turn),
        /// `ach`, `paypal` or `wise` (a batch whose one export holds every item).
        #[arg(long, default_value = "mixed", value_parser = ["mixed", "ach", "paypal", "wise"])]
        rail: String,
    },
    /// Scheduled jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run every job that is due now (idempotent) and print the report.
    RunDue,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account (the bootstrap step). The password comes from
    /// GATEHOUSE_ADMIN_PASSWORD, or is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    gatehouse::telemetry::init(&config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(config),
        Command::Admin { command: AdminCommand::Create { email, name } } => create_admin(config, &email, &name),
        Command::Jobs { command: JobsCommand::RunDue } => run_jobs(config),
        Command::Seed { contributors, records, finance_password, rail } => {
            seed(config, contributors, records, finance_password, gatehouse::payouts::model::Rail::parse(&rail))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let bind = config.bind;
        let listener = TcpListener::bind(bind).map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
        let state = AppState::with_system_clock(config)?;
        tracing::info!(%bind, backend = ?state.db.backend(), "gatehouse serving");
        Application::build(state, listener)?.run().await?;
        Ok(())
    })
}

fn migrate(config: Config) -> anyhow::Result<()> {
    let db = gatehouse::db::Db::connect(&config.database, 1)?;
    let applied = db.migrate()?;
    println!("{} migration(s) applied", applied.len());
    Ok(())
}

fn create_admin(config: Config, email: &str, name: &str) -> anyhow::Result<()> {
    let state = AppState::with_system_clock(config)?;
    let (password, generated) = match std::env::var("GATEHOUSE_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (gatehouse::crypto::random_token(), true),
    };
    let user =
        gatehouse::auth::service::create_admin(&state, email, name, &password).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("admin created: id {} <{}>", user.id, user.email);
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

fn run_jobs(config: Config) -> anyhow::Result<()> {
    let state = AppState::with_system_clock(config)?;
    let report = gatehouse::jobs::run_due(&state).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn seed(
    config: Config,
    contributors: u64,
    records: u64,
    finance_password: Option<String>,
    rail: Option<gatehouse::payouts::model::Rail>,
) -> anyhow::Result<()> {
    // Connecting applies pending migrations.
    let state = AppState::with_system_clock(config)?;
    let finance_password = finance_password
        .or_else(|| std::env::var("GATEHOUSE_BENCH_PASSWORD").ok())
        .unwrap_or_else(|| "bench-password-1".to_string());
    let opts = gatehouse::seed::SeedOptions { contributors, records, finance_password, rail };
    let report = gatehouse::seed::seed(&state, &opts)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
