//! Comparing what a client received with what was sent.

use super::*;

/// Compares what a client received with what was sent, event by event, with a message
/// that shows the first difference (long data cut).
pub fn assert_events(
    client: &str,
    got: &[Value],
    expected: &[Expected],
    field: impl Fn(&Expected) -> Value,
) {
    let got_len = got.len();
    for (i, (got, want)) in got.iter().zip(expected).enumerate() {
        let want = field(want);
        assert!(
            *got == want,
            "{client}: event #{i} differs\n got: {}\nwant: {}",
            shorten(got),
            shorten(&want)
        );
    }
    assert_eq!(
        got_len,
        expected.len(),
        "{client}: received {got_len} events, sent {}; got: {}",
        expected.len(),
        shorten(&Value::Array(got.to_vec()))
    );
}

/// `(event, data, lastEventId)` records without their timestamps.
pub fn without_time(events: &Value, keys: &[&str]) -> Vec<Value> {
    events
        .as_array()
        .expect("an array of events")
        .iter()
        .map(|e| {
            Value::Object(
                keys.iter()
                    .map(|k| ((*k).to_owned(), e.get(*k).cloned().unwrap_or(Value::Null)))
                    .collect(),
            )
        })
        .collect()
}
