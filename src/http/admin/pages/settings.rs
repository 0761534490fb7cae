//! Page settings (`/admin/settings`, admins only): the page's name, logo, accent colour, time
//! zone, footer links and footer text, stored in the database and shown on the public page
//! without a restart.
//!
//! A field set in the configuration (file or environment) is shown read only, marked "set in
//! the configuration file", and has no `name` in the form, so it is never sent; a crafted
//! post that sends one is refused like the API refuses it. Inputs show the *stored* value (an
//! empty input means "not stored", with the default as placeholder), so saving the form
//! unchanged stores nothing. Checking is the API's (`api_v1::page::check_change`); a refused
//! form comes back with the input as typed and a message beside each field.

use super::incidents::Fields;
use super::{html, Chrome, Flash};
use crate::config::page::{self as rules, PageField};
use crate::config::{FooterLink, PageSettings, FOOTER_LINKS_MAX};
use crate::http::admin::session::{see_other, CsrfForm, CurrentUser};
use crate::http::admin::AdminError;
use crate::http::api_v1::page::{check_change, PageChange, Refusal};
use crate::http::AppState;
use crate::store::StoredPageSettings;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::BTreeMap;

/// Empty footer link rows offered below the stored ones.
const SPARE_LINK_ROWS: usize = 2;

/// One single-value field of the form.
struct FieldView {
    /// The form field's name and the input's id suffix (`name`, `accent_color`, ...).
    key: &'static str,
    label: &'static str,
    hint: String,
    /// The stored value (or, read only, the configuration's), or the input as typed.
    value: String,
    placeholder: String,
    /// Where the configuration sets it, when it does: shown read only.
    config_keys: Option<String>,
    error: Option<String>,
}

/// One footer link row.
struct LinkRow {
    label: String,
    url: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    /// The problems of a refused form, one line per field, above it.
    problems: Vec<String>,
    fields: Vec<FieldView>,
    footer_text: FieldView,
    links: Vec<LinkRow>,
    links_config_keys: Option<String>,
    links_error: Option<String>,
    links_max: usize,
    zones: Vec<&'static str>,
    updated: Option<String>,
}

/// What the form holds: the stored values, or the input as typed.
#[derive(Debug, Clone, Default)]
struct Values {
    name: String,
    logo_url: String,
    accent_color: String,
    time_zone: String,
    footer_text: String,
    links: Vec<(String, String)>,
}

impl Values {
    fn stored(stored: &StoredPageSettings) -> Values {
        Values {
            name: stored.name.clone().unwrap_or_default(),
            logo_url: stored.logo_url.clone().unwrap_or_default(),
            accent_color: stored.accent_color.clone().unwrap_or_default(),
            time_zone: stored.time_zone.clone().unwrap_or_default(),
            footer_text: stored.footer_text.clone().unwrap_or_default(),
            links: stored
                .footer_links
                .iter()
                .flatten()
                .map(|l| (l.label.clone(), l.url.clone()))
                .collect(),
        }
    }

    fn from_form(fields: &Fields) -> Values {
        let labels = fields.all("link_label");
        let urls = fields.all("link_url");
        let rows = labels.len().max(urls.len());
        Values {
            name: fields.get("name").to_string(),
            logo_url: fields.get("logo_url").to_string(),
            accent_color: fields.get("accent_color").to_string(),
            time_zone: fields.get("time_zone").to_string(),
            footer_text: fields.get("footer_text").to_string(),
            links: (0..rows)
                .map(|i| {
                    (
                        labels.get(i).copied().unwrap_or("").to_string(),
                        urls.get(i).copied().unwrap_or("").to_string(),
                    )
                })
                .collect(),
        }
    }
}

