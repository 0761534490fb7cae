//! The vendor catalog: well-known third-party services whose status pages are public, with
//! the adapter that reads each one, so `pharos vendor add github` (or one click in the UI)
//! follows a vendor without anyone typing a URL.
//!
//! The data lives in `catalog/vendors.toml` at the repository root and is compiled into the
//! binary with `include_str!`; it is parsed once, on first use. Every entry says where its
//! facts come from (`source`): the captures in `shared/fixtures`, public lists of status
//! pages and public code that polls those pages. The facts are public but they drift
//! (vendors move between status page providers and hosts), so the file must be re-verified
//! periodically; auto-detection (`vendor::detect`) remains the way to follow anything else.
//!
//! This module only answers questions about the catalog. It does not create vendors, fetch
//! anything or validate pages at run time: the tests below check every entry instead.
//!
//! To add an entry, append a `[[vendor]]` table to `catalog/vendors.toml` with a unique
//! `slug`, a `name`, a `category` from [`Category::ALL`], the human `page_url`, the
//! `adapter`, a `source_url` only when the adapter cannot derive its endpoint from the page
//! (status.io, Checkly, a plain feed), and the `source` of the facts; then run
//! `cargo test --lib vendor::catalog`.

use super::adapter::AdapterKind;
use serde::Deserialize;
use std::fmt;
use std::sync::LazyLock;

/// What kind of service a vendor is, for grouping and search. The names are the ones the
/// catalog file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Public clouds and infrastructure-as-a-service.
    Cloud,
    /// Content delivery networks and edge platforms.
    Cdn,
    /// DNS hosting and domain registrars.
    Dns,
    /// Payment processing, billing and crypto exchanges.
    Payments,
    /// Identity, single sign-on and identity verification.
    Auth,
    /// Email delivery and email marketing.
    Email,
    /// SMS, voice, push and real-time messaging APIs.
    Messaging,
    /// Source hosting, CI/CD, package registries and developer tools.
    Devtools,
    /// Monitoring, logging, error tracking and incident response.
    Observability,
    /// Databases, data pipelines and data platforms.
    Data,
    /// AI models and machine-learning platforms.
    Ai,
    /// Chat, meetings, calling and visual collaboration.
    Communication,
    /// Work management, documents, forms, CMS and back-office SaaS.
    Productivity,
    /// Security, secrets, password managers and compliance.
    Security,
    /// Online stores, shipping and commerce services.
    Ecommerce,
    /// Application hosting and managed web hosting.
    Hosting,
    /// Product analytics, experimentation and attribution.
    Analytics,
    /// CRM, customer support and sales tools.
    Crm,
    /// File storage, sharing and backup.
    Storage,
    /// Maps, geocoding and location data.
    Maps,
    /// Video, images, streaming and media platforms.
    Media,
}

impl Category {
    /// Every category, in the order the catalog file lists them.
    pub const ALL: &'static [Category] = &[
        Category::Cloud,
        Category::Cdn,
        Category::Dns,
        Category::Payments,
        Category::Auth,
        Category::Email,
        Category::Messaging,
        Category::Devtools,
        Category::Observability,
        Category::Data,
        Category::Ai,
        Category::Communication,
        Category::Productivity,
        Category::Security,
        Category::Ecommerce,
        Category::Hosting,
        Category::Analytics,
        Category::Crm,
        Category::Storage,
        Category::Maps,
        Category::Media,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Cloud => "cloud",
            Category::Cdn => "cdn",
            Category::Dns => "dns",
            Category::Payments => "payments",
            Category::Auth => "auth",
            Category::Email => "email",
            Category::Messaging => "messaging",
            Category::Devtools => "devtools",
            Category::Observability => "observability",
            Category::Data => "data",
            Category::Ai => "ai",
            Category::Communication => "communication",
            Category::Productivity => "productivity",
            Category::Security => "security",
            Category::Ecommerce => "ecommerce",
            Category::Hosting => "hosting",
            Category::Analytics => "analytics",
            Category::Crm => "crm",
            Category::Storage => "storage",
            Category::Maps => "maps",
            Category::Media => "media",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One vendor of the catalog: everything needed to follow it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The vendor's slug when it is added, e.g. `github`.
    pub slug: String,
    pub name: String,
    pub category: Category,
    /// The status page, for people.
    pub page_url: String,
    pub adapter: AdapterKind,
    /// The endpoint to fetch when the adapter cannot derive it from `page_url`.
    pub source_url: Option<String>,
    /// Where the facts of this entry come from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    vendor: Vec<CatalogEntry>,
}

