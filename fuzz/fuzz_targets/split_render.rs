//! The line splitter on arbitrary text and budgets: pieces fit, nothing but the spaces at the
//! cuts is lost, and UTF-8 is never broken (the pieces are `String`s).
#![no_main]

use libfuzzer_sys::fuzz_target;
use srebot::testing::irc::split::split_text;

fuzz_target!(|input: (u16, &str)| {
    let (budget, text) = input;
    let budget = usize::from(budget) % 600;
    let pieces = split_text(text, budget);
    assert!(!pieces.is_empty());
    assert!(pieces.iter().all(|p| p.len() <= budget.max(4)));
    assert_eq!(pieces.concat().replace(' ', ""), text.replace(' ', ""));
});
