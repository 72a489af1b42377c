//! The `oko` command line: parse the arguments, read the configuration,
//! call the library — `generate`, `load`, `query`, `serve`, `compact`,
//! `retention`, `erase`, `vacuum`, `user add`. What a command does lives
//! in its module (`server::serve`, `ingest`, `lifecycle`, …); here are
//! only the flags and what is printed.
//!
//! Every command takes `--store URL` (or `OKO_STORE`) and `--config FILE`
//! (or `OKO_CONFIG`); flags override the file and the environment.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use crate::config::Config;
use crate::generate::{GenerateOptions, generate};
use crate::ingest::mapping::Mapping;
use crate::ingest::rows::Encoding;
use crate::ingest::source::Format;
use crate::ingest::{LoadOptions, RejectedLoad, load};
use crate::model::Table;
use crate::store::Store;

#[derive(Parser, Debug)]
#[command(
    name = "oko",
    version,
    about = "OKO: customer-service quality analytics over Delta Lake, queried with SQL",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// Where the tables live: a local folder or s3://bucket/prefix [default: ./oko-data]
    #[arg(long, global = true, env = "OKO_STORE")]
    store: Option<String>,
    /// A TOML configuration file
    #[arg(long, global = true, env = "OKO_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a deterministic, realistic export set: one <table>.csv per table
    Generate(GenerateArgs),
    /// Load exports (CSV, JSON lines, Parquet) into the store
    Load(LoadArgs),
    /// Run SQL over the store and print the result
    Query(QueryArgs),
    /// Serve the reports over the PostgreSQL wire protocol
    Serve(ServeArgs),
    /// Run an Apache Ballista scheduler: `oko serve` and `oko query
    /// --cluster` send it their large statements, it runs them on the
    /// executors (`--store`: it opens the plans' files of that store)
    Scheduler(SchedulerArgs),
    /// Run an Apache Ballista executor with OKO's functions, reading the
    /// store (`--store`) by itself
    Executor(ExecutorArgs),
    /// Manage the users who may connect to `oko serve`
    #[command(subcommand)]
    User(UserCommand),
    /// Rewrite small files (from inserts and small loads) into large ones
    Compact(CompactArgs),
    /// Delete a tenant's leads older than a local date, with everything that hangs on them
    ///
    /// Retention deletes a tenant's leads created before a date of the
    /// tenant's own clock (`tenants.timezone`; UTC for a tenant without a
    /// row there, as in the reports), together with everything that hangs on
    /// them — their rating requests, ratings, the moderations of those ratings,
    /// notes and corrections — whatever those rows' own times; the tenant's
    /// manual_stats go by their own hour. Rows whose lead is already gone (left
    /// by an older OKO's retention, or a DELETE) go too when older than the
    /// date. Dependent rows are deleted first and leads last, so a run stopped
    /// half-way finishes when run again.
    ///
    /// Either an explicit run (--tenant T --before DATE), or the stored periods
    /// (--apply): every tenant with `[tenants.<id>] retention_days = N` in the
    /// configuration loses what is older than its local today − N days (`oko
    /// serve` applies them too, at start and then daily).
    Retention(RetentionArgs),
    /// Delete every row about one client (a privacy request)
    Erase(EraseArgs),
    /// Delete files the tables no longer reference, after a safe period
    Vacuum(VacuumArgs),
}

#[derive(Args, Debug)]
struct CompactArgs {
    /// Only this table [default: every table]
    #[arg(long)]
    table: Option<Table>,
    /// Size of the files written, in MiB
    #[arg(long, default_value_t = 128)]
    target_mb: u64,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["before", "apply"])))]
