//! Integration tests against a real IRC network (InspIRCd + Atheme); see
//! `support` for the fixture. Run with `cargo test --test it`.

mod alerts;
mod badinput;
mod botproc;
mod browser;
mod channel_case;
mod cli;
mod clinic;
mod conn;
mod demo;
mod fixture_smoke;
mod http;
mod incident;
mod ingest;
mod logqueue;
mod mediawiki;
mod package;
mod phorge;
mod reload;
mod resilience;
mod sal;
mod sal_depth;
mod support;
mod tls;
mod web;

/// A channel name as a query-string value.
pub fn http_param(s: &str) -> String {
    s.replace('#', "%23")
}
