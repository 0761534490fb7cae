//! STUB: replaced by the adapter's implementation.

use super::{Adapter, AdapterKind, Document, ParseError};
use crate::vendor::model::VendorSnapshot;
use url::Url;

pub struct Salesforce;

impl Adapter for Salesforce {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Salesforce
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "Salesforce",
            detail: "not implemented".into(),
        })
    }
}