struct RetentionArgs {
    /// The tenant whose old data goes (with --apply: only this tenant's
    /// stored period)
    #[arg(long, required_unless_present = "apply")]
    tenant: Option<String>,
    /// Delete leads created before this date (2024-01-01) on the tenant's
    /// local clock, i.e. before its 00:00 there
    #[arg(long, value_parser = parse_date)]
    before: Option<chrono::NaiveDate>,
    /// Apply the stored periods of `[tenants.<id>] retention_days` from the
    /// --config file
    #[arg(long)]
    apply: bool,
    /// Count the rows that would be deleted, delete nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args, Debug)]
struct EraseArgs {
    #[arg(long)]
    tenant: String,
    /// The client id (leads.client_id) to erase
    #[arg(long)]
    client: String,
    /// Then vacuum the touched tables at once (no time travel to the erased rows)
    #[arg(long)]
    vacuum: bool,
}

#[derive(Args, Debug)]
struct VacuumArgs {
    /// Only this table [default: every table]
    #[arg(long)]
    table: Option<Table>,
    /// Keep unreferenced files younger than this many hours (running queries
    /// and time travel may still read them)
    #[arg(long, default_value_t = 168)]
    retain_hours: u64,
    /// List what would be deleted, delete nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Make a `[[users]]` entry with a SCRAM-SHA-256 verifier (never the
    /// password). The password is asked for without echo, or read from
    /// stdin when it is not a terminal. Prints the entry, or appends it to
    /// the --config file with --write.
    Add(UserAddArgs),
}

#[derive(Args, Debug)]
struct UserAddArgs {
    /// The user name clients log in with
    name: String,
    /// viewer (read), supervisor (also inserts manual contact-centre
    /// figures and lead notes), moderator (also moderates ratings, writes
    /// lead notes), admin (also inserts facts, deletes)
    #[arg(long)]
    role: crate::auth::Role,
    /// Bind the user to one tenant: it sees and writes only that tenant's rows
    #[arg(long)]
    tenant: Option<String>,
    /// Append the entry to the --config file instead of printing it
    #[arg(long)]
    write: bool,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5433]
    #[arg(long, env = "OKO_LISTEN")]
    listen: Option<String>,
    /// Serve the embedded demo dataset (no store or config needed)
    #[arg(long)]
    demo: bool,
}

#[derive(Args, Debug)]
struct SchedulerArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:50050")]
    listen: std::net::SocketAddr,
}

