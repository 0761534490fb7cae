//! The page's presentation settings that may come from two places: the `[page]` section of the
//! configuration (or its `PHAROS_PAGE_*` variables), and the settings stored from the web UI
//! (`/admin/settings`) or `/api/v1/page`. This module owns their rules: which fields there
//! are ([`PageField`]), how each is validated (one function per field, used by the
//! configuration, the API and the form alike, so they can never disagree), and how the two
//! sources are merged ([`PageSettings::merged`]).
//!
//! Precedence: a field set in the configuration stays authoritative (configuration as code);
//! a field not set there takes the stored value, else the built-in default. The page's address
//! (`page.url`) is the deployment's, so it is configuration only. Nothing here does I/O.

use super::{is_hex_colour, is_link_url, FooterLink, PageSettings, FOOTER_LABEL_MAX};
use crate::store::StoredPageSettings;

/// The longest page name, in characters.
pub const NAME_MAX: usize = 100;
/// The longest custom footer text (Markdown), in characters: a line or two, not a page.
pub const FOOTER_TEXT_MAX: usize = 1_000;
/// The page name when neither the configuration nor the stored settings set one.
pub const DEFAULT_NAME: &str = "Status";
/// The time zone when neither the configuration nor the stored settings set one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// A page setting that the web UI and the API may store, unless the configuration sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageField {
    Name,
    LogoUrl,
    AccentColor,
    TimeZone,
    FooterLinks,
    FooterText,
}

impl PageField {
    pub const ALL: [PageField; 6] = [
        PageField::Name,
        PageField::LogoUrl,
        PageField::AccentColor,
        PageField::TimeZone,
        PageField::FooterLinks,
        PageField::FooterText,
    ];

    /// The field's name in `/api/v1/page`, the form and the event (`accent_color`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            PageField::Name => "name",
            PageField::LogoUrl => "logo_url",
            PageField::AccentColor => "accent_color",
            PageField::TimeZone => "time_zone",
            PageField::FooterLinks => "footer_links",
            PageField::FooterText => "footer_text",
        }
    }

    /// Where the configuration sets it: the file's key and, when there is one, the variable.
    pub fn config_keys(&self) -> &'static str {
        match self {
            PageField::Name => "`page.name` or `PHAROS_PAGE_NAME`",
            PageField::LogoUrl => "`page.logo_url` or `PHAROS_PAGE_LOGO_URL`",
            PageField::AccentColor => "`page.accent_color` or `PHAROS_PAGE_ACCENT_COLOR`",
            PageField::TimeZone => "`page.time_zone` or `PHAROS_PAGE_TIME_ZONE`",
            PageField::FooterLinks => "`[[page.footer_links]]`",
            PageField::FooterText => "`page.footer_text` or `PHAROS_PAGE_FOOTER_TEXT`",
        }
    }

    /// The refusal of a change to a field the configuration sets: names the key and says what
    /// to do.
    pub fn configured_message(&self) -> String {
        format!(
            "`{}` is set in the configuration file ({}), which stays authoritative; change it there, or remove it there to manage it from the web UI and the API",
            self.as_str(),
            self.config_keys()
        )
    }
}

/// A page name: trimmed, 1 to [`NAME_MAX`] characters, one line.
pub fn check_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > NAME_MAX {
        return Err(format!("must be 1 to {NAME_MAX} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must be a single line without control characters".into());
    }
    Ok(value.to_string())
}

/// A logo address: see [`is_link_url`].
pub fn check_logo_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    if !is_link_url(value) {
        return Err(format!(
            "`{value}` is not an image address; expected an http(s) URL or a path on this site starting with / such as /static/logo.svg"
        ));
    }
    Ok(value.to_string())
}

/// An accent colour, `#rrggbb` (either case), kept in lower case.
pub fn check_accent_color(value: &str) -> Result<String, String> {
    let value = value.trim();
    if !is_hex_colour(value) {
        return Err(format!(
            "`{value}` is not a colour; expected #rrggbb such as #0b57d0"
        ));
    }
    Ok(value.to_ascii_lowercase())
}

