//! Accounts in SQL: users, their sessions, the failed-login lock and the one-time setup token.
//!
//! Sessions live in the database so that they survive restarts and are shared by every
//! process on the same database; the lock is stored on the user's row for the same reason.
//! Only hashes of secrets are stored (see `migrations/0006_accounts.sql`). User changes append
//! `user.*` events whose data is the [`User`] (never a hash); sign-in and sign-out append
//! `user.signed_in` / `user.signed_out`. Touching and pruning sessions append nothing: they
//! are bookkeeping, not changes anyone is told about.
//!
//! Two rules are kept here, in the writing transaction, rather than by the pages, so that no
//! caller (page, CLI, a race of two admins) can break them: a change never leaves users
//! without an active admin (`keep_an_admin`), and a temporary password set by
//! `reset_password` signs in once only (`create_session_tx`).

use super::*;
use crate::account::{
    NewSession, NewUser, Role, Session, StoredUser, User, UserPatch, LOCK_AFTER_FAILURES, LOCK_FOR,
};
use crate::domain::ids::UserId;

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.password_hash, u.totp_secret, \
     u.disabled, u.failed_logins, u.locked_until, u.created_at, u.updated_at, \
     u.password_changed_at, u.must_change_password";
const SESSION_COLUMNS: &str = "s.id AS session_id, s.user_id, s.csrf, s.created_at AS \
     session_created_at, s.last_seen_at, s.expires_at, s.user_agent, s.client_ip";

fn stored_user_from_row(row: &AnyRow) -> StoreResult<StoredUser> {
    let totp_secret: Option<String> = get(row, "totp_secret")?;
    Ok(StoredUser {
        user: User {
            id: get_id(row, "id")?,
            email: get(row, "email")?,
            name: get(row, "name")?,
            role: get_enum::<Role>(row, "role")?,
            totp_enabled: totp_secret.is_some(),
            disabled: get_bool(row, "disabled")?,
            failed_logins: get(row, "failed_logins")?,
            locked_until: get_opt_ts(row, "locked_until")?,
            created_at: get_ts(row, "created_at")?,
            updated_at: get_ts(row, "updated_at")?,
            password_changed_at: get_ts(row, "password_changed_at")?,
            must_change_password: get_bool(row, "must_change_password")?,
        },
        password_hash: get(row, "password_hash")?,
        totp_secret,
    })
}

fn session_from_row(row: &AnyRow) -> StoreResult<Session> {
    Ok(Session {
        id: get(row, "session_id")?,
        user_id: get_id(row, "user_id")?,
        csrf: get(row, "csrf")?,
        created_at: get_ts(row, "session_created_at")?,
        last_seen_at: get_ts(row, "last_seen_at")?,
        expires_at: get_ts(row, "expires_at")?,
        user_agent: get(row, "user_agent")?,
        client_ip: get(row, "client_ip")?,
    })
}

fn email_taken(email: &str) -> StoreError {
    StoreError::conflict(
        "email_taken",
        format!("a user with the email `{email}` already exists"),
    )
}

impl SqlStore {
    pub(super) async fn create_user_tx(&self, input: NewUser, actor: &Actor) -> StoreResult<User> {
        let input = input.validate().map_err(StoreError::invalid)?;
        let mut w = self.begin(actor).await?;
        let user = insert_user(&mut w, &input).await?;
        w.emit(EventKind::UserCreated, user.id, json(&user));
        w.commit().await?;
        Ok(user)
    }

