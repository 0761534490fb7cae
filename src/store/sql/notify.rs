//! Notifications in SQL: channels, subscribers, the planner's cursor and the outbox.
//!
//! The outbox is claimed by moving a delivery's `due_at` forward by the lease: a claimed
//! delivery is simply not due until the lease ends, so a worker that dies mid-send leaves it
//! to be claimed again (at-least-once) and a live worker records its outcome long before.
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so several processes can share the work;
//! SQLite has one writer at a time and needs no such clause (the fork is in `claim`).

use super::*;
use crate::notify::channel::Target;
use crate::notify::plan::{self, Topic};
use crate::notify::record::{
    address_key, Channel, ChannelPatch, ClaimedDelivery, Delivery, DeliveryState, Lane, NewChannel,
    NewSubscriber, OutboxStats, Outcome, PlanReport, Subscriber, SubscriberKind, SubscriberPatch,
    SubscriberTarget,
};

const CHANNEL_COLUMNS: &str = "id, name, kind, target, events, subjects, enabled, \
     rate_per_minute, concurrency, created_at, updated_at";
const SUBSCRIBER_COLUMNS: &str = "id, kind, address, all_subjects, maintenance, \
     component_changes, confirmed_at, origin, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "key, event_seq, event_kind, recipient_kind, recipient_id, \
     purpose, state, attempts, due_at, last_error, last_status, last_response, created_at, \
     updated_at, sent_at";

fn from_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let text: String = get(row, col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, e))
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("notification fields serialise")
}