/// The change a posted form asks for. Only the fields sent are in it (a read-only one is
/// not sent); an empty value removes the stored one. Footer link rows with neither a label nor
/// an address are skipped; `rows` maps each link kept to its row on the form, and a row with
/// only one of the two is a problem of its own.
fn change_of(
    fields: &Fields,
    values: &Values,
) -> (PageChange, Vec<usize>, BTreeMap<usize, String>) {
    let sent = |key: &str| fields.0.iter().any(|(k, _)| k == key);
    let text = |key: &str, value: &str| {
        sent(key).then(|| Some(value.trim().to_string()).filter(|v| !v.is_empty()))
    };
    let mut rows = Vec::new();
    let mut half = BTreeMap::new();
    let mut links = Vec::new();
    for (i, (label, url)) in values.links.iter().enumerate() {
        match (label.trim().is_empty(), url.trim().is_empty()) {
            (true, true) => {}
            (false, false) => {
                rows.push(i);
                links.push(FooterLink {
                    label: label.clone(),
                    url: url.trim().to_string(),
                });
            }
            _ => {
                half.insert(
                    i,
                    "give the link both a label and an address, or clear both to remove it"
                        .to_string(),
                );
            }
        }
    }
    let links_sent = sent("link_label") || sent("link_url");
    let change = PageChange {
        name: text("name", &values.name),
        logo_url: text("logo_url", &values.logo_url),
        accent_color: text("accent_color", &values.accent_color),
        time_zone: text("time_zone", &values.time_zone),
        footer_links: links_sent.then(|| Some(links).filter(|l| !l.is_empty())),
        // Markdown keeps its inner spacing; only a blank text counts as none.
        footer_text: sent("footer_text")
            .then(|| Some(values.footer_text.clone()).filter(|t| !t.trim().is_empty())),
    };
    (change, rows, half)
}

fn field(
    config: &PageSettings,
    field: PageField,
    label: &'static str,
    hint: String,
    value: &str,
    placeholder: String,
) -> FieldView {
    let configured = config.is_configured(field);
    // A configured field shows the configuration's value, which is what the page shows.
    let value = if configured {
        match field {
            PageField::Name => config.name.clone(),
            PageField::LogoUrl => config.logo_url.clone().unwrap_or_default(),
            PageField::AccentColor => config.accent_color.clone().unwrap_or_default(),
            PageField::TimeZone => config.time_zone.clone(),
            PageField::FooterText => config.footer_text.clone().unwrap_or_default(),
            PageField::FooterLinks => String::new(),
        }
    } else {
        value.to_string()
    };
    FieldView {
        key: field.as_str(),
        label,
        hint,
        value,
        placeholder,
        config_keys: configured.then(|| keys_text(field)),
        error: None,
    }
}

/// The form, with `values` and (after a refused post) its problems by field.
fn form_page(
    state: &AppState,
    user: &CurrentUser,
    stored: &StoredPageSettings,
    values: Values,
    errors: &BTreeMap<String, String>,
    status: StatusCode,
    flash: Flash,
) -> Response {
    let config = &state.page;
    let mut fields = vec![
        field(
            config,
            PageField::Name,
            "Page name",
            format!("1 to {} characters; the title of every page and notification", rules::NAME_MAX),
            &values.name,
            rules::DEFAULT_NAME.to_string(),
        ),
        field(
            config,
            PageField::LogoUrl,
            "Logo address",
            "an http(s) URL or a path on this site such as /static/logo.svg; shown instead of the name".into(),
            &values.logo_url,
            "none: the name is shown".into(),
        ),
        field(
            config,
            PageField::AccentColor,
            "Accent colour",
            "#rrggbb, such as #0b57d0: the header's accent and, where it reads well, the links".into(),
            &values.accent_color,
            "none".into(),
        ),
        field(
            config,
            PageField::TimeZone,
            "Time zone",
            "an IANA name such as Europe/Berlin (case matters): the zone of the page's days and times".into(),
            &values.time_zone,
            rules::DEFAULT_TIME_ZONE.to_string(),
        ),
    ];
    for f in &mut fields {
        f.error = errors.get(f.key).cloned();
    }
    let mut footer_text = field(
        config,
        PageField::FooterText,
        "Footer text",
        format!(
            "Markdown, at most {} characters, shown at the foot of every public page (links, **bold**, _italic_)",
            rules::FOOTER_TEXT_MAX
        ),
        &values.footer_text,
        String::new(),
    );
    footer_text.error = errors.get("footer_text").cloned();

    let links_configured = config.is_configured(PageField::FooterLinks);
    let mut links: Vec<LinkRow> = if links_configured {
        config
            .footer_links
            .iter()
            .map(|l| LinkRow {
                label: l.label.clone(),
                url: l.url.clone(),
                error: None,
            })
            .collect()
    } else {
        values
            .links
            .iter()
            .enumerate()
            .map(|(i, (label, url))| LinkRow {
                label: label.clone(),
                url: url.clone(),
                error: errors.get(&format!("link_row[{i}]")).cloned(),
            })
            .collect()
    };
    if !links_configured {
        let filled = links
            .iter()
            .filter(|l| !(l.label.is_empty() && l.url.is_empty()))
            .count();
        let spare = SPARE_LINK_ROWS.min(FOOTER_LINKS_MAX.saturating_sub(filled));
        links.retain(|l| !(l.label.is_empty() && l.url.is_empty() && l.error.is_none()));
        links.extend((0..spare).map(|_| LinkRow {
            label: String::new(),
            url: String::new(),
            error: None,
        }));
    }
    let mut problems: Vec<String> = errors
        .iter()
        .map(|(field, message)| format!("{}: {message}", problem_label(field)))
        .collect();
    problems.sort();
    html(
        status,
        &SettingsPage {
            chrome: Chrome::new(state, user, "Page settings", "settings", flash),
            problems,
            fields,
            footer_text,
            links,
            links_config_keys: links_configured.then(|| keys_text(PageField::FooterLinks)),
            links_error: errors.get("footer_links").cloned(),
            links_max: FOOTER_LINKS_MAX,
            zones: chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect(),
            updated: stored.updated_at.map(|at| match &stored.updated_by {
                Some(by) => format!("{} by {by}", super::when(&at)),
                None => super::when(&at),
            }),
        },
    )
}

