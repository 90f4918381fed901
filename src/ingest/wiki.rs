//! wiki import.
