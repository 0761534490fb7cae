//! `[[vendors.follow]]`: vendors declared in the configuration file, read into
//! [`DeclaredVendor`]s with the rules the management API applies
//! ([`validate_vendor`]). An entry names a catalog vendor (`catalog = "github"`, which
//! supplies the name, page, adapter and source) or gives `page_url` and `adapter` itself;
//! its `slug` is its stable key. Detection is not run from the file (start-up does no
//! network I/O): name the adapter, or use the catalog.
//!
//! This module only reads and validates; reconciling with the store is
//! `Store::reconcile_vendors`.

use super::UnknownKeys;
use crate::vendor::adapter::AdapterKind;
use crate::vendor::record::{validate_vendor, DeclaredVendor, DEFAULT_POLL_SECS};
use serde::Deserialize;
use std::collections::BTreeSet;

/// A `[[vendors.follow]]` entry as written; loosely typed so every problem is reported.
#[derive(Debug, Deserialize)]
pub(super) struct VendorDecl {
    slug: Option<String>,
    catalog: Option<String>,
    name: Option<String>,
    page_url: Option<String>,
    source_url: Option<String>,
    adapter: Option<String>,
    poll_interval_seconds: Option<i64>,
    #[serde(default)]
    components_of_interest: Vec<String>,
    enabled: Option<bool>,
    #[serde(flatten)]
    pub(super) unknown: UnknownKeys,
}

pub(super) fn declared_vendors(
    problems: &mut Vec<String>,
    decls: Vec<VendorDecl>,
) -> Vec<DeclaredVendor> {
    let mut slugs = BTreeSet::new();
    let mut out = Vec::new();
    for (i, v) in decls.into_iter().enumerate() {
        let at = format!("vendors.follow[{i}]");
        let entry = match &v.catalog {
            Some(key) => match crate::vendor::catalog::find(key) {
                Some(e) => Some(e),
                None => {
                    problems.push(format!(
                        "{at}.catalog: `{key}` is not in the catalog; see `pharos vendor catalog`, or give page_url and adapter"
                    ));
                    continue;
                }
            },
            None => None,
        };
        let slug = v.slug.clone().or_else(|| entry.map(|e| e.slug.clone()));
        let Some(slug) = slug else {
            problems.push(format!(
                "{at}.slug: missing; expected the vendor's stable key, such as \"github\""
            ));
            continue;
        };
        if !slugs.insert(slug.clone()) {
            problems.push(format!("{at}.slug: `{slug}` is declared twice"));
            continue;
        }
        let page_url = v
            .page_url
            .clone()
            .or_else(|| entry.map(|e| e.page_url.clone()));
        let Some(page_url) = page_url else {
            problems.push(format!(
                "{at}.page_url: missing; give the vendor's status page URL, or `catalog`"
            ));
            continue;
        };
        let adapter = match (&v.adapter, entry) {
            (Some(a), _) => match a.parse::<AdapterKind>() {
                Ok(a) => a,
                Err(err) => {
                    problems.push(format!("{at}.adapter: {err}"));
                    continue;
                }
            },
            (None, Some(e)) => e.adapter,
            (None, None) => {
                problems.push(format!(
                    "{at}.adapter: missing; the file does not detect formats: name one (`pharos vendor add URL` or POST /api/v1/vendors/detect tells which)"
                ));
                continue;
            }
        };
        let source_url = v
            .source_url
            .clone()
            .or_else(|| entry.and_then(|e| e.source_url.clone()));
        let interval = v.poll_interval_seconds.unwrap_or(DEFAULT_POLL_SECS as i64);
        let interval = u64::try_from(interval).unwrap_or(0);
        let before = problems.len();
        for problem in validate_vendor(&slug, &page_url, source_url.as_deref(), interval) {
            problems.push(format!("{at}: {problem}"));
        }
        let name = v
            .name
            .clone()
            .or_else(|| entry.map(|e| e.name.clone()))
            .unwrap_or_else(|| slug.clone());
        if name.trim().is_empty()
            || name.chars().count() > 255
            || name.chars().any(char::is_control)
        {
            problems.push(format!(
                "{at}.name: must be 1 to 255 characters on one line"
            ));
        }
        if v.components_of_interest
            .iter()
            .any(|c| c.trim().is_empty() || c.chars().count() > 255)
        {
            problems.push(format!(
                "{at}.components_of_interest: each id is 1 to 255 characters"
            ));
        }
        if problems.len() > before {
            continue;
        }
        out.push(DeclaredVendor {
            slug,
            name: name.trim().to_string(),
            page_url,
            source_url,
            adapter,
            poll_interval_seconds: interval,
            components_of_interest: v
                .components_of_interest
                .iter()
                .map(|c| c.trim().to_string())
                .collect(),
            enabled: v.enabled.unwrap_or(true),
        });
    }
    out
}
