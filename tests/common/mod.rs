//! Shared test harness: fresh databases, the in-process app and the real binary.
#![allow(dead_code)]

pub mod admin;
pub mod app;
pub mod browser;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod receiver;
pub mod smtp;
pub mod source;
pub mod sqlite;