#[derive(Args, Debug)]
struct ExecutorArgs {
    /// The scheduler, df://HOST:PORT [default: [cluster] scheduler]
    #[arg(long, env = "OKO_CLUSTER_SCHEDULER")]
    scheduler: Option<String>,
    /// Address for Arrow Flight: the results and intermediate data other
    /// processes fetch from this executor
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
    /// Port the executor announces for Ballista's task service, which only
    /// push scheduling uses; OKO's executors ask the scheduler for tasks, so
    /// nothing listens on it [default: the --listen port + 1]
    #[arg(long)]
    grpc_port: Option<u16>,
    /// Tasks run at once [default: [cluster] executor_slots, or one per core]
    #[arg(long)]
    slots: Option<usize>,
    /// Folder for intermediate results [default: [cluster] work_dir, or a temporary folder]
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Folder to write the CSV files to
    #[arg(long)]
    out: PathBuf,
    /// Number of leads
    #[arg(long, default_value_t = 100_000)]
    leads: u64,
    /// Number of tenants (client companies)
    #[arg(long, default_value_t = 3)]
    tenants: usize,
    /// Random seed: the same seed gives byte-identical files
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First day of the period (UTC)
    #[arg(long, default_value = "2025-01-01")]
    start: chrono::NaiveDate,
    /// Length of the period in days
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Load the generated files into the store right away
    #[arg(long)]
    load: bool,
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// Files to load. Without --table, each file's name says its table
    /// (leads.csv, ratings.jsonl, …) and the tables load in dependency order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The table to load into
    #[arg(long)]
    table: Option<Table>,
    /// A mapping file (TOML) from the export's columns and values to the model
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// File format [default: from the extension]
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// CSV delimiter [default: detected from the header]
    #[arg(long)]
    delimiter: Option<char>,
    /// Text encoding [default: UTF-8, or Windows-1251 when the header is not UTF-8]
    #[arg(long, value_enum)]
    encoding: Option<EncodingArg>,
    /// Tenant of rows that have none (and the only tenant allowed in the file)
    #[arg(long)]
    tenant: Option<String>,
    /// Time zone of dates written without an offset [default: the mapping's, else UTC]
    #[arg(long)]
    timezone: Option<chrono_tz::Tz>,
    /// Validate and count, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Load the good rows even when up to N rows are bad (they go to a rejects file)
    #[arg(long, default_value_t = 0)]
    max_bad_rows: u64,
    /// Where to write bad rows [default: <file>.rejects.csv]
    #[arg(long)]
    rejects: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum EncodingArg {
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    #[value(name = "windows-1251", alias = "cp1251")]
    Windows1251,
}

#[derive(Args, Debug)]
struct QueryArgs {
    /// The SQL to run (several statements separated by `;` run in order)
    sql: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Query the embedded demo dataset instead of the store
    #[arg(long)]
    demo: bool,
    /// Run the SQL N more times after a first warm-up run and print the
    /// median time to stderr (for benchmarks)
    #[arg(long, default_value_t = 0)]
    repeat: usize,
    /// Run on the Ballista cluster of this scheduler, df://HOST:PORT
    /// [default: [cluster] scheduler]. Statements too small for it
    /// (`[cluster] min_scan_mb`) run here; where each ran is printed to
    /// stderr
    #[arg(long, env = "OKO_CLUSTER_SCHEDULER")]
    cluster: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// Runs the command line and turns errors into a message and an exit code.
pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    // Large stacks: planning recurses once per level of an expression, and
    // the server accepts up to `server::limits::MAX_OPERATORS` of them.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(64 << 20)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(rejected) = e.downcast_ref::<RejectedLoad>() {
                eprintln!("error: {rejected}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OKO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,buoyant_kernel=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<()> {
    let global_config = cli.global.config.clone();
    // `oko user add --write` may start a new config file.
    let new_file = matches!(cli.command, Command::User(_))
        && global_config.as_deref().is_some_and(|p| !p.exists());
    let mut config = if new_file {
        Config::default()
    } else {
        Config::load(cli.global.config.as_deref())?
    };
    if let Some(s) = &cli.global.store {
        config.store.url = s.clone();
    }
    match cli.command {
        Command::Generate(args) => generate_command(&config, args).await,
        Command::Load(args) => {
            let store = Store::open(&config.store)?;
            let files = args.files.clone();
            load_files(&store, files, &args).await
        }
        Command::Serve(args) => {
            if let Some(l) = args.listen {
                config.server.listen = l;
            }
            crate::server::serve::serve(
                config,
                crate::server::serve::ServeOptions { demo: args.demo },
            )
            .await
        }
        Command::Scheduler(args) => {
            let store = Store::open(&config.store)?;
            crate::cluster::processes::scheduler(args.listen, &store, &config.cluster).await
        }
        Command::Executor(args) => {
            let Some(scheduler) = args.scheduler.or(config.cluster.scheduler.clone()) else {
                bail!("which scheduler? Give --scheduler df://HOST:PORT or [cluster] scheduler");
            };
            if let Some(n) = args.slots {
                config.cluster.executor_slots = n;
            }
            if args.work_dir.is_some() {
                config.cluster.work_dir = args.work_dir;
            }
            let grpc_port = match args.grpc_port {
                Some(p) => p,
                None => args.listen.port().checked_add(1).with_context(|| {
                    format!("--listen {} leaves no port for --grpc-port", args.listen)
                })?,
            };
            let store = Store::open(&config.store)?;
            crate::cluster::processes::executor(
                &scheduler,
                crate::cluster::processes::ExecutorAddress {
                    listen: args.listen,
                    grpc_port,
                },
                &store,
                &config.cluster,
            )
            .await
        }
        Command::Compact(args) => {
            let store = Store::open(&config.store)?;
            let tables = args.table.map(|t| vec![t]).unwrap_or(Table::ALL.to_vec());
            print_changes(&crate::lifecycle::compact(&store, &tables, args.target_mb).await?);
            Ok(())
        }
        Command::Retention(args) => retention_command(&config, args).await,
        Command::Erase(args) => {
            let store = Store::open(&config.store)?;
            let changes =
                crate::lifecycle::erase(&store, &args.tenant, &args.client, &cli_user()).await?;
            print_changes(&changes);
            if args.vacuum {
                let touched: Vec<Table> = changes
                    .iter()
                    .filter(|c| c.rows_deleted > 0)
                    .filter_map(|c| Table::from_name(&c.table))
                    .collect();
                print_changes(&crate::lifecycle::vacuum(&store, &touched, 0, false).await?);
            }
            Ok(())
        }
        Command::Vacuum(args) => {
            let store = Store::open(&config.store)?;
            let tables = args.table.map(|t| vec![t]).unwrap_or(Table::ALL.to_vec());
            print_changes(
                &crate::lifecycle::vacuum(&store, &tables, args.retain_hours, args.dry_run).await?,
            );
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => user_add(&config, global_config.as_deref(), args),
        Command::Query(args) => query_command(&config, args).await,
    }
}

/// `oko generate`: the export set, and with `--load` into the store.
async fn generate_command(config: &Config, args: GenerateArgs) -> Result<()> {
    let opts = GenerateOptions {
        leads: args.leads,
        tenants: args.tenants,
        seed: args.seed,
        start: args.start,
        days: args.days,
    };
    let started = std::time::Instant::now();
    let report = generate(&args.out, &opts)?;
    for (table, n) in &report.counts {
        println!(
            "{table}: {n} rows → {}",
            args.out.join(format!("{table}.csv")).display()
        );
    }
    eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());
    if args.load {
        let store = Store::open(&config.store)?;
        let files: Vec<PathBuf> = Table::EXPORTED
            .iter()
            .map(|t| args.out.join(format!("{}.csv", t.name())))
            .collect();
        load_files(&store, files, &LoadArgs::for_files()).await?;
    }
    Ok(())
}

/// `oko query`: statements in order, the last one's rows printed;
/// `--repeat` times the runs after a warm-up.
async fn query_command(config: &Config, args: QueryArgs) -> Result<()> {
    let (store, _demo_dir) = if args.demo {
        let (store, dir) = crate::demo::store().await?;
        (store, Some(dir))
    } else {
        (Store::open(&config.store)?, None)
    };
    crate::engine::reports::check_settings(&config.reports)?;
    let cluster = match args.cluster.as_ref().or(config.cluster.scheduler.as_ref()) {
        Some(url) => Some(crate::cluster::Cluster::new(
            url,
            config.cluster.min_scan_mb,
        )?),
        None => None,
    };
    // A cluster reads live tables' snapshots with plain scans.
    let ctx = match cluster {
        Some(_) => crate::live::session(&store, &config.reports).await?,
        None => crate::engine::session(&store, &config.reports).await?,
    };
    let mut last = (
        std::sync::Arc::new(datafusion::arrow::datatypes::Schema::empty()),
        Vec::new(),
    );
    let mut times = Vec::new();
    for run in 0..=args.repeat {
        let started = std::time::Instant::now();
        for statement in crate::engine::sql::split_statements(&args.sql) {
            let df = ctx
                .sql(&statement)
                .await
                .with_context(|| format!("query failed: {statement}"))?;
            let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
            let batches = match &cluster {
                Some(cluster) => {
                    let (stream, place) = cluster.stream(df).await.context("query failed")?;
                    if run == 0 {
                        eprintln!("{place}");
                    }
                    datafusion::physical_plan::common::collect(stream)
                        .await
                        .context("query failed")?
                }
                None => df.collect().await.context("query failed")?,
            };
            last = (schema, batches);
        }
        if run > 0 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    if !times.is_empty() {
        times.sort_by(|a, b| a.total_cmp(b));
        let rows: usize = last.1.iter().map(|b| b.num_rows()).sum();
        eprintln!(
            "{} runs after a warm-up: median {:.1} ms, min {:.1} ms, {rows} rows",
            times.len(),
            times[times.len() / 2],
            times[0]
        );
    }
    print_batches(&last.0, &last.1, args.format)
}

impl LoadArgs {
    fn for_files() -> LoadArgs {
        LoadArgs {
            files: vec![],
            table: None,
            mapping: None,
            format: None,
            delimiter: None,
            encoding: None,
            tenant: None,
            timezone: None,
            dry_run: false,
            max_bad_rows: 0,
            rejects: None,
        }
    }
}

fn print_changes(changes: &[crate::lifecycle::TableChange]) {
    for c in changes {
        println!("{c}");
    }
}

/// Who runs a maintenance command (recorded in the commit).
fn cli_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "oko-cli".into())
}

/// `oko retention`: one tenant before a date, or the stored periods.
async fn retention_command(config: &Config, args: RetentionArgs) -> Result<()> {
    crate::lifecycle::check_tenant_settings(&config.tenants)?;
    let store = Store::open(&config.store)?;
    let user = cli_user();
    if let Some(before) = args.before {
        // clap requires --tenant without --apply.
        let tenant = args.tenant.as_deref().unwrap_or_default();
        let done = crate::lifecycle::retention(&store, tenant, before, &user, args.dry_run).await?;
        println!("{done}");
        return Ok(());
    }
    let periods = crate::lifecycle::retention_periods(&config.tenants);
    if periods.is_empty() {
        bail!(
            "no tenant has a stored retention period: add `[tenants.<id>] retention_days = N` \
             to the --config file, or run `oko retention --tenant T --before DATE`"
        );
    }
    if let Some(t) = &args.tenant
        && !periods.iter().any(|(p, _)| p == t)
    {
        bail!("tenant {t} has no `retention_days` in [tenants.{t}] of the configuration");
    }
    let results = crate::lifecycle::apply_retention_periods(
        &store,
        &config.tenants,
        args.tenant.as_deref(),
        chrono::Utc::now(),
        &user,
        args.dry_run,
    )
    .await;
    let mut failed = Vec::new();
    for (tenant, result) in results {
        match result {
            Ok(done) => println!("{done}"),
            Err(e) => {
                eprintln!("tenant {tenant}: retention failed: {e:#}");
                failed.push(tenant);
            }
        }
    }
    if !failed.is_empty() {
        bail!("retention failed for {}", failed.join(", "));
    }
    Ok(())
}

/// A calendar date, `YYYY-MM-DD`.
fn parse_date(text: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
        format!(
            "`{text}` is not a date (2024-01-01); retention keeps or deletes whole days of \
             the tenant's clock, so it takes no time of day"
        )
    })
}

