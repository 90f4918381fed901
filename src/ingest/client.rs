//! `srebot log`.
