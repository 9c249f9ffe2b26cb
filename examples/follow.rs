//! Follows an SSE stream like a browser's `EventSource`, reconnecting as needed.
//!
//! ```text
//! cargo run --example follow -- URL [--last-event-id ID] [--retry-server-errors]
//! ```
//!
//! Prints one JSON line per event on stdout (`{"type":..,"data":..,"id":..}`) and one
//! line per (re)connect on stderr. Exits 0 when the server answers 204 (its way of
//! saying "stop"), 1 on a fatal error (with the reason), 2 on bad arguments.

use std::io::Write;
use std::process::ExitCode;

use futures_util::StreamExt;
use ssewire::client::{Config, EventSource, Item};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let mut args = match args {
        Ok(args) => args.into_iter(),
        Err(arg) => return usage(&format!("not UTF-8: {arg:?}")),
    };
    let mut url = None;
    let mut config = Config::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--last-event-id" => match args.next() {
                Some(id) => match ssewire::EventId::new(id) {
                    Ok(id) => config = config.with_last_event_id(id),
                    Err(err) => return usage(&format!("--last-event-id: {err}")),
                },
                None => return usage("--last-event-id needs a value"),
            },
            "--retry-server-errors" => config = config.with_retry_server_errors(true),
            "-h" | "--help" => return usage(""),
            _ if url.is_none() => url = Some(arg),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(url) = url else {
        return usage("missing URL");
    };
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => return usage(&format!("invalid URL {url:?}: {e}")),
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return usage(&format!("not an http:// or https:// URL: {url:?}"));
    }

    let mut source = EventSource::hyper(uri).with_config(config);
    let mut stdout = std::io::stdout().lock();
    while let Some(item) = source.next().await {
        match item {
            Ok(Item::Event(event)) => {
                let line = serde_json::json!({
                    "type": event.event_type(),
                    "data": event.data(),
                    "id": event.last_event_id(),
                });
                if writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return ExitCode::SUCCESS; // stdout closed (e.g. piped into `head`)
                }
            }
            Ok(Item::Open(open)) => {
                let resume = if open.last_event_id.is_empty() {
                    String::new()
                } else {
                    format!(" (Last-Event-ID: {})", open.last_event_id)
                };
                eprintln!("connected to {}{resume}", open.uri);
            }
            Ok(Item::Retrying(retry)) => {
                eprintln!("{}; reconnecting in {:.1?}", retry.cause, retry.delay);
            }
            Ok(Item::Skipped(error)) => eprintln!("event dropped: {error}"),
            Ok(_) => {}
            Err(error) => {
                eprintln!("follow: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("the server answered 204 No Content: done");
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    if !problem.is_empty() {
        eprintln!("follow: {problem}");
    }
    eprintln!("usage: follow URL [--last-event-id ID] [--retry-server-errors]");
    if problem.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