const CATALOG_TOML: &str = include_str!("../../catalog/vendors.toml");

static CATALOG: LazyLock<Vec<CatalogEntry>> = LazyLock::new(|| {
    // The file is part of the source tree and the tests parse it, so a failure here is a
    // build that skipped them: say so plainly rather than limp on without a catalog.
    match toml::from_str::<CatalogFile>(CATALOG_TOML) {
        Ok(file) => file.vendor,
        Err(err) => panic!("catalog/vendors.toml does not parse: {err}"),
    }
});

/// Every catalog entry, in file order.
pub fn catalog() -> &'static [CatalogEntry] {
    &CATALOG
}

/// The entry with exactly this slug.
pub fn find(slug: &str) -> Option<&'static CatalogEntry> {
    catalog().iter().find(|entry| entry.slug == slug)
}

/// Entries whose slug, name or category contains `query`, ignoring case: the exact slug
/// first, then entries where a slug, name or category starts with the query, then the
/// others; file order within each group. A blank query matches nothing.
pub fn search(query: &str) -> Vec<&'static CatalogEntry> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(u8, &'static CatalogEntry)> = catalog()
        .iter()
        .filter_map(|entry| match_rank(entry, &query).map(|rank| (rank, entry)))
        .collect();
    // A stable sort keeps file order among entries of the same rank.
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, entry)| entry).collect()
}

