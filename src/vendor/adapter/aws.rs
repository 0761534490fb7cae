//! STUB: replaced by the adapter's implementation.

use super::{Adapter, AdapterKind, Document, ParseError};
use crate::vendor::model::VendorSnapshot;
use url::Url;

pub struct AwsHealth;

impl Adapter for AwsHealth {
    fn kind(&self) -> AdapterKind {
        AdapterKind::AwsHealth
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "AwsHealth",
            detail: "not implemented".into(),
        })
    }
}

pub struct AwsStatus;

impl Adapter for AwsStatus {
    fn kind(&self) -> AdapterKind {
        AdapterKind::AwsStatus
    }
    fn documents(&self, page: &Url, source: Option<&Url>) -> Vec<Url> {
        vec![source.unwrap_or(page).clone()]
    }
    fn parse(&self, _doc: &Document<'_>) -> Result<VendorSnapshot, ParseError> {
        Err(ParseError::NotThisFormat {
            format: "AwsStatus",
            detail: "not implemented".into(),
        })
    }
}
