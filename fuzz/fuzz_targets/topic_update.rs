//! The topic editor on arbitrary topics and names: never panics; a new topic fits TOPICLEN,
//! holds our section, and writing the same duty again changes nothing.
//!
//! Input: NUL-separated fields: topic, clinician, backup, team; the first byte picks the
//! separator and the second TOPICLEN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use srebot::clinic::topic::{self, Duty};

const LABEL: &str = "SRE Clinic Duty:";
const SEPARATORS: &[&str] = &[" | ", " / ", "|", " - "];

fuzz_target!(|data: &[u8]| {
    let [sep, len, rest @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut fields = text.split('\0');
    let topic = fields.next().unwrap_or_default();
    let mut field = || fields.next().map(str::to_string);
    let duty = Duty { clinician: field(), backup: field(), team: field() };
    let sep = SEPARATORS[usize::from(*sep) % SEPARATORS.len()];
    // The known bug where a name forms the separator (see tests/props.rs) is left out until fixed.
    let mark = sep.trim();
    if [&duty.clinician, &duty.backup, &duty.team].iter().any(|n| n.as_deref().is_some_and(|n| n.contains(mark))) {
        return;
    }
    let topic_len = usize::from(*len) * 2;
    if let Ok(Some(new)) = topic::update(topic, LABEL, sep, &duty, topic_len) {
        assert!(new.len() <= topic_len);
        assert!(topic::current_section(&new, LABEL, sep).is_some());
        assert_eq!(topic::update(&new, LABEL, sep, &duty, topic_len), Ok(None));
    }
});
