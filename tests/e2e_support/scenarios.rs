//! The scenarios the server plays, with the events each client must receive.

use super::*;

/// One step of a scripted stream.
pub enum Step {
    Send(Event),
    Pause(Duration),
}

/// Plays a script: sends its events, sleeping at the pauses.
pub(crate) fn play(steps: Vec<Step>) -> impl Stream<Item = Event> + Send {
    stream::unfold(steps.into_iter(), |mut steps| async move {
        loop {
            match steps.next()? {
                Step::Send(event) => return Some((event, steps)),
                Step::Pause(pause) => tokio::time::sleep(pause).await,
            }
        }
    })
}

/// An event as a client must deliver it.
#[derive(Clone, Debug)]
pub struct Expected {
    /// The event type (`message` by default).
    pub ty: String,
    pub data: String,
    /// `lastEventId` as a browser reports it: the last id seen on the stream, which
    /// persists from event to event (the spec's "last event ID buffer").
    pub last_event_id: String,
    /// The id field of the event's own block, if it had one (what
    /// `eventsource-parser` reports; npm `eventsource` reports it or "").
    pub own_id: Option<String>,
}

pub struct Scenario {
    pub steps: Vec<Step>,
    pub expected: Vec<Expected>,
    /// The named event types (for `addEventListener`).
    pub types: Vec<&'static str>,
    /// Explicit comments (not keep-alives) in the stream, in order.
    pub comments: Vec<&'static str>,
}

/// 1 MiB of text, the same every time, in one line.
pub fn one_mib() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;-_";
    let mut x: u32 = 0x5eed_1234;
    let mut s = String::with_capacity(1 << 20);
    while s.len() < 1 << 20 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        s.push(ALPHABET[(x >> 24) as usize % ALPHABET.len()] as char);
    }
    s
}

/// The event-content scenario (`/sse/events`): every kind of data and field a client
/// must rebuild exactly, with idle pauses long enough for several keep-alive comments,
/// ending with an event of type `done`.
pub fn content_scenario() -> Scenario {
    const GREETING: EventType = EventType::from_static("greeting");
    const DONE: EventType = EventType::from_static("done");
    let pause = || Step::Pause(KEEP_ALIVE * 9 / 2);
    let mut s = ScenarioBuilder::default();

    // Default type, with a numeric id.
    s.send(
        Event::new().id(1u64).data("hello"),
        "message",
        "hello",
        Some("1"),
    );
    // A named type (`addEventListener("greeting")`), with an id.
    s.send(
        Event::new().event(GREETING).id(2u64).data("named event"),
        "greeting",
        "named event",
        Some("2"),
    );
    // Multi-line data; a data line that looks like a field or a comment stays data.
    // No id: a browser's lastEventId stays "2".
    let lines = "line one\nkey: value\n: not a comment\nline four";
    s.send(Event::new().data(lines), "message", lines, None);
    s.steps.push(pause());
    // CRLF and lone CR arrive as LF (the encoder splits lines at all three).
    s.send(
        ev("crlf").data("crlf\r\nbecomes\r\nlf"),
        "crlf",
        "crlf\nbecomes\nlf",
        None,
    );
    s.send(
        ev("cr").data("lone\rcr\r\rtwice"),
        "cr",
        "lone\ncr\n\ntwice",
        None,
    );
    s.send(ev("mixed").data("a\r\n\rb\n"), "mixed", "a\n\nb\n", None);
    // Empty data is an event (one `data: ` line), delivered with data "".
    s.send(Event::new().data(""), "message", "", None);
    // Leading spaces and a tab survive: only the one space after the colon is eaten.
    let spaced = "  two leading spaces\n\tand a tab\ntrailing  ";
    s.send(ev("spaces").data(spaced), "spaces", spaced, None);
    // Non-ASCII data, type and id.
    let text = "héllo wörld — 日本語 — 🎉 ∑";
    s.send(
        ev("ünïcödé").try_id("ïd-✓").unwrap().data(text),
        "ünïcödé",
        text,
        Some("ïd-✓"),
    );
    s.steps.push(pause());
    // An event with an id and no data fires nothing, but a browser keeps its id...
    s.steps
        .push(Step::Send(Event::new().try_id("id-only").unwrap()));
    s.last_id = "id-only".to_owned();
    // ...and reports it with the next event.
    s.send(
        Event::new().data("after an id-only event"),
        "message",
        "after an id-only event",
        None,
    );
    // An empty id resets the last event id.
    s.send(
        Event::new().id(EventId::empty()).data("id reset"),
        "message",
        "id reset",
        Some(""),
    );
    // A trailing newline keeps its empty line.
    s.send(
        Event::new().data("trailing newline\n"),
        "message",
        "trailing newline\n",
        None,
    );
    // A comment inside an event does not disturb it.
    s.send(
        Event::new()
            .comment("a comment in an event")
            .data("commented"),
        "message",
        "commented",
        None,
    );
    // 1 MiB of data in one event.
    let big = one_mib();
    s.send(ev("big").id(3u64).data(&big), "big", &big, Some("3"));
    s.steps.push(pause());
    s.send(
        Event::new().event(DONE).id(4u64).data("end"),
        "done",
        "end",
        Some("4"),
    );

    Scenario {
        steps: s.steps,
        expected: s.expected,
        types: vec![
            "greeting",
            "crlf",
            "cr",
            "mixed",
            "spaces",
            "ünïcödé",
            "big",
            "done",
        ],
        comments: vec!["a comment in an event"],
    }
}

/// An event with a type given at run time.
pub(crate) fn ev(event_type: &str) -> Event {
    Event::new().try_event(event_type).unwrap()
}

