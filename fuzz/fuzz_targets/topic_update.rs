//! The topic editor on arbitrary topics and names: never panics; a new topic fits TOPICLEN,
//! holds our section, and writing the same duty again changes nothing; only TOPICLEN can stop
//! it from placing our section.
//!
//! Input: NUL-separated fields: topic, clinician, backup, team; the first byte picks the
//! separator and the second TOPICLEN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use srebot::testing::clinic::topic::{self, Duty};

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
    let topic_len = usize::from(*len) * 2;
    match topic::update(topic, LABEL, sep, &duty, topic_len) {
        Ok(Some(new)) => {
            assert!(new.len() <= topic_len);
            assert!(topic::current_section(&new, LABEL, sep).is_some());
            assert_eq!(topic::update(&new, LABEL, sep, &duty, topic_len), Ok(None));
        }
        Ok(None) => assert!(topic::current_section(topic, LABEL, sep).is_some()),
        Err(topic::Unfit::TooLong) => {}
        Err(unfit) => panic!("{unfit}: {topic:?}"),
    }
});
