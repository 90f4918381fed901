//! Reading the bot's acks back: which entry ids they name.

/// The entry ids an ack names: `Logged #7, alice`, or merged, `Logged #5–#9, #12 (alice ×3, bob ×3)`.
/// Nicks cannot contain `#` and links name ids after `/sal/`, so every `#N` (or `#N–#M`) is an id.
pub fn acked_ids(text: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('#') {
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(start) = rest[..digits].parse::<i64>() else { continue };
        rest = &rest[digits..];
        let end = match rest.strip_prefix("\u{2013}#") {
            Some(r) => {
                let d = r.bytes().take_while(u8::is_ascii_digit).count();
                rest = &r[d..];
                r[..d].parse::<i64>().unwrap_or(start)
            }
            None => start,
        };
        ids.extend(start..=end);
    }
    ids
}

#[test]
fn acked_ids_reads_single_and_merged_acks() {
    assert_eq!(acked_ids("Logged #7, alice"), vec![7]);
    assert_eq!(acked_ids("Logged #5\u{2013}#7, #9 (alice ×3, bob)"), vec![5, 6, 7, 9]);
    assert_eq!(acked_ids("Logged #3 https://x/sal/3, al"), vec![3]);
}