#[derive(Default)]
pub(crate) struct ScenarioBuilder {
    steps: Vec<Step>,
    expected: Vec<Expected>,
    last_id: String,
}

impl ScenarioBuilder {
    fn send(&mut self, event: Event, ty: &str, data: &str, own_id: Option<&str>) {
        if let Some(id) = own_id {
            self.last_id = id.to_owned();
        }
        self.expected.push(Expected {
            ty: ty.to_owned(),
            data: data.to_owned(),
            last_event_id: self.last_id.clone(),
            own_id: own_id.map(str::to_owned),
        });
        self.steps.push(Step::Send(event));
    }
}

/// The `retry` of the resumption scenario's first connection, and of its second.
pub const RETRY_FIRST: Duration = Duration::from_millis(700);
pub const RETRY_SECOND: Duration = Duration::from_millis(1600);

/// Checks that a client of the resume scenario reconnected after the `retry` the server
/// sent each time (not its own default): [`RETRY_FIRST`] after the clean end, then
/// [`RETRY_SECOND`] after the abort. `hits` are the scenario's requests in order.
pub fn assert_reconnects_waited_for_retry(run: &str, hits: &[Arc<Hit>]) {
    for (i, (retry, how)) in [(RETRY_FIRST, "end"), (RETRY_SECOND, "abort")]
        .into_iter()
        .enumerate()
    {
        let (dropped, how_dropped) = hits[i]
            .dropped
            .lock()
            .unwrap()
            .expect("the stream was dropped");
        assert_eq!(how_dropped, how);
        let delay = hits[i + 1].at.duration_since(dropped);
        eprintln!(
            "{run}: reconnect {} after {how}: {delay:?} (retry {retry:?})",
            i + 1
        );
        assert!(
            delay + Duration::from_millis(50) >= retry
                && delay <= retry + Duration::from_millis(1000),
            "{run}: reconnect {} after {delay:?}, retry was {retry:?}",
            i + 1
        );
    }
}
/// How long the resumption scenario waits after its sixth event before it fails the
/// body. Settable (`SSEWIRE_E2E_DROP_AFTER_MS`) to show what happens with no wait.
pub(crate) static DROP_AFTER_MS: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    std::env::var("SSEWIRE_E2E_DROP_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
});

/// The `retry` of the 204 scenario.
pub const STOP_RETRY: Duration = Duration::from_millis(300);

/// The ids of the resumption scenario (`/sse/resume`): eight events; the stream ends
/// cleanly after the third and fails (connection aborted) after the sixth. With
/// `unicode`, the ids the client sends back after each drop are non-ASCII.
pub fn resume_ids(unicode: bool) -> Vec<String> {
    let (third, sixth) = if unicode {
        ("drei-ü-✓", "sechs-🎉")
    } else {
        ("3", "6")
    };
    ["1", "2", third, "4", "5", sixth, "7", "8"]
        .map(str::to_owned)
        .to_vec()
}

/// The data of the resumption scenario's events.
pub const RESUME_DATA: [&str; 8] = ["one", "two", "three", "four", "five", "six", "seven", "end"];

/// The events a WHATWG `EventSource` reports for the resumption scenario, in the
/// shape the recording scripts use: every event once, in order, the last one of type
/// `done`.
pub fn resume_expected(unicode: bool) -> Vec<Value> {
    let ids = resume_ids(unicode);
    RESUME_DATA
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (data, id))| {
            let ty = if i == ids.len() - 1 {
                "done"
            } else {
                "message"
            };
            json!({ "type": ty, "data": data, "lastEventId": id })
        })
        .collect()
}

/// The `readyState` a client reported with each of its `error` events.
pub fn ready_states(errors: &Value) -> Vec<Value> {
    errors
        .as_array()
        .expect("the script reports an array of errors")
        .iter()
        .map(|e| e["readyState"].clone())
        .collect()
}

/// The stream for one connection of the resumption scenario, starting at event
/// `start` (the one after the client's `Last-Event-ID`).
pub(crate) fn resume_stream(
    ids: Vec<String>,
    start: usize,
    hit: Arc<Hit>,
) -> impl Stream<Item = Result<Event, std::io::Error>> + Send {
    stream::unfold(start, move |i| {
        let ids = ids.clone();
        let hit = hit.clone();
        async move {
            if i > start && (i == 3 || i == 6) {
                if i == 3 {
                    *lock(&hit.dropped) = Some((Instant::now(), "end"));
                    return None; // the body ends cleanly
                }
                // The body fails: hyper cuts the connection (HTTP/1.1) or resets the
                // stream (HTTP/2). Not at once: an event sent right before the error
                // can be lost (HTTP/1.1: the connection may close before hyper
                // flushes it; HTTP/2: the reset discards the stream's queued DATA).
                // With SSEWIRE_E2E_DROP_AFTER_MS=0 the resume tests show it.
                tokio::time::sleep(Duration::from_millis(*DROP_AFTER_MS)).await;
                *lock(&hit.dropped) = Some((Instant::now(), "abort"));
                return Some((Err(std::io::Error::other("planned drop")), usize::MAX));
            }
            if i >= ids.len() {
                // After `done`: stay open; the client closes.
                stream::pending::<()>().next().await;
                return None;
            }
            // Pace the events a little, so a drop never races the events before it.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut event = Event::new();
            if i == 0 {
                event = event.retry(RETRY_FIRST);
            } else if i == 3 {
                event = event.retry(RETRY_SECOND);
            }
            if i == ids.len() - 1 {
                event = event.try_event("done").unwrap();
            }
            let event = event.try_id(ids[i].clone()).unwrap().data(RESUME_DATA[i]);
            Some((Ok(event), i + 1))
        }
    })
}