/// `oko user add`: a verifier from a password read without echo.
fn user_add(config: &Config, path: Option<&Path>, args: UserAddArgs) -> Result<()> {
    use std::io::{BufRead, IsTerminal};
    if config.users.iter().any(|u| u.name == args.name) {
        bail!("user {} is already in the configuration", args.name);
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {}: ", args.name))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    let entry = crate::auth::UserConfig {
        name: args.name.clone(),
        role: args.role,
        tenant: args.tenant,
        password: crate::auth::Verifier::new(&password)?.to_string(),
    };
    entry.check()?;
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        users: [&'a crate::auth::UserConfig; 1],
    }
    let text = toml::to_string(&Entry { users: [&entry] })?;
    if args.write {
        let Some(path) = path else {
            bail!("--write needs --config FILE (the file to add the user to)");
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        use std::io::Write;
        write!(file, "\n{text}")?;
        eprintln!(
            "user {} ({}) added to {}",
            entry.name,
            entry.role,
            path.display()
        );
    } else {
        print!("{text}");
    }
    Ok(())
}

/// Loads files: into `--table`, or each into the table its name says.
async fn load_files(store: &Store, files: Vec<PathBuf>, args: &LoadArgs) -> Result<()> {
    let (mapping, mapping_text) = match &args.mapping {
        Some(p) => {
            let m = Mapping::load(p)?;
            let text = std::fs::read_to_string(p).unwrap_or_default();
            (m, text)
        }
        None => (Mapping::default(), String::new()),
    };
    let mut groups: Vec<(Table, Vec<PathBuf>)> = Vec::new();
    let explicit = args
        .table
        .or_else(|| mapping.table.as_deref().and_then(Table::from_name));
    match explicit {
        Some(t) => groups.push((t, files)),
        None => {
            for f in files {
                let t = table_of_file(&f)?;
                match groups.iter_mut().find(|(g, _)| *g == t) {
                    Some((_, list)) => list.push(f),
                    None => groups.push((t, vec![f])),
                }
            }
            groups.sort_by_key(|(t, _)| *t as usize);
        }
    }
    for f in groups.iter().flat_map(|(_, fs)| fs) {
        if !f.is_file() {
            bail!("{} does not exist or is not a file", f.display());
        }
    }
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (table, files) in groups {
        let opts = LoadOptions {
            table,
            files,
            mapping: mapping.clone(),
            mapping_text: mapping_text.clone(),
            format: args.format,
            delimiter: args.delimiter.map(|c| c as u8),
            encoding: args.encoding.map(|e| match e {
                EncodingArg::Utf8 => Encoding::Utf8,
                EncodingArg::Windows1251 => Encoding::Windows1251,
            }),
            tenant: args.tenant.clone(),
            timezone: args.timezone,
            dry_run: args.dry_run,
            max_bad_rows: args.max_bad_rows,
            rejects: args.rejects.clone(),
            progress: interactive,
        };
        let report = load(store, opts).await?;
        for b in report.bad_rows.iter().take(20) {
            eprintln!("bad row: {b}");
        }
        println!("{}", report.summary());
    }
    Ok(())
}

/// `exports/leads.csv` → `leads`.
fn table_of_file(path: &Path) -> Result<Table> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').next())
        .unwrap_or_default();
    stem.parse::<Table>().map_err(|e| {
        anyhow::anyhow!(
            "cannot tell which table {} is for ({e}); pass --table",
            path.display()
        )
    })
}