/// Where the configuration sets `field`, as the page writes it.
fn keys_text(field: PageField) -> String {
    field.config_keys().replace('`', "")
}

/// How the summary above the form names a field.
fn problem_label(field: &str) -> String {
    if let Some(row) = field
        .strip_prefix("link_row[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<usize>().ok())
    {
        return format!("Footer link {}", row + 1);
    }
    match field {
        "name" => "Page name",
        "logo_url" => "Logo address",
        "accent_color" => "Accent colour",
        "time_zone" => "Time zone",
        "footer_links" => "Footer links",
        "footer_text" => "Footer text",
        other => other,
    }
    .to_string()
}

#[utoipa::path(get, path = "/admin/settings", tag = "admin", security(()),
    responses((status = 200, description = "The page settings form (admins only); fields the configuration sets are read only", content_type = "text/html"),
              (status = 303, description = "Not signed in: to the sign-in form"),
              (status = 403, description = "Not an admin", content_type = "text/html")))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    flash: Flash,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let stored = state.store.page_settings().await?;
    Ok(form_page(
        &state,
        &user,
        &stored,
        Values::stored(&stored),
        &BTreeMap::new(),
        StatusCode::OK,
        flash,
    ))
}

#[utoipa::path(post, path = "/admin/settings", tag = "admin", security(()),
    responses((status = 303, description = "Saved: back to the form with a message"),
              (status = 403, description = "Not an admin, or the form's security token is wrong", content_type = "text/html"),
              (status = 409, description = "A field set in the configuration file was sent: the form again", content_type = "text/html"),
              (status = 422, description = "A value is not valid: the form again, as typed, with a message per field", content_type = "text/html")))]
pub async fn save(
    State(state): State<AppState>,
    CsrfForm(user, form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    user.require_admin()?;
    let fields = Fields(form);
    let values = Values::from_form(&fields);
    let (change, rows, half) = change_of(&fields, &values);
    let mut errors: BTreeMap<String, String> = half
        .into_iter()
        .map(|(row, message)| (format!("link_row[{row}]"), message))
        .collect();
    let (status, more) = match check_change(&state.page, change) {
        Ok(patch) if errors.is_empty() => {
            state
                .store
                .update_page_settings(patch, &user.actor())
                .await?;
            return Ok(see_other("/admin/settings?done=settings_saved"));
        }
        Ok(_) => (StatusCode::UNPROCESSABLE_ENTITY, Vec::new()),
        Err(Refusal::Configured(configured)) => (
            StatusCode::CONFLICT,
            configured
                .into_iter()
                .map(|f| {
                    (
                        f.as_str().to_string(),
                        format!(
                            "set in the configuration file ({}); change it there",
                            keys_text(f)
                        ),
                    )
                })
                .collect(),
        ),
        Err(Refusal::Invalid(problems)) => (StatusCode::UNPROCESSABLE_ENTITY, problems),
    };
    for (field, message) in more {
        // `footer_links[i].label` is the i-th link kept: put it on its row of the form.
        let key = match field
            .strip_prefix("footer_links[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok())
        {
            Some(i) => format!("link_row[{}]", rows.get(i).copied().unwrap_or(i)),
            None => field,
        };
        let message = message.replace('`', "");
        errors
            .entry(key)
            .and_modify(|m| {
                m.push_str("; ");
                m.push_str(&message);
            })
            .or_insert(message);
    }
    let stored = state.store.page_settings().await?;
    Ok(form_page(
        &state,
        &user,
        &stored,
        values,
        &errors,
        status,
        Flash::default(),
    ))
}
