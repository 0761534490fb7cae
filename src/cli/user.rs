//! `pharos user create|list|reset-password|deactivate|reactivate|delete`: accounts of the web
//! UI, on this machine's database (the same `--config`, `--data-dir` and `--database-url` as
//! `serve`).
//!
//! A password comes from `PHAROS_USER_PASSWORD` when set (for scripts); otherwise a strong one
//! is generated and printed once on stdout. A generated password is a first or temporary one,
//! as an admin's in the UI: it signs in once, and the user must then choose their own before
//! reaching any other page. Errors are one line on stderr and a non-zero exit.
//!
//! Deactivating or deleting a user signs them out everywhere at once; the store refuses to
//! leave no active admin.

use crate::account::{self, password, NewUser, Role, UserPatch};
use crate::events::Actor;
use crate::store::Store;
use clap::{Subcommand, ValueEnum};
use std::process::ExitCode;

/// The variable a password is read from instead of being generated.
pub const PASSWORD_ENV: &str = "PHAROS_USER_PASSWORD";

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user of the web UI. The password is read from PHAROS_USER_PASSWORD, or
    /// generated and printed once.
    Create {
        /// The address to sign in with.
        email: String,
        /// Make the user an admin (same as --role admin).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// What the user may do [default: viewer].
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// The name shown in the UI and the audit log [default: the part before @].
        #[arg(long)]
        name: Option<String>,
    },
    /// List users with their roles and state.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Set a temporary password (from PHAROS_USER_PASSWORD, or generated and printed once)
    /// and sign the user out everywhere. It signs in once; the user must then choose a new
    /// password before reaching any other page.
    ResetPassword { email: String },
    /// Stop a user from signing in and end their sessions; the account and its history stay
    /// (see `reactivate`). The last active admin cannot be deactivated.
    Deactivate { email: String },
    /// Let a deactivated user sign in again.
    Reactivate { email: String },
    /// Delete a user and end their sessions; their entries in the audit log stay, under their
    /// name and email. The last active admin cannot be deleted.
    Delete { email: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Responder,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Responder => Role::Responder,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::FAILURE
}

/// The password to set: the variable's (checked against the rules) or a generated one, and
/// whether it was generated (then it is printed).
fn new_password() -> Result<(String, bool), String> {
    match std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
        Some(p) => password::validate(&p)
            .map(|()| (p, false))
            .map_err(|e| format!("{PASSWORD_ENV}: {e}")),
        None => Ok((password::generate(), true)),
    }
}

pub async fn run(store: &dyn Store, cmd: UserCommand) -> ExitCode {
    match cmd {
        UserCommand::Create {
            email,
            admin,
            role,
            name,
        } => {
            let role = if admin {
                Role::Admin
            } else {
                role.map(Role::from).unwrap_or(Role::Viewer)
            };
            let email = match account::normalize_email(&email) {
                Ok(e) => e,
                Err(e) => return fail(e),
            };
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            let (secret, generated) = match new_password() {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let hash = match password::hash(&secret).await {
                Ok(h) => h,
                Err(e) => return fail(e),
            };
            let input = NewUser {
                email,
                name,
                role,
                password_hash: hash,
                // A generated password is handed over; one from the variable is the
                // operator's own choice (scripts).
                must_change_password: generated,
            };
            match store.create_user(input, &Actor::cli()).await {
                Ok(user) => {
                    if generated {
                        println!("{secret}");
                    }
                    eprintln!(
                        "created {} `{}`{}",
                        user.role,
                        user.email,
                        if generated {
                            "; its first password is printed above, only once: hand it over safely (it signs in once, then they choose their own)"
                        } else {
                            " with the password from PHAROS_USER_PASSWORD"
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => fail(err),
            }
        }
        UserCommand::List { json } => match store.list_users().await {
            Ok(users) if json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&users).expect("users serialise")
                );
                ExitCode::SUCCESS
            }
            Ok(users) => {
                println!(
                    "{:<32} {:<24} {:<9} {:<8} {:<4} CREATED",
                    "EMAIL", "NAME", "ROLE", "STATE", "TOTP"
                );
                for u in users {
                    let state = if u.disabled {
                        "disabled"
                    } else if u.must_change_password {
                        "reset"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<32} {:<24} {:<9} {:<8} {:<4} {}",
                        u.email,
                        u.name,
                        u.role,
                        state,
                        if u.totp_enabled { "on" } else { "off" },
                        u.created_at.0.format("%Y-%m-%d %H:%M UTC")
                    );
                }
                ExitCode::SUCCESS
            }
            Err(err) => fail(err),
        },
        UserCommand::ResetPassword { email } => {
            let user = match find(store, &email).await {
                Ok(u) => u,
                Err(code) => return code,
            };
            let (secret, generated) = match new_password() {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            let hash = match password::hash(&secret).await {
                Ok(h) => h,
                Err(e) => return fail(e),
            };
            match store.reset_password(user.id, &hash, &Actor::cli()).await {
                Ok(user) => {
                    if generated {
                        println!("{secret}");
                    }
                    eprintln!(
                        "set a temporary password for `{}` and signed it out everywhere{}; it signs in once, then they must choose a new password",
                        user.email,
                        if generated {
                            " (printed above, only once)"
                        } else {
                            ""
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => fail(err),
            }
        }
        UserCommand::Deactivate { email } => set_disabled(store, &email, true).await,
        UserCommand::Reactivate { email } => set_disabled(store, &email, false).await,
        UserCommand::Delete { email } => {
            let user = match find(store, &email).await {
                Ok(u) => u,
                Err(code) => return code,
            };
            match store.delete_user(user.id, &Actor::cli()).await {
                Ok(()) => {
                    eprintln!(
                        "deleted `{}` and ended their sessions; their audit entries stay",
                        user.email
                    );
                    ExitCode::SUCCESS
                }
                Err(err) => fail(err),
            }
        }
    }
}

/// The user with `email`, or the failure to exit with (none has it, or the store failed).
async fn find(store: &dyn Store, email: &str) -> Result<account::User, ExitCode> {
    match store.find_user_by_email(email).await {
        Ok(Some(u)) => Ok(u.user),
        Ok(None) => Err(fail(format!(
            "no user has the email `{}`; see `pharos user list`",
            email.trim()
        ))),
        Err(err) => Err(fail(err)),
    }
}

async fn set_disabled(store: &dyn Store, email: &str, disabled: bool) -> ExitCode {
    let user = match find(store, email).await {
        Ok(u) => u,
        Err(code) => return code,
    };
    if user.disabled == disabled {
        eprintln!(
            "`{}` is already {}",
            user.email,
            if disabled { "deactivated" } else { "active" }
        );
        return ExitCode::SUCCESS;
    }
    let patch = UserPatch {
        disabled: Some(disabled),
        ..UserPatch::default()
    };
    match store.update_user(user.id, patch, &Actor::cli()).await {
        Ok(user) if disabled => {
            eprintln!(
                "deactivated `{}`: signed out everywhere, and cannot sign in until reactivated",
                user.email
            );
            ExitCode::SUCCESS
        }
        Ok(user) => {
            eprintln!("reactivated `{}`: they can sign in again", user.email);
            ExitCode::SUCCESS
        }
        Err(err) => fail(err),
    }
}
