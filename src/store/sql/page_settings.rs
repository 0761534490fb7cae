//! The page settings stored from the web UI and `/api/v1/page`, in SQL: one row
//! (`page_settings`, id 1) whose NULL columns are "not stored".
//!
//! A change is one transaction that writes the row and appends `page.settings_changed` (the
//! fields changed and the settings after, subject `page`), so the projector rebuilds the
//! public snapshot's page from the log like any other change. The store neither validates the
//! values (the caller does, with `config::page`) nor knows which fields the configuration
//! sets: the HTTP layer refuses those before calling.

use super::*;

const COLUMNS: &str =
    "name, logo_url, accent_color, time_zone, footer_links, footer_text, updated_at, updated_by";

fn settings_from_row(row: &AnyRow) -> StoreResult<StoredPageSettings> {
    let links: Option<String> = get(row, "footer_links")?;
    Ok(StoredPageSettings {
        name: get(row, "name")?,
        logo_url: get(row, "logo_url")?,
        accent_color: get(row, "accent_color")?,
        time_zone: get(row, "time_zone")?,
        footer_links: links
            .map(|l| serde_json::from_str(&l).map_err(|e| corrupt("footer_links", e)))
            .transpose()?,
        footer_text: get(row, "footer_text")?,
        updated_at: get_opt_ts(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

/// Applies one field of a patch; returns whether it changed the value.
fn apply<T: PartialEq>(slot: &mut Option<T>, change: Option<Option<T>>) -> bool {
    match change {
        Some(value) if *slot != value => {
            *slot = value;
            true
        }
        _ => false,
    }
}

impl SqlStore {
    pub(super) async fn page_settings_q(&self) -> StoreResult<StoredPageSettings> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM page_settings WHERE id = 1"))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match row {
            Some(row) => settings_from_row(&row),
            None => Ok(StoredPageSettings::default()),
        }
    }

    pub(super) async fn update_page_settings_tx(
        &self,
        patch: PageSettingsPatch,
        actor: &Actor,
    ) -> StoreResult<StoredPageSettings> {
        let mut w = self.begin(actor).await?;
        // Make sure the row exists, then touch it: PostgreSQL's row lock makes two changes of
        // different fields apply one after the other instead of the second undoing the first.
        // (A transaction that ends up changing nothing rolls back, insert included.)
        sqlx::query(
            "INSERT INTO page_settings (id, updated_at, updated_by) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(w.now.to_db())
        .bind(w.actor.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        sqlx::query("UPDATE page_settings SET updated_at = updated_at WHERE id = 1")
            .execute(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM page_settings WHERE id = 1"))
            .fetch_one(&mut *w.tx)
            .await
            .map_err(map_err)?;
        let mut settings = settings_from_row(&row)?;

        let mut changed = Vec::new();
        if apply(&mut settings.name, patch.name) {
            changed.push("name");
        }
        if apply(&mut settings.logo_url, patch.logo_url) {
            changed.push("logo_url");
        }
        if apply(&mut settings.accent_color, patch.accent_color) {
            changed.push("accent_color");
        }
        if apply(&mut settings.time_zone, patch.time_zone) {
            changed.push("time_zone");
        }
        if apply(&mut settings.footer_links, patch.footer_links) {
            changed.push("footer_links");
        }
        if apply(&mut settings.footer_text, patch.footer_text) {
            changed.push("footer_text");
        }
        if changed.is_empty() {
            // Nothing to say: no write, no event. Dropping the transaction rolls it back (the
            // row inserted above included) and releases the write lock before reading again.
            drop(w);
            return self.page_settings_q().await;
        }

        settings.updated_at = Some(w.now);
        settings.updated_by = Some(w.actor.clone());
        sqlx::query(
            "UPDATE page_settings SET name = $1, logo_url = $2, accent_color = $3, time_zone = $4, \
                    footer_links = $5, footer_text = $6, updated_at = $7, updated_by = $8 \
             WHERE id = 1",
        )
        .bind(settings.name.clone())
        .bind(settings.logo_url.clone())
        .bind(settings.accent_color.clone())
        .bind(settings.time_zone.clone())
        .bind(
            settings
                .footer_links
                .as_ref()
                .map(|l| serde_json::to_string(l).expect("serialise")),
        )
        .bind(settings.footer_text.clone())
        .bind(w.now.to_db())
        .bind(w.actor.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(map_err)?;
        w.emit(
            EventKind::PageSettingsChanged,
            "page",
            serde_json::json!({ "changed": changed, "settings": json(&settings) }),
        );
        w.commit().await?;
        Ok(settings)
    }
}
