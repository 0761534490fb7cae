//! STUB: replaced by the adapter's implementation.

use super::{Adapter, AdapterKind, Document, ParseError};
use crate::vendor::model::VendorSnapshot;
use url::Url;

pub struct Statuspage;

impl Adapter for Statuspage {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Statuspage
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "Statuspage",
            detail: "not implemented".into(),
        })
    }
}

pub struct Incidentio;

impl Adapter for Incidentio {
    fn kind(&self) -> AdapterKind {
        AdapterKind::Incidentio
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "Incidentio",
            detail: "not implemented".into(),
        })
    }
}
