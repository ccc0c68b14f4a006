use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse::config::Config;
use gatehouse::{AppState, Application};

/// What every subcommand reads from the environment.
const ENV_COMMON: &str = "Environment:
  DATABASE_URL              postgres://… or sqlite://… (default: sqlite in GATEHOUSE_DATA_DIR)
  GATEHOUSE_DATA_DIR        data directory: SQLite file, files, .eml spool, generated keys (./data)
  GATEHOUSE_ENCRYPTION_KEY  field and file encryption keys, `N:base64` list (generated on SQLite)
  GATEHOUSE_JWT_SECRET      access-token signing secret (generated on SQLite)
  GATEHOUSE_FILE_STORE      `local` or `s3` (then GATEHOUSE_S3_BUCKET, _REGION, _ENDPOINT, …)
  GATEHOUSE_DB_POOL_SIZE    database connections (4 per core, 4–32)
  GATEHOUSE_LOG_FORMAT      `text` or `json`; RUST_LOG filters (info)";

const ENV_SERVE: &str = "Environment (besides those of every subcommand: DATABASE_URL, GATEHOUSE_DATA_DIR,
GATEHOUSE_ENCRYPTION_KEY, GATEHOUSE_JWT_SECRET, GATEHOUSE_FILE_STORE, GATEHOUSE_DB_POOL_SIZE,
GATEHOUSE_LOG_FORMAT, RUST_LOG):
  GATEHOUSE_BIND            address to listen on (127.0.0.1:8080)
  GATEHOUSE_PUBLIC_URL      base of the links in emails
  SMTP_URL                  smtp://…, smtps://…; unset: emails are .eml files in GATEHOUSE_DATA_DIR/mail
  GATEHOUSE_MAIL_FROM       sender of every email
  GATEHOUSE_JOB_INTERVAL_SECS  how often the scheduled jobs run
  GATEHOUSE_JWT_PREVIOUS_SECRET, GATEHOUSE_JWT_PREVIOUS_UNTIL  JWT rotation grace
  and the business settings (hold days, review window, payout minimum, login limits,
  NACHA and payer identity, …) listed in docs/deploy.md";

const ENV_ADMIN: &str = "Environment: GATEHOUSE_ADMIN_PASSWORD (the new admin's password; else generated and
printed once), and those of every subcommand: DATABASE_URL, GATEHOUSE_DATA_DIR,
GATEHOUSE_ENCRYPTION_KEY, GATEHOUSE_JWT_SECRET, GATEHOUSE_DB_POOL_SIZE, RUST_LOG";

const ENV_SEED: &str = "Environment: GATEHOUSE_BENCH_PASSWORD (the finance users' password), and those of every
subcommand: DATABASE_URL, GATEHOUSE_DATA_DIR, GATEHOUSE_ENCRYPTION_KEY, GATEHOUSE_JWT_SECRET";

