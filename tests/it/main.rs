//! Integration tests against a real IRC network (InspIRCd + Atheme); see
//! `support` for the fixture. Run with `cargo test --test it`.

mod botproc;
mod fixture_smoke;
mod incident;
mod resilience;
mod sal;
mod support;
