//! `/api/v1/page`: the page's presentation (name, logo, accent colour, time zone, footer links
//! and text) as shown now, and changing the fields the configuration leaves free.
//!
//! A field set in the configuration (file or `PHAROS_PAGE_*`) stays authoritative: changing it
//! here is refused with 409 `set_in_configuration`, naming the key. The page's address
//! (`page.url`) is the deployment's and is configuration only. Values are checked by the rules
//! of `config::page`, the same as the file's; the web UI (`admin/pages/settings.rs`) goes
//! through [`check_change`] too. Reading needs a `read` token, changing an `admin` one.

use super::*;
use crate::config::page::{self as rules, PageField};
use crate::config::{FooterLink, PageSettings};
use crate::domain::TokenScope;
use crate::http::auth::Principal;
use crate::http::extract::ApiJson;
use crate::http::AppState;
use crate::store::{PageSettingsPatch, StoredPageSettings};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};

/// One link of the page's footer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FooterLinkBody {
    /// 1 to 60 characters.
    pub label: String,
    /// An http(s) URL or a path on this site (`/about`).
    pub url: String,
}

/// The page's presentation as shown now.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    pub name: String,
    /// The page's public address (configuration only).
    pub url: String,
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    pub accent_color: Option<String>,
    /// An IANA zone name: the zone the pages and feeds write times in.
    pub time_zone: String,
    pub footer_links: Vec<FooterLinkBody>,
    /// Markdown shown (sanitised) in every page's footer.
    pub footer_text: Option<String>,
    /// The fields the configuration sets: they cannot be changed here.
    pub set_in_configuration: Vec<String>,
    /// When and by whom the stored settings last changed; null before the first change.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<crate::domain::Timestamp>,
    pub updated_by: Option<String>,
}

/// A change of the page settings: the fields given change, the others stay. `null` removes
/// the stored value, back to the built-in default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePage {
    /// 1 to 100 characters.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// An http(s) URL or a path on this site.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    /// `#rrggbb`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub accent_color: Option<Option<String>>,
    /// An IANA zone name such as `Europe/Berlin` (case matters).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// At most 10; replaces the list.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<FooterLinkBody>>)]
    pub footer_links: Option<Option<Vec<FooterLinkBody>>>,
    /// Markdown, at most 1,000 characters.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub footer_text: Option<Option<String>>,
    /// Refused: the page's address belongs to the configuration (`page.url`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<serde_json::Value>>,
}

/// A change of the page settings as asked for, not yet checked. Per field: `None` leaves it,
/// `Some(None)` removes the stored value, `Some(Some(v))` sets it.
#[derive(Debug, Clone, Default)]
pub struct PageChange {
    pub name: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub accent_color: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub footer_links: Option<Option<Vec<FooterLink>>>,
    pub footer_text: Option<Option<String>>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// These fields are set in the configuration (409).
    Configured(Vec<PageField>),
    /// These fields' values are not valid: (field, message), such as
    /// (`footer_links[1].url`, "`javascript:x` is not a link; ...") (422).
    Invalid(Vec<(String, String)>),
}

impl Refusal {
    /// The refusal as one API error whose message names each field.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Refusal::Configured(fields) => ApiError::new(
                StatusCode::CONFLICT,
                "set_in_configuration",
                fields
                    .iter()
                    .map(PageField::configured_message)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Refusal::Invalid(problems) => ApiError::validation(
                problems
                    .iter()
                    .map(|(field, message)| format!("`{field}`: {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }
}

/// Checks a change against the configuration (fields it sets are refused) and the rules of
/// each field, collecting every problem; returns the store's patch.
pub fn check_change(
    config: &PageSettings,
    change: PageChange,
) -> Result<PageSettingsPatch, Refusal> {
    let asked = [
        (PageField::Name, change.name.is_some()),
        (PageField::LogoUrl, change.logo_url.is_some()),
        (PageField::AccentColor, change.accent_color.is_some()),
        (PageField::TimeZone, change.time_zone.is_some()),
        (PageField::FooterLinks, change.footer_links.is_some()),
        (PageField::FooterText, change.footer_text.is_some()),
    ];
    let configured: Vec<PageField> = asked
        .iter()
        .filter(|(field, asked)| *asked && config.is_configured(*field))
        .map(|(field, _)| *field)
        .collect();
    if !configured.is_empty() {
        return Err(Refusal::Configured(configured));
    }

    let mut problems = Vec::new();
    // One field: None stays None, null stays null, a value is checked.
    let mut field = |name: &str,
                     value: Option<Option<String>>,
                     check: fn(&str) -> Result<String, String>|
     -> Option<Option<String>> {
        match value {
            Some(Some(v)) => match check(&v) {
                Ok(v) => Some(Some(v)),
                Err(message) => {
                    problems.push((name.to_string(), message));
                    None
                }
            },
            other => other,
        }
    };
    let name = field("name", change.name, rules::check_name);
    let logo_url = field("logo_url", change.logo_url, rules::check_logo_url);
    let accent_color = field(
        "accent_color",
        change.accent_color,
        rules::check_accent_color,
    );
    let time_zone = field("time_zone", change.time_zone, rules::check_time_zone);
    // An empty footer text is no footer text.
    let footer_text = field("footer_text", change.footer_text, rules::check_footer_text)
        .map(|t| t.filter(|t| !t.is_empty()));
    let footer_links = match change.footer_links {
        Some(Some(links)) => match rules::check_footer_links(&links) {
            Ok(links) => Some(Some(links)),
            Err(found) => {
                problems.extend(found);
                None
            }
        },
        other => other,
    };
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems));
    }
    Ok(PageSettingsPatch {
        name,
        logo_url,
        accent_color,
        time_zone,
        footer_links,
        footer_text,
    })
}