/// Gatehouse back office. With no subcommand it serves the API.
#[derive(Parser)]
#[command(version, about, after_help = ENV_COMMON)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    #[command(after_help = ENV_SERVE)]
    Serve,
    /// Apply pending database migrations and exit.
    #[command(after_help = ENV_COMMON)]
    Migrate,
    /// Administrator accounts.
    #[command(after_help = ENV_ADMIN)]
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Write a benchmark data set with bulk SQL: N contributors ready to be paid and M
    /// approved work records (their pay available), plus two finance users.
    #[command(after_help = ENV_SEED)]
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
    #[command(after_help = ENV_COMMON)]
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// The file store's objects: backup, restore, verification (docs/deploy.md).
    #[command(after_help = ENV_COMMON)]
    Files {
        #[command(subcommand)]
        command: FilesCommand,
    },
    /// Key rotation (docs/deploy.md).
    #[command(after_help = ENV_COMMON)]
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum FilesCommand {
    /// Copy every object the database names, sealed as stored, into a directory
    /// (incremental). Run right after the database dump.
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put every object of a backup directory into the configured store.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Read and decrypt every file the database names; fails naming the unreadable ones.
    Verify,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// The encryption key ring and what each key still seals.
    Status,
    /// Add a new encryption key. Kept in a file (SQLite default): written as the current
    /// key, used from the next start. From GATEHOUSE_ENCRYPTION_KEY: prints the two values
    /// to roll out, one after the other, on every instance.
    Rotate,
    /// Re-encrypt every field and file not sealed with the current key, in batches that
    /// each commit; stopped anywhere, the next run goes on.
    Reencrypt {
        #[arg(long, default_value_t = 500)]
        batch_size: i64,
        /// Stop after this many batches (run again to go on).
        #[arg(long)]
        max_batches: Option<u64>,
    },
    /// Remove an encryption key from the ring, refused while anything still uses it.
    Retire {
        #[arg(long)]
        version: u32,
    },
    /// Replace the JWT signing secret; the previous one verifies tokens it signed for
    /// the access-token lifetime (plus a minute, or an hour to roll out variables), then
    /// is ignored.
    RotateJwt,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run every job that is due now (idempotent) and print the report.
    RunDue,
    /// Run the standing job now, under its lease, and print its report (with its time).
    Standing,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account (the bootstrap step). The password comes from
    /// GATEHOUSE_ADMIN_PASSWORD, or is generated and printed once.
    #[command(after_help = ENV_ADMIN)]
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
        Command::Jobs { command: JobsCommand::Standing } => run_standing(config),
        Command::Keys { command } => keys(config, command),
        Command::Files { command } => files(config, command),
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

fn run_standing(config: Config) -> anyhow::Result<()> {
    use gatehouse::jobs::lease::{self, Mode};
    let state = AppState::with_system_clock(config)?;
    let report = lease::run(&state, "standing", Mode::Now, gatehouse::quality::service::run_standing)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn files(config: Config, command: FilesCommand) -> anyhow::Result<()> {
    use gatehouse::files::backup;
    let blobs = config.file_store.blobs()?;
    let state = AppState::with_system_clock(config)?;
    let fail = |e: gatehouse::error::AppError| anyhow::anyhow!("{e}");
    match command {
        FilesCommand::Backup { to } => {
            let report = backup::backup(&state, blobs.as_ref(), &to).map_err(fail)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            anyhow::ensure!(report.missing.is_empty(), "{} object(s) missing from the store", report.missing.len());
        }
        FilesCommand::Restore { from } => {
            let report = backup::restore(blobs.as_ref(), &from).map_err(fail)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        FilesCommand::Verify => {
            let report = backup::verify(&state).map_err(fail)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            anyhow::ensure!(report.unreadable.is_empty(), "{} file(s) unreadable", report.unreadable.len());
        }
    }
    Ok(())
}

fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    use gatehouse::keys::{rotation, KeySource};
    let ring = config.keys.encryption.clone();
    match command {
        KeysCommand::Status => {
            let state = AppState::with_system_clock(config)?;
            println!("current key: v{}", ring.current());
            for (version, _) in &ring.entries {
                let usage = rotation::usage(&state, *version).map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("v{version}: {}", serde_json::to_string(&usage)?);
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            let (version, with_new) = ring.with_new_key();
            let promoted = with_new.promote(version).expect("the new key is in the ring");
            match &config.keys.encryption_source {
                KeySource::File(path) => {
                    gatehouse::keys::write_key_file(path, &promoted.render(), false)?;
                    println!("key v{version} added to {} and current from the next start;", path.display());
                    println!("restart, then run `gatehouse keys reencrypt`");
                }
                KeySource::Environment => {
                    println!("key v{version} generated. Roll out in two steps, on every instance:");
                    println!(
                        "1. every instance can read v{version}:\n   GATEHOUSE_ENCRYPTION_KEY={}",
                        with_new.render()
                    );
                    println!("2. then new writes use v{version}:\n   GATEHOUSE_ENCRYPTION_KEY={}", promoted.render());
                    println!(
                        "3. then `gatehouse keys reencrypt`, and `gatehouse keys retire --version N` for each old key"
                    );
                }
            }
            Ok(())
        }
        KeysCommand::Reencrypt { batch_size, max_batches } => {
            anyhow::ensure!(batch_size >= 1, "--batch-size must be at least 1");
            let state = AppState::with_system_clock(config)?;
            let report = rotation::reencrypt(&state, batch_size, max_batches).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            anyhow::ensure!(
                report.failed.is_empty(),
                "{} value(s) did not decrypt with any key of the ring",
                report.failed.len()
            );
            Ok(())
        }
        KeysCommand::Retire { version } => {
            let remaining = ring
                .without(version)
                .ok_or_else(|| anyhow::anyhow!("v{version} is the current key or not in the ring; rotate first"))?;
            let state = AppState::with_system_clock(config.clone())?;
            let usage = rotation::usage(&state, version).map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(
                usage.total() == 0,
                "v{version} still seals {} value(s): {}; run `gatehouse keys reencrypt` first",
                usage.total(),
                serde_json::to_string(&usage)?
            );
            match &config.keys.encryption_source {
                KeySource::File(path) => {
                    gatehouse::keys::write_key_file(path, &remaining.render(), false)?;
                    println!("v{version} removed from {}; restart to forget it", path.display());
                }
                KeySource::Environment => {
                    println!(
                        "nothing uses v{version}. On every instance:\n   GATEHOUSE_ENCRYPTION_KEY={}",
                        remaining.render()
                    );
                }
            }
            Ok(())
        }
        KeysCommand::RotateJwt => {
            let ttl = chrono::Duration::from_std(config.auth.access_token_ttl)?;
            // Files take effect at the next start; variables when the operator has rolled
            // them out, so that way the grace leaves an hour for the rollout.
            let rollout = match config.keys.jwt_source {
                KeySource::File(_) => chrono::Duration::minutes(1),
                KeySource::Environment => chrono::Duration::hours(1),
            };
            let until = chrono::Utc::now() + ttl + rollout;
            let stamp = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            match &config.keys.jwt_source {
                KeySource::File(path) => {
                    let dir = path.parent().expect("a key file has a directory");
                    gatehouse::keys::rotate_jwt_files(dir, &config.keys.jwt_secret, until)?;
                    println!(
                        "new JWT secret in {}; the previous one is accepted until {stamp}; restart",
                        path.display()
                    );
                }
                KeySource::Environment => {
                    use base64::Engine;
                    let previous = base64::engine::general_purpose::STANDARD.encode(&config.keys.jwt_secret);
                    println!("On every instance, then restart them:");
                    println!("GATEHOUSE_JWT_SECRET={}", gatehouse::keys::new_jwt_secret());
                    println!("GATEHOUSE_JWT_PREVIOUS_SECRET={previous}");
                    println!("GATEHOUSE_JWT_PREVIOUS_UNTIL={stamp}");
                }
            }
            Ok(())
        }
    }
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
