//! The hyper transport over TLS (feature `client-hyper-rustls`), against a loopback
//! server with a throwaway self-signed certificate.

use std::sync::Arc;

use futures_util::StreamExt;
use hyper_util::client::legacy::Client;
use ssewire::client::{Config, Error, EventSource, HyperTransport, Item, RetryCause};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// An HTTPS server: two events, then 204 once Last-Event-ID is 2. Returns its URL and
/// its certificate.
async fn server() -> (String, rustls::pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let response: &[u8] = if head.contains("\r\nlast-event-id: 2\r\n") {
                    b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
                } else {
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
                      retry: 10\n\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n"
                };
                let _ = tls.write_all(response).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://localhost:{port}/events"), cert)
}

#[tokio::test]
async fn https_with_a_trusted_certificate_streams_and_resumes() {
    let (url, cert) = server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
    let mut source = EventSource::new(
        url.parse().unwrap(),
        HyperTransport::from_client(client),
        ssewire::TokioTimer,
    )
    .with_config(Config::new().with_jitter(0.0));
    let mut seen = vec![];
    while let Some(item) = source.next().await {
        match item.unwrap() {
            Item::Event(e) => seen.push(format!("{} {}", e.last_event_id(), e.data())),
            Item::Open(o) => seen.push(format!("open {}", o.last_event_id)),
            _ => {}
        }
    }
    assert_eq!(seen, ["open ", "1 a", "2 b"]);
    assert_eq!(source.stats().requests, 2);
}

#[tokio::test]
async fn the_default_transport_speaks_tls_and_rejects_an_untrusted_certificate() {
    let (url, _) = server().await;
    let mut source = EventSource::hyper(url.parse().unwrap())
        .with_config(Config::new().with_max_attempts(Some(1)));
    match source.next().await {
        Some(Err(Error::GaveUp {
            cause: RetryCause::Transport(error),
            ..
        })) => {
            let mut chain = vec![error.to_string()];
            let mut source = error.source();
            while let Some(e) = source {
                chain.push(e.to_string());
                source = e.source();
            }
            let chain = chain.join(": ");
            assert!(chain.to_lowercase().contains("certificate"), "{chain}");
        }
        other => panic!("{other:?}"),
    }
}
