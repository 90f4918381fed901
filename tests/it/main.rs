//! Integration tests against a real IRC network (InspIRCd + Atheme); see
//! `support` for the fixture. Run with `cargo test --test it`.

mod badinput;
mod botproc;
mod browser;
mod cli;
mod clinic;
mod fixture_smoke;
mod http;
mod incident;
mod logqueue;
mod mediawiki;
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