    pub(super) async fn update_user_tx(
        &self,
        id: UserId,
        patch: UserPatch,
        actor: &Actor,
    ) -> StoreResult<User> {
        let name = patch
            .name
            .as_deref()
            .map(crate::account::validate_name)
            .transpose()
            .map_err(StoreError::invalid)?;
        let mut w = self.begin(actor).await?;
        let current = load_user(&mut w, id).await?;
        let demoted = patch.role.is_some_and(|r| r != Role::Admin);
        let deactivated = patch.disabled == Some(true);
        if demoted || deactivated {
            keep_an_admin(&mut w, &current.user).await?;
        }
        let (totp_set, totp_value) = match patch.totp_secret {
            Some(value) => (1i64, value),
            None => (0, None),
        };
        // A new (or no) secret forgets the last step used: steps of the old secret say
        // nothing about the new one's codes, and keeping it would refuse them.
        sqlx::query(
            "UPDATE users SET name = COALESCE($2, name), role = COALESCE($3, role), \
             disabled = COALESCE($4, disabled), \
             totp_secret = CASE WHEN $5 = 1 THEN $6 ELSE totp_secret END, \
             totp_last_step = CASE WHEN $5 = 1 THEN NULL ELSE totp_last_step END, \
             updated_at = $7 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(name)
        .bind(patch.role.map(|r| r.as_str().to_string()))
        .bind(patch.disabled.map(i64::from))
        .bind(totp_set)
        .bind(totp_value)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        if patch.disabled == Some(true) && !current.user.disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.to_string())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
        }
        let user = load_user(&mut w, id).await?.user;
        w.emit(EventKind::UserUpdated, id, json(&user));
        w.commit().await?;
        Ok(user)
    }

    pub(super) async fn delete_user_tx(&self, id: UserId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let user = load_user(&mut w, id).await?.user;
        keep_an_admin(&mut w, &user).await?;
        // The foreign key cascades too; deleting first keeps SQLite without foreign keys
        // (a connection opened by hand) from leaving sessions behind.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(EventKind::UserDeleted, id, json(&user));
        w.commit().await
    }

    pub(super) async fn get_user_q(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("user", id))?;
        Ok(stored_user_from_row(&row)?.user)
    }

    pub(super) async fn list_users_q(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.email"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| stored_user_from_row(r).map(|s| s.user))
            .collect()
    }

    pub(super) async fn find_user_by_email_q(
        &self,
        email: &str,
    ) -> StoreResult<Option<StoredUser>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(stored_user_from_row).transpose()
    }

    pub(super) async fn count_users_q(&self) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(get::<i64>(&row, "n")?.max(0) as u64)
    }

    pub(super) async fn set_password_tx(
        &self,
        id: UserId,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<User> {
        self.write_password(id, password_hash, false, keep_session, actor)
            .await
    }

    /// Replaces a user's password and ends their sessions (all but `keep_session`), in one
    /// transaction. `temporary` marks an admin's reset: the password then signs in once, only
    /// to choose a new one.
    async fn write_password(
        &self,
        id: UserId,
        password_hash: &str,
        temporary: bool,
        keep_session: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<User> {
        let mut w = self.begin(actor).await?;
        load_user(&mut w, id).await?;
        sqlx::query(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3, \
             failed_logins = 0, locked_until = NULL, must_change_password = $4, \
             temporary_password_used_at = NULL WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(password_hash)
        .bind(w.now.to_db())
        .bind(i64::from(temporary))
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        // Whoever held the old password is signed out (session ids are never empty).
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(id.to_string())
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let user = load_user(&mut w, id).await?.user;
        w.emit(EventKind::UserPasswordChanged, id, json(&user));
        w.commit().await?;
        Ok(user)
    }

    pub(super) async fn record_failed_login_tx(&self, id: UserId) -> StoreResult<User> {
        let mut w = self.begin(&Actor::system()).await?;
        // Touch first: the row lock serialises concurrent failures of one account on
        // PostgreSQL, so ten wrong passwords sent at once still count ten.
        touch_user(&mut w, id).await?;
        let current = load_user(&mut w, id).await?.user;
        let now = w.now;
        let lock_ran_out = current.locked_until.is_some_and(|until| until <= now);
        let failures = if lock_ran_out {
            1
        } else {
            current.failed_logins + 1
        };
        let locked_until = if current.locked_at(now) {
            current.locked_until
        } else if failures >= LOCK_AFTER_FAILURES {
            Some(Timestamp::from_datetime(now.0 + LOCK_FOR))
        } else {
            None
        };
        sqlx::query("UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(failures)
            .bind(locked_until.map(|t| t.to_db()))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let user = load_user(&mut w, id).await?.user;
        w.commit().await?;
        Ok(user)
    }

    pub(super) async fn create_session_tx(
        &self,
        user_id: UserId,
        session: NewSession,
        replaces: Option<&str>,
    ) -> StoreResult<Session> {
        let mut w = self.begin(&Actor::system()).await?;
        let user = load_user(&mut w, user_id).await?.user;
        if user.disabled {
            return Err(StoreError::conflict(
                "user_disabled",
                "this account is disabled; ask an admin to enable it",
            ));
        }
        w.actor = crate::events::Actor::user(&user.email).as_str().to_string();
        if user.must_change_password {
            // A temporary password signs in once, for choosing a new one: the first sign-in
            // spends it, a second is refused (the session it opened may still choose).
            let row = sqlx::query("SELECT temporary_password_used_at FROM users WHERE id = $1")
                .bind(user_id.to_string())
                .fetch_one(&mut *w.tx)
                .await
                .map_err(map_err)?;
            if get::<Option<String>>(&row, "temporary_password_used_at")?.is_some() {
                return Err(StoreError::conflict(
                    "temporary_password_used",
                    "this temporary password has already been used to sign in once; ask an admin to reset your password again",
                ));
            }
            sqlx::query("UPDATE users SET temporary_password_used_at = $2 WHERE id = $1")
                .bind(user_id.to_string())
                .bind(w.now.to_db())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
        }
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(old)
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
        }
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let stored = Session {
            id: session.id,
            user_id,
            csrf: session.csrf,
            created_at: w.now,
            last_seen_at: w.now,
            expires_at: session.expires_at,
            user_agent: session.user_agent,
            client_ip: session.client_ip,
        };
        sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf, created_at, last_seen_at, expires_at, \
             user_agent, client_ip) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        )
        .bind(&stored.id)
        .bind(user_id.to_string())
        .bind(&stored.csrf)
        .bind(w.now.to_db())
        .bind(stored.expires_at.to_db())
        .bind(stored.user_agent.clone())
        .bind(stored.client_ip.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let user = load_user(&mut w, user_id).await?.user;
        w.emit(EventKind::UserSignedIn, user_id, json(&user));
        w.commit().await?;
        Ok(stored)
    }

    pub(super) async fn find_session_q(
        &self,
        id: &str,
    ) -> StoreResult<Option<(Session, StoredUser)>> {
        let row = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS}, {USER_COLUMNS} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => Ok(Some((session_from_row(&row)?, stored_user_from_row(&row)?))),
            None => Ok(None),
        }
    }

    pub(super) async fn touch_session_q(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        // One statement outside the write lock, like `touch_token`; the condition makes
        // concurrent touches from several processes write once.
        let stale_before = Timestamp::from_datetime(at.0 - chrono::Duration::minutes(1));
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at <= $3")
            .bind(id)
            .bind(at.to_db())
            .bind(stale_before.to_db())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(super) async fn delete_session_tx(&self, id: &str, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let row = sqlx::query("DELETE FROM sessions WHERE id = $1 RETURNING user_id")
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if let Some(row) = row {
            let user_id: UserId = get_id(&row, "user_id")?;
            if let Ok(user) = load_user(&mut w, user_id).await {
                w.emit(
                    EventKind::UserSignedOut,
                    user_id,
                    serde_json::json!({ "user": user.user, "sessions": 1 }),
                );
            }
        }
        w.commit().await
    }

    pub(super) async fn delete_user_sessions_tx(
        &self,
        user_id: UserId,
        except: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<u64> {
        let mut w = self.begin(actor).await?;
        let user = load_user(&mut w, user_id).await?.user;
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user_id.to_string())
            .bind(except.unwrap_or(""))
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        w.emit(
            EventKind::UserSignedOut,
            user_id,
            serde_json::json!({ "user": user, "sessions": done, "everywhere": true }),
        );
        w.commit().await?;
        Ok(done)
    }

    pub(super) async fn reset_password_tx(
        &self,
        id: UserId,
        password_hash: &str,
        actor: &Actor,
    ) -> StoreResult<User> {
        // Whoever held the old password is signed out everywhere, at once.
        self.write_password(id, password_hash, true, None, actor)
            .await
    }

    pub(super) async fn list_user_sessions_q(&self, user_id: UserId) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 \
             ORDER BY s.created_at DESC, s.id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(session_from_row).collect()
    }

    pub(super) async fn session_counts_q(
        &self,
        idle_since: Timestamp,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        let now = self.clock.now();
        let rows = sqlx::query(
            "SELECT user_id, COUNT(*) AS n FROM sessions \
             WHERE expires_at > $1 AND last_seen_at >= $2 GROUP BY user_id",
        )
        .bind(now.to_db())
        .bind(idle_since.to_db())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((get_id(r, "user_id")?, get::<i64>(r, "n")?.max(0) as u64)))
            .collect()
    }

    pub(super) async fn prune_sessions_q(&self, idle_since: Timestamp) -> StoreResult<u64> {
        let now = self.clock.now();
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(now.to_db())
            .bind(idle_since.to_db())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn create_setup_token_tx(
        &self,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        let mut w = self.begin(&Actor::system()).await?;
        sqlx::query(
            "INSERT INTO setup_token (id, token_hash, created_at, expires_at, used_at) \
             VALUES (1, $1, $2, $3, NULL) ON CONFLICT (id) DO UPDATE SET \
             token_hash = excluded.token_hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, used_at = NULL",
        )
        .bind(token_hash)
        .bind(w.now.to_db())
        .bind(expires_at.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.commit().await
    }

    pub(super) async fn complete_setup_tx(
        &self,
        token_hash: &str,
        input: NewUser,
    ) -> StoreResult<User> {
        let input = input.validate().map_err(StoreError::invalid)?;
        let mut w = self
            .begin(&crate::events::Actor::user(&input.email))
            .await?;
        // Spending the token first takes its row lock, so two set-ups racing with the same
        // token cannot both create an admin.
        let spent = sqlx::query(
            "UPDATE setup_token SET used_at = $2 WHERE id = 1 AND token_hash = $1 \
             AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if get::<i64>(&row, "n")? > 0 {
            return Err(StoreError::conflict(
                "already_set_up",
                "an account already exists: sign in, or ask an admin for an account",
            ));
        }
        if spent == 0 {
            return Err(StoreError::invalid(
                "this set-up link is not valid (already used, expired or mistyped); restart pharos serve for a new one, or run `pharos user create --admin EMAIL`",
            ));
        }
        let mut input = input;
        input.role = Role::Admin;
        let user = insert_user(&mut w, &input).await?;
        w.emit(EventKind::UserCreated, user.id, json(&user));
        w.commit().await?;
        Ok(user)
    }

    pub(super) async fn audit_log_q(
        &self,
        filter: AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let mut sql = String::from(
            "SELECT seq, kind, subject_id, actor, at, data FROM events WHERE seq < $1",
        );
        let mut n = 1;
        if filter.actor.is_some() {
            n += 1;
            sql.push_str(&format!(" AND actor = ${n}"));
        }
        let kind = filter.kind.as_deref().map(|k| {
            if k.ends_with('.') {
                (true, format!("{k}%"))
            } else {
                (false, k.to_string())
            }
        });
        if let Some((prefix, _)) = &kind {
            n += 1;
            if *prefix {
                sql.push_str(&format!(" AND kind LIKE ${n}"));
            } else {
                sql.push_str(&format!(" AND kind = ${n}"));
            }
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${n}"));
        let mut q = sqlx::query(&sql).bind(filter.before_seq.unwrap_or(i64::MAX));
        if let Some(actor) = filter.actor {
            q = q.bind(actor);
        }
        if let Some((_, kind)) = kind {
            q = q.bind(kind);
        }
        let rows = q
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
    }
}

/// Refuses a change that takes `user` (about to be demoted, deactivated or deleted) away from
/// the active admins when no other active admin would remain while other users do: then
/// nobody could manage users from the UI. Removing the very last user stays possible (the
/// next start offers the set-up link again).
async fn keep_an_admin(w: &mut WriteTx, user: &User) -> StoreResult<()> {
    if user.role != Role::Admin || user.disabled {
        return Ok(());
    }
    // Touch the active admins first: on PostgreSQL two admins demoting each other at once then
    // take turns on these row locks, and the second counts after the first committed. SQLite
    // writers are serialised by `BEGIN IMMEDIATE` already.
    sqlx::query("UPDATE users SET updated_at = updated_at WHERE role = 'admin' AND disabled = 0")
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
    let row = sqlx::query(
        // COUNT of a CASE, not SUM: PostgreSQL's SUM of BIGINT is NUMERIC, which the
        // `Any` driver does not decode.
        "SELECT COUNT(CASE WHEN role = 'admin' AND disabled = 0 THEN 1 END) AS admins, \
         COUNT(*) AS others FROM users WHERE id <> $1",
    )
    .bind(user.id.to_string())
    .fetch_one(&mut *w.tx)
    .await
    .map_err(map_err)?;
    let admins: i64 = get(&row, "admins")?;
    let others: i64 = get(&row, "others")?;
    if admins == 0 && others > 0 {
        return Err(StoreError::conflict(
            "last_admin",
            format!(
                "`{}` is the last active admin; make another user an admin first, so that someone can still manage users",
                user.email
            ),
        ));
    }
    Ok(())
}

async fn touch_user(w: &mut WriteTx, id: UserId) -> StoreResult<()> {
    let touched = sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
    if touched.rows_affected() == 0 {
        return Err(StoreError::not_found("user", id));
    }
    Ok(())
}

async fn load_user(w: &mut WriteTx, id: UserId) -> StoreResult<StoredUser> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *w.tx)
    .await
    .map_err(map_err)?
    .ok_or_else(|| StoreError::not_found("user", id))?;
    stored_user_from_row(&row)
}

async fn insert_user(w: &mut WriteTx, input: &NewUser) -> StoreResult<User> {
    let taken = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(&input.email)
        .fetch_optional(&mut *w.tx)
        .await
        .map_err(map_err)?;
    if taken.is_some() {
        return Err(email_taken(&input.email));
    }
    let id = UserId::new();
    sqlx::query(
        "INSERT INTO users (id, email, name, role, password_hash, totp_secret, disabled, \
         failed_logins, locked_until, created_at, updated_at, password_changed_at, \
         must_change_password) \
         VALUES ($1, $2, $3, $4, $5, NULL, 0, 0, NULL, $6, $6, $6, $7)",
    )
    .bind(id.to_string())
    .bind(&input.email)
    .bind(&input.name)
    .bind(input.role.as_str())
    .bind(&input.password_hash)
    .bind(w.now.to_db())
    .bind(i64::from(input.must_change_password))
    .execute(&mut *w.tx)
    .await
    .map_err(|e| match map_err(e) {
        // A concurrent insert of the same address, between the check and the insert.
        StoreError::Conflict { .. } => email_taken(&input.email),
        other => other,
    })?;
    Ok(load_user(w, id).await?.user)
}