/// The page as the configuration and the stored settings make it.
pub fn view(config: &PageSettings, stored: &StoredPageSettings) -> PageView {
    let page = config.merged(stored);
    PageView {
        name: page.name,
        url: page.url,
        logo_url: page.logo_url,
        accent_color: page.accent_color,
        time_zone: page.time_zone,
        footer_links: page
            .footer_links
            .into_iter()
            .map(|l| FooterLinkBody {
                label: l.label,
                url: l.url,
            })
            .collect(),
        footer_text: page.footer_text,
        set_in_configuration: PageField::ALL
            .iter()
            .filter(|f| config.is_configured(**f))
            .map(|f| f.as_str().to_string())
            .collect(),
        updated_at: stored.updated_at,
        updated_by: stored.updated_by.clone(),
    }
}

#[utoipa::path(get, path = "/api/v1/page", tag = "page",
    responses((status = 200, description = "The page's presentation as shown now, and which fields the configuration sets", body = PageView)))]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<PageView>> {
    let stored = state.store.page_settings().await?;
    Ok(Json(view(&state.page, &stored)))
}

#[utoipa::path(patch, path = "/api/v1/page", tag = "page", request_body = UpdatePage,
    responses((status = 200, description = "Saved; the public page, `/api/v2` and the feeds show it within seconds", body = PageView),
              (status = 403, description = "The token's scope is not `admin`", body = crate::http::error::ErrorBody),
              (status = 409, description = "A field is set in the configuration file (`set_in_configuration`)", body = crate::http::error::ErrorBody),
              (status = 422, description = "A value is not valid (`validation_failed`, naming each field)", body = crate::http::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(body): ApiJson<UpdatePage>,
) -> ApiResult<Json<PageView>> {
    if !who.scope.allows(TokenScope::Admin) {
        return Err(ApiError::forbidden(format!(
            "token `{}` has scope `{}`, and changing the page settings needs `admin`",
            who.token_name, who.scope
        )));
    }
    if body.url.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "set_in_configuration",
            "`url` is the deployment's address and is set only in the configuration (`page.url` or `PHAROS_PAGE_URL`)",
        ));
    }
    let change = PageChange {
        name: body.name,
        logo_url: body.logo_url,
        accent_color: body.accent_color,
        time_zone: body.time_zone,
        footer_links: body.footer_links.map(|links| {
            links.map(|links| {
                links
                    .into_iter()
                    .map(|l| FooterLink {
                        label: l.label,
                        url: l.url,
                    })
                    .collect()
            })
        }),
        footer_text: body.footer_text,
    };
    let patch = check_change(&state.page, change).map_err(Refusal::into_api_error)?;
    let stored = state
        .store
        .update_page_settings(patch, &who.actor())
        .await?;
    Ok(Json(view(&state.page, &stored)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(configured: &[PageField]) -> PageSettings {
        PageSettings {
            name: "Status".into(),
            url: "https://status.example.com".into(),
            time_zone: "UTC".into(),
            logo_url: None,
            accent_color: None,
            footer_links: Vec::new(),
            footer_text: None,
            vendors_public: true,
            configured: configured.iter().copied().collect(),
        }
    }

    #[test]
    fn configured_fields_are_refused_by_key() {
        let change = PageChange {
            name: Some(Some("New".into())),
            time_zone: Some(None),
            ..Default::default()
        };
        let refused = check_change(&config(&[PageField::Name]), change.clone()).unwrap_err();
        assert_eq!(refused, Refusal::Configured(vec![PageField::Name]));
        let error = refused.into_api_error();
        assert_eq!(error.status, StatusCode::CONFLICT);
        assert!(error.message.contains("`page.name`"), "{}", error.message);
        let patch = check_change(&config(&[]), change).unwrap();
        assert_eq!(patch.name, Some(Some("New".into())));
        assert_eq!(patch.time_zone, Some(None));
        assert_eq!(patch.accent_color, None);
    }

    #[test]
    fn every_bad_value_is_named() {
        let change = PageChange {
            accent_color: Some(Some("red".into())),
            time_zone: Some(Some("Mars/Base".into())),
            logo_url: Some(Some("javascript:alert(1)".into())),
            footer_links: Some(Some(vec![FooterLink {
                label: "ok".into(),
                url: "javascript:x".into(),
            }])),
            footer_text: Some(Some("   ".into())),
            ..Default::default()
        };
        let Err(Refusal::Invalid(problems)) = check_change(&config(&[]), change) else {
            panic!("refused as invalid");
        };
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "logo_url",
                "accent_color",
                "time_zone",
                "footer_links[0].url"
            ]
        );
        // Blank footer text clears it.
        let patch = check_change(
            &config(&[]),
            PageChange {
                footer_text: Some(Some("  ".into())),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(patch.footer_text, Some(None));
    }
}