fn channel_from_row(row: &AnyRow) -> StoreResult<Channel> {
    let rate: i64 = get(row, "rate_per_minute")?;
    let concurrency: i64 = get(row, "concurrency")?;
    Ok(Channel {
        id: get_id(row, "id")?,
        name: get(row, "name")?,
        target: from_json::<Target>(row, "target")?,
        events: from_json(row, "events")?,
        subjects: from_json(row, "subjects")?,
        enabled: get_bool(row, "enabled")?,
        rate_per_minute: rate.clamp(0, u32::MAX as i64) as u32,
        concurrency: concurrency.clamp(0, u32::MAX as i64) as u32,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn subscriber_from_row(row: &AnyRow) -> StoreResult<Subscriber> {
    Ok(Subscriber {
        id: get_id(row, "id")?,
        kind: get_enum(row, "kind")?,
        address: get(row, "address")?,
        subjects: Vec::new(),
        maintenance: get_bool(row, "maintenance")?,
        component_changes: get_bool(row, "component_changes")?,
        confirmed_at: get_opt_ts(row, "confirmed_at")?,
        origin: get_enum(row, "origin")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> StoreResult<Delivery> {
    let attempts: i64 = get(row, "attempts")?;
    let status: Option<i64> = get(row, "last_status")?;
    Ok(Delivery {
        key: get(row, "key")?,
        event_seq: get(row, "event_seq")?,
        event_kind: get(row, "event_kind")?,
        recipient_kind: get_enum(row, "recipient_kind")?,
        recipient_id: get(row, "recipient_id")?,
        purpose: get_enum(row, "purpose")?,
        state: get_enum(row, "state")?,
        attempts: attempts.clamp(0, u32::MAX as i64) as u32,
        due_at: get_ts(row, "due_at")?,
        last_error: get(row, "last_error")?,
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        last_response: get(row, "last_response")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        sent_at: get_opt_ts(row, "sent_at")?,
    })
}

/// What events say about a subscriber: never the address.
fn subscriber_event(s: &Subscriber) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "kind": s.kind,
        "subjects": s.subjects,
        "maintenance": s.maintenance,
        "component_changes": s.component_changes,
        "confirmed_at": s.confirmed_at,
        "origin": s.origin,
    })
}

/// `$first, $first+1, ...` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows of one outcome kind stored by one statement, at most: with at most 4 values a row,
/// a statement binds about 400 parameters, far below SQLite's limit (32,766) and PostgreSQL's.
const RECORD_ROWS: usize = 100;

/// `($first, ...), (...)`: `rows` tuples of `columns` placeholders each.
fn value_rows(first: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(first + r * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Outcomes of one kind, by delivery key.
type Keyed<'a> = &'a [(&'a String, &'a Outcome)];

/// Stores outcomes whose keys are all different (so their order does not matter): per kind,
/// `UPDATE deliveries ... FROM (VALUES (key, ...), ...) AS v WHERE deliveries.key = v.column1`
/// (both databases name a `VALUES` list's columns `column1`, `column2`, ...).
async fn record_run(w: &mut WriteTx, outcomes: &[(String, Outcome)], now: &str) -> StoreResult<()> {
    let mut sent = Vec::new();
    let mut retried = Vec::new();
    let mut dead = Vec::new();
    let mut deferred = Vec::new();
    let mut cancelled = Vec::new();
    for (key, outcome) in outcomes {
        match outcome {
            Outcome::Sent { .. } => sent.push((key, outcome)),
            Outcome::Retry { .. } => retried.push((key, outcome)),
            Outcome::Dead { .. } => dead.push((key, outcome)),
            Outcome::Defer { .. } => deferred.push((key, outcome)),
            Outcome::Cancelled { .. } => cancelled.push((key, outcome)),
        }
    }
    // (the SET clause, the WHERE clause's extra condition, values a row after the key)
    let statements: [(Keyed, &str, &str, usize); 5] = [
        // Recorded whatever the state: it was sent, even if cancelled meanwhile.
        (
            &sent,
            "state = 'sent', attempts = attempts + 1, last_status = v.column2, \
             last_response = v.column3, last_error = NULL, lease_until = NULL, sent_at = $1, updated_at = $1",
            "",
            2,
        ),
        (
            &retried,
            "attempts = attempts + 1, due_at = v.column2, last_error = v.column3, \
             last_status = v.column4, lease_until = NULL, updated_at = $1",
            " AND deliveries.state = 'pending'",
            3,
        ),
        (
            &dead,
            "state = 'dead', attempts = attempts + 1, last_error = v.column2, \
             last_status = v.column3, lease_until = NULL, updated_at = $1",
            " AND deliveries.state = 'pending'",
            2,
        ),
        (
            &deferred,
            "due_at = v.column2, lease_until = NULL, updated_at = $1",
            " AND deliveries.state = 'pending'",
            1,
        ),
        (
            &cancelled,
            "state = 'cancelled', last_error = v.column2, lease_until = NULL, updated_at = $1",
            " AND deliveries.state = 'pending'",
            1,
        ),
    ];
    for (rows, set, guard, values) in statements {
        for chunk in rows.chunks(RECORD_ROWS) {
            let sql = format!(
                "UPDATE deliveries SET {set} FROM (VALUES {}) AS v \
                  WHERE deliveries.key = v.column1{guard}",
                value_rows(2, chunk.len(), values + 1)
            );
            let mut query = sqlx::query(&sql).bind(now);
            for (key, outcome) in chunk {
                query = query.bind(key.as_str());
                query = match outcome {
                    Outcome::Sent { status, response } => {
                        query.bind(status.map(i64::from)).bind(response.as_str())
                    }
                    Outcome::Retry {
                        due_at,
                        error,
                        status,
                    } => query
                        .bind(due_at.to_db())
                        .bind(error.as_str())
                        .bind(status.map(i64::from)),
                    Outcome::Dead { error, status } => {
                        query.bind(error.as_str()).bind(status.map(i64::from))
                    }
                    Outcome::Defer { due_at } => query.bind(due_at.to_db()),
                    Outcome::Cancelled { reason } => query.bind(reason.as_str()),
                };
            }
            query.execute(&mut *w.tx).await.map_err(map_err)?;
        }
    }
    Ok(())
}

/// The subscribers an audience reaches, as a WHERE clause over `subscribers s` whose subject
/// ids are bound from `$first`.
fn subscriber_filter(audience: &plan::Audience, first: usize) -> String {
    let topic = match audience.topic {
        Topic::Incident => "1 = 1",
        Topic::Maintenance => "s.maintenance = 1",
        Topic::ComponentStatus => "s.component_changes = 1",
        // Vendor news goes only to those who chose the vendor.
        Topic::Vendor => "s.all_subjects = 0",
        Topic::Operator => "1 = 0",
    };
    let chosen = format!(
        "EXISTS (SELECT 1 FROM subscriber_subjects ss WHERE ss.subscriber_id = s.id AND ss.subject_id IN ({}))",
        placeholders(first, audience.subjects.len())
    );
    let subjects = match (audience.topic, audience.subjects.is_empty()) {
        (Topic::Vendor, true) => "1 = 0".to_string(),
        (Topic::Vendor, false) => chosen,
        // News about no component in particular concerns everyone.
        (_, true) => "1 = 1".to_string(),
        (_, false) => format!("(s.all_subjects = 1 OR {chosen})"),
    };
    format!("s.confirmed_at IS NOT NULL AND {topic} AND {subjects}")
}

impl WriteTx {
    async fn load_channel(&mut self, id: ChannelId) -> StoreResult<Channel> {
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("channel", id))?;
        channel_from_row(&row)
    }

    async fn lock_subscriber(&mut self, id: SubscriberId) -> StoreResult<Subscriber> {
        let touched = sqlx::query("UPDATE subscribers SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("subscriber", id));
        }
        self.load_subscriber(id).await
    }

    async fn load_subscriber(&mut self, id: SubscriberId) -> StoreResult<Subscriber> {
        let row = sqlx::query(&format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("subscriber", id))?;
        let mut s = subscriber_from_row(&row)?;
        let rows = sqlx::query(
            "SELECT subject_id FROM subscriber_subjects WHERE subscriber_id = $1 ORDER BY subject_id",
        )
        .bind(id.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        s.subjects = rows
            .iter()
            .map(|r| get(r, "subject_id"))
            .collect::<StoreResult<_>>()?;
        Ok(s)
    }

    async fn write_subjects(&mut self, id: SubscriberId, subjects: &[String]) -> StoreResult<()> {
        sqlx::query("DELETE FROM subscriber_subjects WHERE subscriber_id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let unique: BTreeSet<&String> = subjects.iter().collect();
        for subject in &unique {
            sqlx::query(
                "INSERT INTO subscriber_subjects (subscriber_id, subject_id) VALUES ($1, $2)",
            )
            .bind(id.to_string())
            .bind(subject.as_str())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        sqlx::query("UPDATE subscribers SET all_subjects = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(unique.is_empty() as i64)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Cancels what is still pending for a recipient that is gone.
    async fn cancel_pending(&mut self, recipient: &str, reason: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deliveries SET state = 'cancelled', last_error = $2, lease_until = NULL, updated_at = $3 \
              WHERE recipient_id = $1 AND state = 'pending'",
        )
        .bind(recipient)
        .bind(reason)
        .bind(self.now.to_db())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    pub(super) async fn insert_delivery(
        &mut self,
        key: &str,
        event: &Event,
        recipient_kind: &str,
        recipient_id: &str,
        purpose: &str,
        lane: &str,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "INSERT INTO deliveries (key, event_seq, event_kind, recipient_kind, recipient_id, purpose, lane, state, attempts, due_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $8, 'pending', 0, $7, $7, $7) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(event.seq)
        .bind(event.kind.as_str())
        .bind(recipient_kind)
        .bind(recipient_id)
        .bind(purpose)
        .bind(self.now.to_db())
        .bind(lane)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}

/// The idempotency key of an event's delivery to a recipient.
fn delivery_key(seq: i64, recipient: &str) -> String {
    format!("{seq}-{recipient}")
}

impl SqlStore {
    pub(super) async fn create_channel_tx(
        &self,
        input: NewChannel,
        actor: &Actor,
    ) -> StoreResult<Channel> {
        let mut w = self.begin(actor).await?;
        let id = ChannelId::new();
        sqlx::query(
            "INSERT INTO channels (id, name, kind, target, events, subjects, enabled, rate_per_minute, concurrency, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.to_string())
        .bind(input.name.trim())
        .bind(input.target.kind())
        .bind(to_json(&input.target))
        .bind(to_json(&input.events))
        .bind(to_json(&input.subjects))
        .bind(input.enabled as i64)
        .bind(input.rate_per_minute as i64)
        .bind(input.concurrency as i64)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "channel_exists",
                format!("a channel named `{}` exists; choose another name", input.name.trim()),
            ),
            other => other,
        })?;
        let channel = w.load_channel(id).await?;
        w.emit(
            EventKind::ChannelCreated,
            id,
            json(&channel.clone().redacted()),
        );
        w.commit().await?;
        Ok(channel)
    }

    pub(super) async fn update_channel_tx(
        &self,
        id: ChannelId,
        patch: ChannelPatch,
        actor: &Actor,
    ) -> StoreResult<Channel> {
        let mut w = self.begin(actor).await?;
        let touched = sqlx::query("UPDATE channels SET updated_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        if touched.rows_affected() == 0 {
            return Err(StoreError::not_found("channel", id));
        }
        let current = w.load_channel(id).await?;
        let next = NewChannel {
            name: patch.name.unwrap_or(current.name),
            target: patch.target.unwrap_or(current.target),
            events: patch.events.unwrap_or(current.events),
            subjects: patch.subjects.unwrap_or(current.subjects),
            enabled: patch.enabled.unwrap_or(current.enabled),
            rate_per_minute: patch.rate_per_minute.unwrap_or(current.rate_per_minute),
            concurrency: patch.concurrency.unwrap_or(current.concurrency),
        };
        crate::notify::record::validate_channel(&next).map_err(StoreError::invalid)?;
        sqlx::query(
            "UPDATE channels SET name = $2, kind = $3, target = $4, events = $5, subjects = $6, enabled = $7, \
                    rate_per_minute = $8, concurrency = $9 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(next.name.trim())
        .bind(next.target.kind())
        .bind(to_json(&next.target))
        .bind(to_json(&next.events))
        .bind(to_json(&next.subjects))
        .bind(next.enabled as i64)
        .bind(next.rate_per_minute as i64)
        .bind(next.concurrency as i64)
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "channel_exists",
                format!("a channel named `{}` exists; choose another name", next.name.trim()),
            ),
            other => other,
        })?;
        let channel = w.load_channel(id).await?;
        w.emit(
            EventKind::ChannelUpdated,
            id,
            json(&channel.clone().redacted()),
        );
        w.commit().await?;
        Ok(channel)
    }

    pub(super) async fn delete_channel_tx(&self, id: ChannelId, actor: &Actor) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let channel = w.load_channel(id).await?;
        w.cancel_pending(&id.to_string(), "the channel was deleted")
            .await?;
        sqlx::query("DELETE FROM channels WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(EventKind::ChannelDeleted, id, json(&channel.redacted()));
        w.commit().await
    }

    pub(super) async fn get_channel_q(&self, id: ChannelId) -> StoreResult<Channel> {
        let row = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("channel", id))?;
        channel_from_row(&row)
    }

    pub(super) async fn list_channels_q(&self) -> StoreResult<Vec<Channel>> {
        let rows = sqlx::query(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(channel_from_row).collect()
    }

    // ---- subscribers ----------------------------------------------------------------------

    pub(super) async fn create_subscriber_tx(
        &self,
        input: NewSubscriber,
        actor: &Actor,
    ) -> StoreResult<Subscriber> {
        let mut w = self.begin(actor).await?;
        let id = SubscriberId::new();
        let confirmed = input.confirmed.then(|| w.now.to_db());
        sqlx::query(
            "INSERT INTO subscribers (id, kind, address, address_key, secret, all_subjects, maintenance, component_changes, confirmed_at, origin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $10)",
        )
        .bind(id.to_string())
        .bind(input.kind.as_str())
        .bind(input.address.trim())
        .bind(address_key(input.kind, &input.address))
        .bind(input.secret.clone())
        .bind(input.maintenance as i64)
        .bind(input.component_changes as i64)
        .bind(confirmed)
        .bind(input.origin.as_str())
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict { .. } => StoreError::conflict(
                "subscriber_exists",
                "this address is already subscribed; change its preferences instead",
            ),
            other => other,
        })?;
        w.write_subjects(id, &input.subjects).await?;
        let subscriber = w.load_subscriber(id).await?;
        w.emit(
            EventKind::SubscriberCreated,
            id,
            subscriber_event(&subscriber),
        );
        w.commit().await?;
        Ok(subscriber)
    }

    pub(super) async fn update_subscriber_tx(
        &self,
        id: SubscriberId,
        patch: SubscriberPatch,
        actor: &Actor,
    ) -> StoreResult<Subscriber> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_subscriber(id).await?;
        if let Some(subjects) = &patch.subjects {
            w.write_subjects(id, subjects).await?;
        }
        sqlx::query(
            "UPDATE subscribers SET maintenance = $2, component_changes = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.maintenance.unwrap_or(current.maintenance) as i64)
        .bind(patch.component_changes.unwrap_or(current.component_changes) as i64)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let subscriber = w.load_subscriber(id).await?;
        w.emit(
            EventKind::SubscriberUpdated,
            id,
            subscriber_event(&subscriber),
        );
        w.commit().await?;
        Ok(subscriber)
    }

    pub(super) async fn confirm_subscriber_tx(
        &self,
        id: SubscriberId,
        actor: &Actor,
    ) -> StoreResult<Subscriber> {
        let mut w = self.begin(actor).await?;
        let current = w.lock_subscriber(id).await?;
        if current.confirmed_at.is_some() {
            return Ok(current);
        }
        sqlx::query("UPDATE subscribers SET confirmed_at = $2, updated_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(w.now.to_db())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let subscriber = w.load_subscriber(id).await?;
        w.emit(
            EventKind::SubscriberConfirmed,
            id,
            subscriber_event(&subscriber),
        );
        w.commit().await?;
        Ok(subscriber)
    }

    pub(super) async fn delete_subscriber_tx(
        &self,
        id: SubscriberId,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut w = self.begin(actor).await?;
        let subscriber = w.lock_subscriber(id).await?;
        w.cancel_pending(&id.to_string(), "the subscriber unsubscribed")
            .await?;
        sqlx::query("DELETE FROM subscribers WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.emit(
            EventKind::SubscriberDeleted,
            id,
            subscriber_event(&subscriber),
        );
        w.commit().await
    }

    pub(super) async fn get_subscriber_q(&self, id: SubscriberId) -> StoreResult<Subscriber> {
        let row = sqlx::query(&format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("subscriber", id))?;
        let mut s = subscriber_from_row(&row)?;
        self.fill_subjects(std::slice::from_mut(&mut s)).await?;
        Ok(s)
    }

    async fn fill_subjects(&self, subscribers: &mut [Subscriber]) -> StoreResult<()> {
        if subscribers.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT subscriber_id, subject_id FROM subscriber_subjects WHERE subscriber_id IN ({}) ORDER BY subject_id",
            placeholders(1, subscribers.len())
        );
        let mut query = sqlx::query(&sql);
        for s in subscribers.iter() {
            query = query.bind(s.id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in &rows {
            by_id
                .entry(get(row, "subscriber_id")?)
                .or_default()
                .push(get(row, "subject_id")?);
        }
        for s in subscribers.iter_mut() {
            s.subjects = by_id.remove(&s.id.to_string()).unwrap_or_default();
        }
        Ok(())
    }

    pub(super) async fn subscriber_targets_q(
        &self,
        ids: &[SubscriberId],
    ) -> StoreResult<Vec<SubscriberTarget>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, kind, address, secret, confirmed_at, origin FROM subscribers WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let confirmed: Option<String> = get(r, "confirmed_at")?;
                Ok(SubscriberTarget {
                    id: get_id(r, "id")?,
                    kind: get_enum(r, "kind")?,
                    address: get(r, "address")?,
                    secret: get(r, "secret")?,
                    confirmed: confirmed.is_some(),
                    origin: get_enum(r, "origin")?,
                })
            })
            .collect()
    }

    pub(super) async fn find_subscriber_q(&self, key: &str) -> StoreResult<Option<Subscriber>> {
        let row = sqlx::query(&format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE address_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut s = subscriber_from_row(&row)?;
        self.fill_subjects(std::slice::from_mut(&mut s)).await?;
        Ok(Some(s))
    }

    pub(super) async fn list_subscribers_q(
        &self,
        page: PageRequest,
    ) -> StoreResult<Page<Subscriber>> {
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, 1)?.remove(0)),
            None => None,
        };
        let cursor_clause = if after.is_some() { "WHERE id > $2" } else { "" };
        let sql = format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers {cursor_clause} ORDER BY id LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(page.limit as i64 + 1);
        if let Some(after) = after {
            query = query.bind(after);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(subscriber_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items.last().map(|s| encode_cursor(&[&s.id.to_string()]))
        } else {
            None
        };
        self.fill_subjects(&mut items).await?;
        Ok(Page { items, next_cursor })
    }

    // ---- the planner --------------------------------------------------------------------

    pub(super) async fn plan_notifications_tx(&self, max_events: u32) -> StoreResult<PlanReport> {
        // A read first, so that the common case (nothing new) takes no write lock.
        let row = sqlx::query(
            "SELECT (SELECT last_seq FROM notification_cursor WHERE id = 1) AS planned, \
                    (SELECT last_seq FROM event_counter WHERE id = 1) AS appended",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let planned: i64 = get(&row, "planned")?;
        let appended: i64 = get(&row, "appended")?;
        if planned >= appended {
            return Ok(PlanReport {
                last_seq: planned,
                ..PlanReport::default()
            });
        }
        let mut w = self.begin(&Actor::system()).await?;
        // Touching the cursor row takes its lock: planners in several processes take turns.
        let row = sqlx::query(
            "UPDATE notification_cursor SET last_seq = last_seq WHERE id = 1 RETURNING last_seq",
        )
        .fetch_one(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let cursor: i64 = get(&row, "last_seq")?;
        let rows = sqlx::query(
            "SELECT seq, kind, subject_id, actor, at, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(cursor)
        .bind(max_events.max(1) as i64)
        .fetch_all(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let events = rows
            .iter()
            .map(event_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(PlanReport {
                last_seq: cursor,
                ..PlanReport::default()
            });
        };
        let channels = {
            let rows = sqlx::query(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channels WHERE enabled = 1"
            ))
            .fetch_all(&mut *w.tx)
            .await
            .map_err(map_err)?;
            rows.iter()
                .map(channel_from_row)
                .collect::<StoreResult<Vec<_>>>()?
        };
        let mut report = PlanReport {
            events: events.len(),
            deliveries: 0,
            last_seq: last,
        };
        for event in &events {
            report.deliveries += plan_event(&mut w, event, &channels).await?;
        }
        sqlx::query("UPDATE notification_cursor SET last_seq = $1 WHERE id = 1")
            .bind(last)
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.commit().await?;
        Ok(report)
    }

    // ---- the outbox ---------------------------------------------------------------------

    pub(super) async fn claim_deliveries_tx(
        &self,
        lane: Lane,
        lease: std::time::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // A read first, so that an idle outbox takes no write lock.
        let due = sqlx::query(
            "SELECT key FROM deliveries WHERE state = 'pending' AND lane = $2 AND due_at <= $1 LIMIT 1",
        )
        .bind(self.clock.now().to_db())
        .bind(lane.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut w = self.begin(&Actor::system()).await?;
        let now = w.now;
        let until =
            Timestamp::from_datetime(now.0 + chrono::Duration::from_std(lease).unwrap_or_default());
        // SQLite has a single writer (this transaction holds it) and no row locks to skip;
        // PostgreSQL lets several workers claim side by side, each skipping rows another has
        // locked.
        let skip_locked = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE deliveries SET due_at = $1, lease_until = $1, updated_at = $2 \
              WHERE key IN (SELECT key FROM deliveries WHERE state = 'pending' AND lane = $4 AND due_at <= $2 \
                            ORDER BY due_at LIMIT $3{skip_locked}) \
              RETURNING key, event_seq, recipient_kind, recipient_id, purpose, attempts, escalation_id"
        );
        let rows = sqlx::query(&sql)
            .bind(until.to_db())
            .bind(now.to_db())
            .bind(limit.max(1) as i64)
            .bind(lane.as_str())
            .fetch_all(&mut *w.tx)
            .await
            .map_err(map_err)?;
        w.commit().await?;
        rows.iter()
            .map(|r| {
                let attempts: i64 = get(r, "attempts")?;
                Ok(ClaimedDelivery {
                    key: get(r, "key")?,
                    event_seq: get(r, "event_seq")?,
                    recipient_kind: get_enum(r, "recipient_kind")?,
                    recipient_id: get(r, "recipient_id")?,
                    purpose: get_enum(r, "purpose")?,
                    attempts: attempts.clamp(0, u32::MAX as i64) as u32,
                    escalation_id: get_opt_enum::<EscalationId>(r, "escalation_id")?,
                })
            })
            .collect()
    }

    /// Stores a batch of outcomes in one transaction: one statement per kind of outcome (per
    /// [`RECORD_ROWS`] rows), each row's own values joined in from a `VALUES` list, rather
    /// than one statement per delivery. A key that comes again in the batch starts a new run,
    /// so its later outcome is written after the earlier one, as if one by one.
    pub(super) async fn record_deliveries_tx(
        &self,
        outcomes: &[(String, Outcome)],
    ) -> StoreResult<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut w = self.begin(&Actor::system()).await?;
        let now = w.now.to_db();
        let mut rest = outcomes;
        while !rest.is_empty() {
            let mut keys = std::collections::HashSet::new();
            let run = rest
                .iter()
                .take_while(|(key, _)| keys.insert(key.as_str()))
                .count();
            let (distinct, later) = rest.split_at(run);
            record_run(&mut w, distinct, &now).await?;
            rest = later;
        }
        w.commit().await
    }

    pub(super) async fn release_deliveries_tx(&self) -> StoreResult<u64> {
        let mut w = self.begin(&Actor::system()).await?;
        let done = sqlx::query(
            "UPDATE deliveries SET due_at = $1, lease_until = NULL \
              WHERE state = 'pending' AND lease_until IS NOT NULL",
        )
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.commit().await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn list_deliveries_q(
        &self,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        // Newest first by (created_at, key).
        let after = match &page.cursor {
            Some(c) => Some(decode_cursor(c, 2)?),
            None => None,
        };
        let mut clauses = Vec::new();
        let mut next = 2;
        if state.is_some() {
            clauses.push(format!("state = ${next}"));
            next += 1;
        }
        if after.is_some() {
            clauses.push(format!(
                "(created_at < ${a} OR (created_at = ${a} AND key < ${b}))",
                a = next,
                b = next + 1
            ));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries {filter} ORDER BY created_at DESC, key DESC LIMIT $1"
        );
        let mut query = sqlx::query(&sql).bind(page.limit as i64 + 1);
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        if let Some(after) = &after {
            query = query.bind(after[0].clone()).bind(after[1].clone());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(delivery_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > page.limit as usize {
            items.truncate(page.limit as usize);
            items
                .last()
                .map(|d| encode_cursor(&[&d.created_at.to_db(), &d.key]))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    pub(super) async fn get_delivery_q(&self, key: &str) -> StoreResult<Delivery> {
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::not_found("delivery", key))?;
        delivery_from_row(&row)
    }

    pub(super) async fn retry_delivery_tx(
        &self,
        key: &str,
        actor: &Actor,
    ) -> StoreResult<Delivery> {
        let mut w = self.begin(actor).await?;
        let row =
            sqlx::query("UPDATE deliveries SET updated_at = $2 WHERE key = $1 RETURNING state")
                .bind(key)
                .bind(w.now.to_db())
                .fetch_optional(&mut *w.tx)
                .await
                .map_err(map_err)?
                .ok_or_else(|| StoreError::not_found("delivery", key))?;
        let state: DeliveryState = get_enum(&row, "state")?;
        match state {
            DeliveryState::Dead | DeliveryState::Cancelled => {}
            DeliveryState::Pending => {
                return Err(StoreError::conflict(
                    "delivery_pending",
                    "the delivery is still pending; it will be tried on its own",
                ))
            }
            DeliveryState::Sent => {
                return Err(StoreError::conflict(
                    "delivery_sent",
                    "the delivery was sent; there is nothing to retry",
                ))
            }
        }
        sqlx::query(
            "UPDATE deliveries SET state = 'pending', attempts = 0, due_at = $2, lease_until = NULL WHERE key = $1",
        )
        .bind(key)
        .bind(w.now.to_db())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE key = $1"
        ))
        .bind(key)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(map_err)?;
        let delivery = delivery_from_row(&row)?;
        w.emit(
            EventKind::DeliveryRetried,
            key,
            serde_json::json!({"key": key, "event_seq": delivery.event_seq, "recipient_kind": delivery.recipient_kind, "recipient_id": delivery.recipient_id}),
        );
        w.commit().await?;
        Ok(delivery)
    }

    pub(super) async fn outbox_stats_q(&self) -> StoreResult<OutboxStats> {
        let now = self.clock.now().to_db();
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'pending') AS pending, \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND due_at <= $1) AS due, \
               (SELECT MIN(due_at) FROM deliveries WHERE state = 'pending' AND due_at <= $1) AS oldest, \
               (SELECT COUNT(*) FROM deliveries WHERE state = 'dead') AS dead, \
               (SELECT last_seq FROM notification_cursor WHERE id = 1) AS planned",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let count = |col: &str| -> StoreResult<u64> {
            let n: i64 = get(&row, col)?;
            Ok(n.max(0) as u64)
        };
        Ok(OutboxStats {
            pending: count("pending")?,
            due: count("due")?,
            oldest_due_at: get_opt_ts(&row, "oldest")?,
            dead: count("dead")?,
            planned_seq: get(&row, "planned")?,
        })
    }

    pub(super) async fn events_by_seq_q(&self, seqs: &[i64]) -> StoreResult<Vec<Event>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT seq, kind, subject_id, actor, at, data FROM events WHERE seq IN ({}) ORDER BY seq",
            placeholders(1, seqs.len())
        );
        let mut query = sqlx::query(&sql);
        for seq in seqs {
            query = query.bind(*seq);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn secret_tx(&self, name: &str) -> StoreResult<Vec<u8>> {
        let existing = sqlx::query("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let text: String = match existing {
            Some(row) => get(&row, "value")?,
            None => {
                let mut bytes = [0u8; 32];
                rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
                let mut w = self.begin(&Actor::system()).await?;
                sqlx::query(
                    "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(hex::encode(bytes))
                .bind(w.now.to_db())
                .execute(&mut *w.tx)
                .await
                .map_err(map_err)?;
                let row = sqlx::query("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&mut *w.tx)
                    .await
                    .map_err(map_err)?;
                w.commit().await?;
                get(&row, "value")?
            }
        };
        hex::decode(&text).map_err(|e| corrupt("secret", e))
    }
}

/// Writes the deliveries one event makes; returns how many.
async fn plan_event(w: &mut WriteTx, event: &Event, channels: &[Channel]) -> StoreResult<u64> {
    // A subscription made on the page waits for its confirmation mail (double opt-in).
    if event.kind == EventKind::SubscriberCreated.as_str() {
        let waiting = event.data["confirmed_at"].is_null()
            && event.data["kind"].as_str() == Some(SubscriberKind::Email.as_str());
        return match (&event.subject_id, waiting) {
            (Some(id), true) => {
                let key = delivery_key(event.seq, id);
                w.insert_delivery(&key, event, "subscriber", id, "confirm", "email")
                    .await
            }
            _ => Ok(0),
        };
    }
    let mut made = w.escalate(event).await?;
    let Some(audience) = plan::audience(event) else {
        return Ok(made);
    };
    for channel in channels {
        if channel.wants(&event.kind) && plan::follows(&channel.subjects, &audience) {
            let id = channel.id.to_string();
            made += w
                .insert_delivery(
                    &delivery_key(event.seq, &id),
                    event,
                    "channel",
                    &id,
                    "notify",
                    "channel",
                )
                .await?;
        }
    }
    if audience.subscribers {
        let sql = format!(
            "INSERT INTO deliveries (key, event_seq, event_kind, recipient_kind, recipient_id, purpose, lane, state, attempts, due_at, created_at, updated_at) \
             SELECT $1 || s.id, $2, $3, 'subscriber', s.id, 'notify', s.kind, 'pending', 0, $4, $4, $4 \
               FROM subscribers s WHERE {} \
             ON CONFLICT (key) DO NOTHING",
            subscriber_filter(&audience, 5)
        );
        let mut query = sqlx::query(&sql)
            .bind(format!("{}-", event.seq))
            .bind(event.seq)
            .bind(event.kind.as_str())
            .bind(w.now.to_db());
        for subject in &audience.subjects {
            query = query.bind(subject.as_str());
        }
        made += query
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?
            .rows_affected();
    }
    Ok(made)
}
