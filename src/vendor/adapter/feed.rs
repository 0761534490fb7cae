//! STUB: replaced by the adapter's implementation.

use super::{Adapter, AdapterKind, Document, ParseError};
use crate::vendor::model::VendorSnapshot;
use url::Url;

pub struct StatuspageFeed;

impl Adapter for StatuspageFeed {
    fn kind(&self) -> AdapterKind {
        AdapterKind::StatuspageFeed
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "StatuspageFeed",
            detail: "not implemented".into(),
        })
    }
}

pub struct Feed;

impl Adapter for Feed {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Feed
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "Feed",
            detail: "not implemented".into(),
        })
    }
}
