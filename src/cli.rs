//! The command line: `serve`, `migrate`, `token create|list|revoke`, `config check`,
//! `vendor add|list|catalog`, `user create|list|reset-password` (in `cli/user.rs`).
//!
//! Every command that touches data takes the same `--config`, `--data-dir` and
//! `--database-url` as `serve`, so `pharos token create` writes to the database that
//! `pharos serve` reads. Output meant for people goes to stdout; logs go to stderr.
//!
//! The responder commands (`incident`, `component`, `status`, in `cli/remote.rs`) are the
//! exception: they are clients of a running server's HTTP APIs and never open the database.

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config, LogFormat, Overrides};
use crate::domain::TokenScope;
use crate::events::Actor;
use crate::store::Store;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod remote;
mod user;

#[derive(Debug, Parser)]
#[command(
    name = "pharos",
    version,
    about = "Self-hosted status page, uptime monitor and vendor-outage tracker",
    long_about = "Pharos answers two questions for an operations team and its customers: is it up, \
and if not, what are we telling people?\n\nStart it with `pharos serve`: with no flags it keeps its \
data in ./pharos-data/ (SQLite) and listens on 127.0.0.1:8080."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "PHAROS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the SQLite database and other data [default: ./pharos-data]
    #[arg(long, global = true, env = "PHAROS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://USER:PASSWORD@HOST/DB or sqlite://PATH [default: SQLite in the data folder]
    #[arg(
        long,
        global = true,
        env = "PHAROS_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, global = true, env = "PHAROS_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the status page, the API and the background work.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "PHAROS_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage API tokens for /api/v1.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Follow third-party status pages (vendors).
    #[command(subcommand)]
    Vendor(VendorCommand),
    /// Manage accounts of the web UI (/admin).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Open, update, resolve and list incidents on a running server (PHAROS_URL, PHAROS_TOKEN).
    #[command(subcommand, after_help = remote::REMOTE_HELP)]
    Incident(remote::IncidentCommand),
    /// Set and list component statuses on a running server (PHAROS_URL, PHAROS_TOKEN).
    #[command(subcommand, after_help = remote::REMOTE_HELP)]
    Component(remote::ComponentCommand),
    /// Print the status page of a running server in the terminal (PHAROS_URL; no token).
    Status(remote::StatusArgs),
}

#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// Follow a vendor: a slug from the catalog (`pharos vendor add github`) or a status page
    /// URL, whose format is detected unless --adapter names it.
    Add {
        /// A catalog slug (see `pharos vendor catalog`) or an http(s) status page URL.
        vendor: String,
        /// The name to show [default: the catalog's, or the one the page gives].
        #[arg(long)]
        name: Option<String>,
        /// The slug in /vendors/{slug} [default: the catalog's, or one made from the name].
        #[arg(long)]
        slug: Option<String>,
        /// The source format, when not detected (statuspage, statuspage_feed, feed, ...).
        #[arg(long)]
        adapter: Option<String>,
        /// The endpoint to fetch, when the adapter cannot derive it from the page URL.
        #[arg(long)]
        source_url: Option<String>,
        /// Seconds between polls, 30 to 86400.
        #[arg(long, default_value_t = crate::vendor::record::DEFAULT_POLL_SECS)]
        interval: u64,
    },
    /// List followed vendors and the state of their sources.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Search the catalog of well-known vendors (all of it without a query).
    Catalog {
        /// Words to look for in slugs, names and categories.
        query: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its hash is stored.
    Create {
        /// A name to recognise and revoke it by (letters, digits, `.`, `_`, `-`).
        #[arg(long)]
        name: String,
        /// What it may do: read (GET only), write (also changes), admin (everything).
        #[arg(long, value_enum, default_value_t = ScopeArg::Write)]
        scope: ScopeArg,
    },
    /// List tokens (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke the active token with this name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (and the PHAROS_* environment) and print what is wrong.
    Check {
        /// The file to check [default: --config]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    Read,
    Write,
    Admin,
}

impl From<ScopeArg> for TokenScope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Read => TokenScope::Read,
            ScopeArg::Write => TokenScope::Write,
            ScopeArg::Admin => TokenScope::Admin,
        }
    }
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn overrides(global: &GlobalArgs, listen: Option<String>) -> Overrides {
    Overrides {
        config_file: global.config.clone(),
        listen,
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        log_format: global.log_format.clone(),
    }
}

fn load_config(overrides: &Overrides) -> Result<Config, ExitCode> {
    config::load(overrides, &env_lookup).map_err(|err| {
        eprintln!("error: the configuration is not valid:");
        for problem in &err.problems {
            eprintln!("  - {problem}");
        }
        ExitCode::from(2)
    })
}

fn init_tracing(format: LogFormat, level: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("{level},sqlx=warn,tower_http=warn"))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::FAILURE
}