/// An IANA time zone name known to `chrono-tz` (case matters, as in the zone database).
pub fn check_time_zone(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.parse::<chrono_tz::Tz>().is_err() {
        return Err(format!(
            "`{value}` is not an IANA time zone; expected a name such as UTC, Europe/Berlin or America/Los_Angeles (case matters)"
        ));
    }
    Ok(value.to_string())
}

/// A footer link's label: trimmed, 1 to [`FOOTER_LABEL_MAX`] characters.
pub fn check_footer_label(value: &str) -> Result<String, String> {
    let label = value.trim();
    if label.is_empty() || label.chars().count() > FOOTER_LABEL_MAX {
        return Err(format!(
            "`{value}` must be 1 to {FOOTER_LABEL_MAX} characters"
        ));
    }
    if label.chars().any(char::is_control) {
        return Err(format!(
            "`{value}` must be a single line without control characters"
        ));
    }
    Ok(label.to_string())
}

/// A footer link's address: see [`is_link_url`].
pub fn check_footer_url(value: &str) -> Result<String, String> {
    if !is_link_url(value) {
        return Err(format!(
            "`{value}` is not a link; expected an http(s) URL or a path on this site starting with / such as /about"
        ));
    }
    Ok(value.to_string())
}

/// Footer links, each checked, at most [`super::FOOTER_LINKS_MAX`]. Problems are given as
/// (`footer_links[i].label`-style path, message).
pub fn check_footer_links(links: &[FooterLink]) -> Result<Vec<FooterLink>, Vec<(String, String)>> {
    let mut problems = Vec::new();
    if links.len() > super::FOOTER_LINKS_MAX {
        problems.push((
            "footer_links".to_string(),
            format!(
                "`{}` links is too many; expected at most {}",
                links.len(),
                super::FOOTER_LINKS_MAX
            ),
        ));
    }
    let mut out = Vec::with_capacity(links.len());
    for (i, link) in links.iter().enumerate() {
        let label = check_footer_label(&link.label)
            .map_err(|m| problems.push((format!("footer_links[{i}].label"), m)));
        let url = check_footer_url(&link.url)
            .map_err(|m| problems.push((format!("footer_links[{i}].url"), m)));
        if let (Ok(label), Ok(url)) = (label, url) {
            out.push(FooterLink { label, url });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A custom footer text: Markdown, at most [`FOOTER_TEXT_MAX`] characters, no NUL (which
/// PostgreSQL refuses in text). Rendered sanitised by `crate::markdown`, so any HTML in it is
/// made inert there, not here.
pub fn check_footer_text(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    let count = value.chars().count();
    if count > FOOTER_TEXT_MAX {
        return Err(format!(
            "is {count} characters long; expected at most {FOOTER_TEXT_MAX}"
        ));
    }
    Ok(value.trim().to_string())
}

impl PageSettings {
    /// Whether the configuration sets `field` (the web UI shows it read only and the API
    /// refuses to change it).
    pub fn is_configured(&self, field: PageField) -> bool {
        self.configured.contains(&field)
    }

    /// These settings with the stored ones applied: each field the configuration does not
    /// set takes the stored value when there is one (and it is still valid: a stored zone a
    /// later zone database dropped, say, falls back to the default rather than break the
    /// page), else keeps the built-in default.
    pub fn merged(&self, stored: &StoredPageSettings) -> PageSettings {
        let mut page = self.clone();
        let free = |field| !self.is_configured(field);
        if free(PageField::Name) {
            if let Some(name) = stored.name.as_deref().and_then(|v| check_name(v).ok()) {
                page.name = name;
            }
        }
        if free(PageField::LogoUrl) {
            if let Some(logo) = stored.logo_url.as_deref() {
                page.logo_url = check_logo_url(logo).ok();
            }
        }
        if free(PageField::AccentColor) {
            if let Some(colour) = stored.accent_color.as_deref() {
                page.accent_color = check_accent_color(colour).ok();
            }
        }
        if free(PageField::TimeZone) {
            if let Some(zone) = stored
                .time_zone
                .as_deref()
                .and_then(|v| check_time_zone(v).ok())
            {
                page.time_zone = zone;
            }
        }
        if free(PageField::FooterLinks) {
            if let Some(links) = &stored.footer_links {
                page.footer_links = check_footer_links(links).unwrap_or_default();
            }
        }
        if free(PageField::FooterText) {
            if let Some(text) = stored.footer_text.as_deref() {
                page.footer_text = check_footer_text(text).ok().filter(|t| !t.is_empty());
            }
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(configured: &[PageField]) -> PageSettings {
        PageSettings {
            name: "From file".into(),
            url: "https://status.example.com".into(),
            time_zone: DEFAULT_TIME_ZONE.into(),
            logo_url: None,
            accent_color: None,
            footer_links: Vec::new(),
            footer_text: None,
            vendors_public: true,
            configured: configured.iter().copied().collect(),
        }
    }

    fn stored() -> StoredPageSettings {
        StoredPageSettings {
            name: Some("Stored".into()),
            logo_url: Some("/logo.svg".into()),
            accent_color: Some("#AA0000".into()),
            time_zone: Some("Europe/Berlin".into()),
            footer_links: Some(vec![FooterLink {
                label: "Home".into(),
                url: "https://example.com".into(),
            }]),
            footer_text: Some("Run by **Acme**".into()),
            updated_at: None,
            updated_by: None,
        }
    }

    #[test]
    fn stored_values_apply_only_where_the_configuration_is_silent() {
        let merged = base(&[PageField::Name]).merged(&stored());
        assert_eq!(merged.name, "From file", "the file stays authoritative");
        assert_eq!(merged.logo_url.as_deref(), Some("/logo.svg"));
        assert_eq!(merged.accent_color.as_deref(), Some("#aa0000"));
        assert_eq!(merged.time_zone, "Europe/Berlin");
        assert_eq!(merged.footer_links.len(), 1);
        assert_eq!(merged.footer_text.as_deref(), Some("Run by **Acme**"));
        assert_eq!(merged.url, "https://status.example.com");

        let merged = base(&[]).merged(&StoredPageSettings::default());
        assert_eq!(merged.name, "From file");
        assert_eq!(merged.time_zone, "UTC");
    }

    #[test]
    fn invalid_stored_values_fall_back_instead_of_reaching_the_page() {
        let bad = StoredPageSettings {
            name: Some(" ".into()),
            logo_url: Some("javascript:alert(1)".into()),
            accent_color: Some("red".into()),
            time_zone: Some("Mars/Base".into()),
            footer_links: Some(vec![FooterLink {
                label: "x".into(),
                url: "javascript:x".into(),
            }]),
            footer_text: None,
            updated_at: None,
            updated_by: None,
        };
        let merged = base(&[]).merged(&bad);
        assert_eq!(merged.name, "From file");
        assert_eq!(merged.logo_url, None);
        assert_eq!(merged.accent_color, None);
        assert_eq!(merged.time_zone, "UTC");
        assert!(merged.footer_links.is_empty());
    }

    #[test]
    fn each_field_is_checked_with_a_clear_message() {
        assert!(check_accent_color("red").unwrap_err().contains("#rrggbb"));
        assert_eq!(check_accent_color("#0B57D0").unwrap(), "#0b57d0");
        assert!(check_time_zone("Mars/Base")
            .unwrap_err()
            .contains("not an IANA time zone"));
        assert!(check_logo_url("javascript:alert(1)").is_err());
        assert!(check_name(&"x".repeat(101)).is_err());
        assert!(check_footer_text(&"x".repeat(1001)).is_err());
        assert!(check_footer_text("a\0b").is_err());
        let many: Vec<FooterLink> = (0..11)
            .map(|i| FooterLink {
                label: format!("L{i}"),
                url: "/x".into(),
            })
            .collect();
        let problems = check_footer_links(&many).unwrap_err();
        assert!(problems[0].1.contains("too many"), "{problems:?}");
        assert_eq!(
            PageField::AccentColor.configured_message(),
            "`accent_color` is set in the configuration file (`page.accent_color` or `PHAROS_PAGE_ACCENT_COLOR`), which stays authoritative; change it there, or remove it there to manage it from the web UI and the API"
        );
    }
}