/// Prints a result with every value as PostgreSQL writes it in text format
/// (the server's encoder, [`crate::server::encode`]): lists as `{a,b}`,
/// timestamps as `2026-06-01 10:00:00`, intervals as `1 day 02:00:00`.
///
/// - `csv`: what psql's `\copy (…) to stdout csv header` writes (the
///   server's COPY writer): NULL empty, an empty string `""`;
/// - `json`: one object per row, keys in column order, NULL as `null`;
///   numbers, booleans and lists (JSON arrays) as JSON values, the rest as
///   their PostgreSQL text;
/// - `table`: the PostgreSQL text in an aligned table.
fn print_batches(schema: &SchemaRef, batches: &[RecordBatch], format: OutputFormat) -> Result<()> {
    use std::io::Write;
    let fields = pg_fields(schema)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        OutputFormat::Table => {
            // No batch at all still prints the column names.
            let empty = [RecordBatch::new_empty(schema.clone())];
            let batches: &[RecordBatch] = if batches.is_empty() { &empty } else { batches };
            let text: Vec<RecordBatch> = batches
                .iter()
                .map(|b| text_batch(b, &fields, |_| true))
                .collect::<Result<_>>()?;
            let table = datafusion::arrow::util::pretty::pretty_format_batches(&text)?;
            writeln!(out, "{table}")?;
        }
        OutputFormat::Csv => {
            use crate::server::copy_out::{Kind, Options, Writer};
            let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
            let mut writer = Writer::new(Options::new(Kind::Csv, true), &names)?;
            if let Some(header) = writer.header() {
                out.write_all(&header)?;
            }
            for b in batches {
                for row in crate::server::encode::encode_batch(b, &fields) {
                    out.write_all(&writer.row(&row?))?;
                }
            }
        }
        OutputFormat::Json => {
            let mut w = datafusion::arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, datafusion::arrow::json::writer::LineDelimited>(&mut out);
            for b in batches {
                w.write(&text_batch(b, &fields, |t| !is_json_value(t))?)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

/// The result's columns as the server describes them: PostgreSQL names
/// and types, text format, the server's default `DateStyle`.
fn pg_fields(schema: &SchemaRef) -> Result<std::sync::Arc<Vec<pgwire::api::results::FieldInfo>>> {
    let options = crate::pg_compat::vars::Vars::default().format_options();
    Ok(crate::server::encode::fields(
        schema,
        &pgwire::api::portal::Format::UnifiedText,
        std::sync::Arc::new(options),
    )?)
}

/// Values JSON has a form for, written as such: numbers, booleans, text,
/// and lists and structs of them.
fn is_json_value(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            is_json_value(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().all(|f| is_json_value(f.data_type())),
        DataType::Dictionary(_, v) => is_json_value(v),
        t => {
            t.is_numeric()
                || matches!(
                    t,
                    DataType::Boolean
                        | DataType::Null
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                )
        }
    }
}

/// `batch` with the columns whose type `as_text` picks replaced by their
/// PostgreSQL text (NULL stays NULL).
fn text_batch(
    batch: &RecordBatch,
    fields: &[pgwire::api::results::FieldInfo],
    as_text: impl Fn(&DataType) -> bool,
) -> Result<RecordBatch> {
    use datafusion::arrow::array::{ArrayRef, StringBuilder};
    use datafusion::arrow::datatypes::{Field, Schema};
    let picked: Vec<bool> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| as_text(f.data_type()))
        .collect();
    let mut texts: Vec<StringBuilder> = picked.iter().map(|_| StringBuilder::new()).collect();
    let encoded = crate::server::encode::encode_batch(batch, &std::sync::Arc::new(fields.to_vec()));
    for row in encoded {
        let row = row?;
        for (i, value) in crate::server::copy_out::values(&row)
            .into_iter()
            .enumerate()
        {
            if let (Some(builder), true) = (texts.get_mut(i), picked.get(i) == Some(&true)) {
                builder.append_option(value.map(String::from_utf8_lossy));
            }
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(picked.len());
    let mut out_fields = Vec::with_capacity(picked.len());
    for (i, (mut text, picked)) in texts.into_iter().zip(picked).enumerate() {
        let name = fields.get(i).map_or("?column?", |f| f.name());
        if picked {
            columns.push(std::sync::Arc::new(text.finish()));
            out_fields.push(Field::new(name, DataType::Utf8, true));
        } else {
            columns.push(batch.column(i).clone());
            out_fields.push(batch.schema().field(i).clone().with_name(name));
        }
    }
    Ok(RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(out_fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_name_tables() {
        assert_eq!(
            table_of_file(Path::new("x/leads.csv")).unwrap(),
            Table::Leads
        );
        assert_eq!(
            table_of_file(Path::new("ratings.2024.jsonl")).unwrap(),
            Table::Ratings
        );
        assert!(table_of_file(Path::new("calls.csv")).is_err());
    }
}
