//! `legitka user`: the accounts of the web page and the API.

use anyhow::Context;
use legitka::records::account::{self, Role};
use legitka::records::actor::{Actor, Via};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum UserCommand {
    /// A new account. The password is read from standard input.
    Add {
        #[arg(long)]
        login: String,
        /// The person's name as the records show it ("Anna Kowalska").
        #[arg(long)]
        name: String,
        /// operator (prints, batches, holograms, reports), admin (also
        /// accounts and the printer), auditor (reads, changes nothing).
        #[arg(long)]
        role: Role,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Every account with its role.
    List,
    /// The account can no longer log in; its sessions and tokens end.
    Disable { login: String },
    /// A disabled account may log in again (its old sessions and tokens
    /// stay ended).
    Enable { login: String },
    /// A new password, read from standard input; the account's sessions and
    /// API tokens end.
    Passwd {
        login: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// A new API token for the account's scripts (shown once).
    Token {
        login: String,
        /// Days the token works (at most 365).
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=365))]
        days: u32,
    },
    /// The account's API tokens (their ids and dates, never the tokens);
    /// `--revoke ID` ends one.
    Tokens {
        login: String,
        #[arg(long, value_name = "ID")]
        revoke: Option<i64>,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    account::check_password(&password)?;
    Ok(password)
}

/// Account commands are run by whoever administers the machine: the audit
/// log says `cli`.
fn by_cli() -> Actor {
    Actor::named("cli", Via::Cli)
}

pub async fn run(a: UserArgs) -> anyhow::Result<()> {
    let (_, store) = super::open_store(a.config.as_deref()).await?;
    match a.command {
        UserCommand::Add {
            login,
            name,
            role,
            password_stdin: _,
        } => {
            account::check_login(&login)?;
            let password = read_password()?;
            let hash =
                tokio::task::spawn_blocking(move || account::hash_password(&password)).await?;
            store
                .add_user(&login, &name, role, &hash, &by_cli())
                .await?;
            println!("account {login} ({}) added", role.label_pl());
        }
        UserCommand::List => {
            for u in store.users().await? {
                println!(
                    "{:<20} {:<10} {}{}",
                    u.login,
                    u.role,
                    u.name,
                    if u.disabled { "  (disabled)" } else { "" }
                );
            }
        }
        UserCommand::Disable { login } => {
            store.disable_user(&login, &by_cli()).await?;
            println!("account {login} disabled");
        }
        UserCommand::Passwd {
            login,
            password_stdin: _,
        } => {
            let password = read_password()?;
            let hash =
                tokio::task::spawn_blocking(move || account::hash_password(&password)).await?;
            store.set_password(&login, &hash, &by_cli()).await?;
            println!("password of {login} changed; its sessions and API tokens ended");
        }
        UserCommand::Enable { login } => {
            store.enable_user(&login, &by_cli()).await?;
            println!("account {login} enabled");
        }
        UserCommand::Token { login, days } => {
            let (id, token) = store.add_api_token(&login, days, &by_cli()).await?;
            println!("{token}");
            eprintln!("API token #{id} for {login}, valid {days} days: send it as 'Authorization: Bearer <token>'; it is not shown again (`legitka user tokens {login} --revoke {id}` ends it)");
        }
        UserCommand::Tokens { login, revoke } => {
            if store.user(&login).await?.is_none() {
                anyhow::bail!("no account {login:?}");
            }
            if let Some(id) = revoke {
                store.revoke_api_token(&login, id, &by_cli()).await?;
                println!("API token #{id} of {login} revoked");
                return Ok(());
            }
            let tokens = store.api_tokens(&login).await?;
            if tokens.is_empty() {
                println!("{login} has no API tokens");
            }
            for t in tokens {
                println!(
                    "#{:<5} made {}  {} {}",
                    t.id,
                    t.created_at,
                    if t.expired { "expired" } else { "expires" },
                    t.expires_at
                );
            }
        }
    }
    Ok(())
}