/// Runs a parsed command line; the exit code says how it went.
pub async fn run(cli: Cli) -> ExitCode {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { listen } => {
            let config = match load_config(&overrides(&cli.global, listen)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(config.log_format, &config.log_level);
            serve(config, clock).await
        }
        Command::Migrate => {
            let config = match load_config(&overrides(&cli.global, None)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(config.log_format, &config.log_level);
            match crate::app::open_store(&config, clock).await {
                Ok(store) => {
                    let versions = store.applied_migrations().await.unwrap_or_default();
                    println!(
                        "database is at schema version {}",
                        versions.last().copied().unwrap_or(0)
                    );
                    store.close().await;
                    ExitCode::SUCCESS
                }
                Err(err) => fail(format!("{err:#}")),
            }
        }
        Command::Token(cmd) => {
            let config = match load_config(&overrides(&cli.global, None)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(config.log_format, "warn");
            let store = match crate::app::open_store(&config, clock).await {
                Ok(s) => s,
                Err(err) => return fail(format!("{err:#}")),
            };
            let code = token_command(&store, cmd).await;
            store.close().await;
            code
        }
        Command::User(cmd) => {
            let config = match load_config(&overrides(&cli.global, None)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(config.log_format, "warn");
            let store = match crate::app::open_store(&config, clock).await {
                Ok(s) => s,
                Err(err) => return fail(format!("{err:#}")),
            };
            let code = user::run(&store, cmd).await;
            store.close().await;
            code
        }
        Command::Incident(cmd) => remote::incident(cmd, &*clock).await,
        Command::Component(cmd) => remote::component(cmd).await,
        Command::Status(args) => remote::status(args, &*clock).await,
        Command::Vendor(VendorCommand::Catalog { query }) => vendor_catalog(query.as_deref()),
        Command::Vendor(cmd) => {
            let config = match load_config(&overrides(&cli.global, None)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(config.log_format, "warn");
            let store = match crate::app::open_store(&config, clock.clone()).await {
                Ok(s) => s,
                Err(err) => return fail(format!("{err:#}")),
            };
            let code = vendor_command(&store, &*clock, cmd).await;
            store.close().await;
            code
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let mut o = overrides(&cli.global, None);
            if file.is_some() {
                o.config_file = file;
            }
            let Some(path) = o.config_file.clone() else {
                return fail("no file to check: give one (`pharos config check FILE`) or --config");
            };
            match load_config(&o) {
                Ok(c) => {
                    println!(
                        "{}: valid ({} component groups, {} components, {} monitors, {} vendors declared; database {})",
                        path.display(),
                        c.groups.len(),
                        c.components.len(),
                        c.monitors.len(),
                        c.vendors.follow.len(),
                        config::redact_url(&c.database_url)
                    );
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
    }
}

async fn serve(config: Config, clock: Arc<dyn Clock>) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(err) => {
            return fail(format!(
                "cannot listen on {}: {err}; choose another address with --listen",
                config.listen
            ))
        }
    };
    let database = config::redact_url(&config.database_url);
    let app = match crate::app::App::build(config, clock).await {
        Ok(app) => app,
        Err(err) => return fail(format!("{err:#}")),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Handle SIGTERM from here on: whoever waits for the line below may send it at once.
    let shutdown = crate::app::shutdown_signal();
    tracing::info!(database = %database, "pharos listening on http://{addr}");
    match app.run(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(format!("{err:#}")),
    }
}

fn valid_token_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

async fn token_command(store: &dyn Store, cmd: TokenCommand) -> ExitCode {
    match cmd {
        TokenCommand::Create { name, scope } => {
            if !valid_token_name(&name) {
                return fail(format!(
                    "`{name}` is not a token name; use 1 to 64 letters, digits, `.`, `_` or `-`"
                ));
            }
            let issued = crate::token::issue();
            match store
                .create_token(
                    issued.id,
                    &name,
                    scope.into(),
                    &issued.secret_hash,
                    &Actor::cli(),
                )
                .await
            {
                Ok(token) => {
                    println!("{}", issued.text);
                    eprintln!(
                        "created token `{}` with scope `{}`; it is shown only once, store it now",
                        token.name, token.scope
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => fail(err),
            }
        }
        TokenCommand::List { json } => match store.list_tokens().await {
            Ok(tokens) => {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&tokens).expect("serialise")
                    );
                } else {
                    println!(
                        "{:<24} {:<6} {:<8} {:<21} LAST USED",
                        "NAME", "SCOPE", "STATE", "CREATED"
                    );
                    for t in tokens {
                        let state = if t.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        let created = t.created_at.0.format("%Y-%m-%d %H:%M UTC").to_string();
                        let used = t
                            .last_used_at
                            .map(|u| u.0.format("%Y-%m-%d %H:%M UTC").to_string())
                            .unwrap_or_else(|| "never".into());
                        println!(
                            "{:<24} {:<6} {:<8} {:<21} {used}",
                            t.name, t.scope, state, created
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(err) => fail(err),
        },
        TokenCommand::Revoke { name } => match store.revoke_token(&name, &Actor::cli()).await {
            Ok(token) => {
                println!("revoked token `{}`", token.name);
                ExitCode::SUCCESS
            }
            Err(err) => fail(err),
        },
    }
}

fn vendor_catalog(query: Option<&str>) -> ExitCode {
    use crate::vendor::catalog;
    let entries: Vec<&catalog::CatalogEntry> = match query {
        Some(q) => catalog::search(q),
        None => catalog::catalog().iter().collect(),
    };
    if entries.is_empty() {
        return fail(format!(
            "no vendor in the catalog matches `{}`; follow it by its status page URL instead: pharos vendor add https://status.example.com",
            query.unwrap_or_default()
        ));
    }
    println!(
        "{:<28} {:<32} {:<14} {:<16} PAGE",
        "SLUG", "NAME", "CATEGORY", "ADAPTER"
    );
    for e in entries {
        println!(
            "{:<28} {:<32} {:<14} {:<16} {}",
            e.slug,
            e.name,
            e.category.as_str(),
            e.adapter.as_str(),
            e.page_url
        );
    }
    ExitCode::SUCCESS
}

async fn vendor_command(store: &dyn Store, clock: &dyn Clock, cmd: VendorCommand) -> ExitCode {
    use crate::vendor::record::{check_url, slugify, validate_vendor, NewVendor};
    match cmd {
        VendorCommand::Add {
            vendor,
            name,
            slug,
            adapter,
            source_url,
            interval,
        } => {
            let adapter = match adapter
                .map(|a| a.parse::<crate::vendor::adapter::AdapterKind>())
                .transpose()
            {
                Ok(a) => a,
                Err(err) => return fail(err),
            };
            let looks_like_url = vendor.contains("://");
            let (page_url, adapter, source_url, default_name, default_slug) = if looks_like_url {
                let page = match check_url(&vendor) {
                    Ok(u) => u,
                    Err(problem) => return fail(problem),
                };
                match adapter {
                    Some(a) => (vendor.clone(), a, source_url, None, None),
                    None => {
                        let probe = match &source_url {
                            Some(s) => match check_url(s) {
                                Ok(u) => u,
                                Err(problem) => return fail(format!("--source-url: {problem}")),
                            },
                            None => page.clone(),
                        };
                        eprintln!("detecting the format of {probe} ...");
                        match crate::vendor::detect::detect(
                            &crate::vendor::fetch::Fetcher::default(),
                            &probe,
                            clock.now(),
                        )
                        .await
                        {
                            Ok(found) => (
                                vendor.clone(),
                                found.adapter,
                                source_url.or(found.source_url),
                                found.page_name,
                                None,
                            ),
                            Err(err) => return fail(err),
                        }
                    }
                }
            } else {
                let Some(entry) = crate::vendor::catalog::find(&vendor.to_ascii_lowercase()) else {
                    let near: Vec<&str> = crate::vendor::catalog::search(&vendor)
                        .iter()
                        .take(5)
                        .map(|e| e.slug.as_str())
                        .collect();
                    let hint = if near.is_empty() {
                        "see `pharos vendor catalog`, or give the status page URL".to_string()
                    } else {
                        format!("did you mean {}?", near.join(", "))
                    };
                    return fail(format!("`{vendor}` is not in the catalog; {hint}"));
                };
                (
                    entry.page_url.clone(),
                    adapter.unwrap_or(entry.adapter),
                    source_url.or(entry.source_url.clone()),
                    Some(entry.name.clone()),
                    Some(entry.slug.clone()),
                )
            };
            let name = name.or(default_name).unwrap_or_else(|| {
                url::Url::parse(&page_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "vendor".into())
            });
            let slug = slug.or(default_slug).unwrap_or_else(|| slugify(&name));
            let problems = validate_vendor(&slug, &page_url, source_url.as_deref(), interval);
            if !problems.is_empty() {
                return fail(problems.join("; "));
            }
            let new = NewVendor {
                slug,
                name,
                page_url,
                source_url,
                adapter,
                poll_interval_seconds: interval,
                components_of_interest: Vec::new(),
                enabled: true,
                managed_by: crate::domain::ManagedBy::Api,
                config_key: None,
            };
            match store.create_vendor(new, &Actor::cli()).await {
                Ok(v) => {
                    println!(
                        "following {} as `{}` ({} adapter, every {} s): /vendors/{}",
                        v.name, v.slug, v.adapter, v.poll_interval_seconds, v.slug
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => fail(err),
            }
        }
        VendorCommand::List { json } => match store.all_vendors().await {
            Ok(vendors) => {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&vendors).expect("serialise")
                    );
                    return ExitCode::SUCCESS;
                }
                println!(
                    "{:<24} {:<28} {:<16} {:<12} LAST CHECKED",
                    "SLUG", "NAME", "ADAPTER", "SOURCE"
                );
                for v in vendors {
                    let state = if v.enabled {
                        v.source_state.as_str()
                    } else {
                        "disabled"
                    };
                    let checked = v
                        .last_checked_at
                        .map(|t| t.0.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".into());
                    println!(
                        "{:<24} {:<28} {:<16} {:<12} {checked}",
                        v.slug, v.name, v.adapter, state
                    );
                }
                ExitCode::SUCCESS
            }
            Err(err) => fail(err),
        },
        VendorCommand::Catalog { query } => vendor_catalog(query.as_deref()),
    }
}
