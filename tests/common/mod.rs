//! Shared test harness: fresh databases and the in-process app.
#![allow(dead_code)]

pub mod app;
pub mod postgres;