/// 0 for the exact slug, 1 for a prefix of a field, 2 for a substring; `None` if no field
/// contains the (lower-case) query.
fn match_rank(entry: &CatalogEntry, query: &str) -> Option<u8> {
    let slug = entry.slug.to_lowercase();
    if slug == query {
        return Some(0);
    }
    let fields = [slug, entry.name.to_lowercase(), entry.category.to_string()];
    if fields.iter().any(|field| field.starts_with(query)) {
        Some(1)
    } else if fields.iter().any(|field| field.contains(query)) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::record::{check_url, validate_vendor, DEFAULT_POLL_SECS};
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn the_catalog_is_large() {
        assert!(catalog().len() >= 300, "only {} entries", catalog().len());
    }

    #[test]
    fn every_entry_would_be_a_valid_vendor() {
        for entry in catalog() {
            let problems = validate_vendor(
                &entry.slug,
                &entry.page_url,
                entry.source_url.as_deref(),
                DEFAULT_POLL_SECS,
            );
            assert!(problems.is_empty(), "{}: {problems:?}", entry.slug);
        }
    }

    #[test]
    fn slugs_and_names_are_unique() {
        let mut slugs = HashSet::new();
        let mut names = HashSet::new();
        for entry in catalog() {
            assert!(slugs.insert(&entry.slug), "slug {} twice", entry.slug);
            assert!(
                names.insert(entry.name.to_lowercase()),
                "name {} twice",
                entry.name
            );
        }
    }

    #[test]
    fn urls_are_https_with_a_host() {
        for entry in catalog() {
            for url in [Some(&entry.page_url), entry.source_url.as_ref()]
                .into_iter()
                .flatten()
            {
                let parsed = check_url(url).unwrap_or_else(|err| panic!("{}: {err}", entry.slug));
                assert_eq!(parsed.scheme(), "https", "{}: {url}", entry.slug);
                assert!(
                    parsed.host_str().is_some_and(|host| host.contains('.')),
                    "{}: {url}",
                    entry.slug
                );
            }
        }
    }

    #[test]
    fn adapters_that_cannot_derive_their_endpoint_have_a_source_url() {
        // status.io and Checkly pages do not serve their API under the page, and the
        // generic feed adapter fetches the URL it is given: without a source_url each of
        // them would fetch the HTML page.
        let needs_source = [
            AdapterKind::Statusio,
            AdapterKind::Checkly,
            AdapterKind::Feed,
        ];
        for entry in catalog() {
            if needs_source.contains(&entry.adapter) {
                assert!(
                    entry.source_url.is_some(),
                    "{} uses {} without a source_url",
                    entry.slug,
                    entry.adapter
                );
            }
            if entry.adapter == AdapterKind::Statusio {
                let source = entry.source_url.as_deref().unwrap_or_default();
                assert!(
                    source.starts_with("https://api.status.io/1.0/status/"),
                    "{}: {source}",
                    entry.slug
                );
            }
        }
    }

    #[test]
    fn every_adapter_in_use_is_known() {
        // Deserialising already rejected unknown names; this checks the round trip through
        // the names the API and configuration accept.
        for entry in catalog() {
            let name = entry.adapter.as_str();
            assert_eq!(name.parse::<AdapterKind>().ok(), Some(entry.adapter));
        }
    }

    #[test]
    fn every_category_is_used_at_least_three_times() {
        let mut counts: BTreeMap<Category, usize> = BTreeMap::new();
        for entry in catalog() {
            *counts.entry(entry.category).or_default() += 1;
        }
        for category in Category::ALL {
            let count = counts.get(category).copied().unwrap_or(0);
            assert!(count >= 3, "{category} has {count} entries");
        }
    }

    #[test]
    fn every_entry_says_where_it_comes_from() {
        for entry in catalog() {
            assert!(
                !entry.source.trim().is_empty(),
                "{} has no source",
                entry.slug
            );
            assert!(!entry.name.trim().is_empty(), "{} has no name", entry.slug);
        }
    }

    #[test]
    fn category_names_round_trip() {
        let names: HashSet<&str> = Category::ALL.iter().map(Category::as_str).collect();
        assert_eq!(names.len(), Category::ALL.len());
        for category in Category::ALL {
            let parsed: Category =
                serde_json::from_value(serde_json::Value::from(category.as_str())).unwrap();
            assert_eq!(parsed, *category);
        }
    }

    #[test]
    fn find_returns_the_exact_slug() {
        let github = find("github").expect("github is in the catalog");
        assert_eq!(github.name, "GitHub");
        assert_eq!(github.adapter, AdapterKind::Statuspage);
        assert_eq!(github.page_url, "https://www.githubstatus.com");
        assert_eq!(github.category, Category::Devtools);
        assert!(github.source_url.is_none());
        assert!(find("GitHub").is_none(), "slugs are matched exactly");
        assert!(find("no-such-vendor").is_none());
    }

    /// Whether a slug, name or category of the entry starts with the (lower-case) query.
    fn starts_with(entry: &CatalogEntry, query: &str) -> bool {
        [
            entry.slug.clone(),
            entry.name.to_lowercase(),
            entry.category.to_string(),
        ]
        .iter()
        .any(|field| field.starts_with(query))
    }

    #[test]
    fn search_ranks_exact_then_prefix_then_substring() {
        let found = search("git");
        let slugs: Vec<&str> = found.iter().map(|entry| entry.slug.as_str()).collect();
        for expected in ["github", "gitlab", "digitalocean"] {
            assert!(
                slugs.contains(&expected),
                "{expected} missing from {slugs:?}"
            );
        }
        let position = |slug: &str| slugs.iter().position(|s| *s == slug).unwrap();
        // DigitalOcean only contains "git"; GitHub and GitLab start with it.
        assert!(position("github") < position("digitalocean"));
        assert!(position("gitlab") < position("digitalocean"));
        // Every prefix match comes before every substring-only match.
        let first_substring = found
            .iter()
            .position(|entry| !starts_with(entry, "git"))
            .unwrap_or(found.len());
        assert!(found[first_substring..]
            .iter()
            .all(|entry| !starts_with(entry, "git")));
        // Substring matches are found too (e.g. a name with "git" inside).
        assert!(found
            .iter()
            .all(|entry| entry.slug.contains("git") || entry.name.to_lowercase().contains("git")));

        // The exact slug comes first even when other entries start with the query.
        assert_eq!(search("github")[0].slug, "github");
        assert_eq!(search("GITLAB")[0].slug, "gitlab");
        assert_eq!(search("  npm ")[0].slug, "npm");
        assert_eq!(search("Docker")[0].slug, "docker");
    }

    #[test]
    fn search_matches_categories_and_keeps_file_order() {
        // Every ai entry matches on its category as a prefix, so all rank the same and
        // must come out in file order.
        let from_search: Vec<&str> = search("ai")
            .into_iter()
            .filter(|entry| entry.category == Category::Ai)
            .map(|entry| entry.slug.as_str())
            .collect();
        let from_file: Vec<&str> = catalog()
            .iter()
            .filter(|entry| entry.category == Category::Ai)
            .map(|entry| entry.slug.as_str())
            .collect();
        assert_eq!(from_search, from_file);
        assert!(from_search.contains(&"mistral"));

        assert!(search("").is_empty());
        assert!(search("   ").is_empty());
        assert!(search("zzzz-no-such-thing").is_empty());
    }
}
