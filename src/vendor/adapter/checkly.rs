//! STUB: replaced by the adapter's implementation.

use super::{Adapter, AdapterKind, Document, ParseError};
use crate::vendor::model::VendorSnapshot;
use url::Url;

pub struct Checkly;

impl Adapter for Checkly {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Checkly
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "Checkly",
            detail: "not implemented".into(),
        })
    }
}
