//! Several nodes on one Redis: one order everywhere, resumption on any node, loss said
//! out loud, bounded connections. Each test starts its own `redis-server`; they are
//! ignored by plain `cargo test` and run in CI with
//! `cargo test -p ssewire-tests --features redis --test redis_cluster -- --ignored`.

mod redis_support;

use std::time::Duration;

use redis_support::*;
use ssewire::broker::{NodeConfig, NodeResume};
use ssewire::hub::Config as HubConfig;
use ssewire::Event;

const TOPIC: &str = "news";

/// Three nodes, publishers on every node at once, subscribers joining, leaving and
/// resuming across nodes: every subscriber sees exactly the stream's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn three_nodes_one_order() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let nodes = [node(&redis.url()), node(&redis.url()), node(&redis.url())];
    let mut watchers = Vec::new();
    for node in &nodes {
        watchers.push(node.subscribe(TOPIC, None).await.unwrap());
    }
    // A subscriber that reads a bit on node 0, leaves, and resumes on node 1, then on 2.
    // It subscribes before the first publish, so it is owed every event of the stream
    // (subscribed after the publishers start, it could miss the first ones).
    let mut roamer = nodes[0].subscribe(TOPIC, None).await.unwrap();
    // Publishers on every node, concurrently: 3 x 60 events.
    let mut publishers = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        let node = node.clone();
        publishers.push(tokio::spawn(async move {
            for i in 0..60 {
                node.publish(TOPIC, Event::with_data(format!("node {n} event {i}")))
                    .await
                    .unwrap();
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    let mut roamed = take(&mut roamer, 20).await;
    drop(roamer);
    let last = roamed.last().unwrap().id.clone().unwrap();
    let mut roamer = nodes[1].subscribe(TOPIC, Some(&id(&last))).await.unwrap();
    roamed.extend(take(&mut roamer, 40).await);
    drop(roamer);
    let last = roamed.last().unwrap().id.clone().unwrap();
    let mut roamer = nodes[2].subscribe(TOPIC, Some(&id(&last))).await.unwrap();
    // A late joiner on node 2.
    let mut late = nodes[2].subscribe(TOPIC, None).await.unwrap();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let stream = redis.stream_ids("ssewire:{news}");
    assert_eq!(stream.len(), 180);
    let newest = stream.last().unwrap().clone();
    for watcher in &mut watchers {
        let got = take_until(watcher, &newest).await;
        assert_eq!(
            ids(&got),
            stream,
            "a watcher's order differs from the stream's"
        );
    }
    roamed.extend(take_until(&mut roamer, &newest).await);
    assert_eq!(
        ids(&roamed),
        stream,
        "the roaming subscriber lost or repeated events"
    );
    let late_ids = ids(&take_until(&mut late, &newest).await);
    assert!(
        stream.ends_with(&late_ids),
        "a late joiner gets a contiguous suffix"
    );
    for watcher in &mut watchers {
        assert!(!watcher.resume().eq(&NodeResume::HistoryLost));
    }
}

/// A client leaves node A and resumes on node B (which never followed the topic:
/// the gap comes from Redis) while events keep being published on A and C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn resume_on_other_node_while_publishing() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, b, c) = (node(&redis.url()), node(&redis.url()), node(&redis.url()));
    let mut client = a.subscribe(TOPIC, None).await.unwrap();
    for i in 0..30 {
        a.publish(TOPIC, Event::with_data(format!("before {i}")))
            .await
            .unwrap();
    }
    let mut seen = take(&mut client, 10).await;
    drop(client);
    let publishers: Vec<_> = [a.clone(), c.clone()]
        .into_iter()
        .map(|node| {
            tokio::spawn(async move {
                for i in 0..100 {
                    node.publish(TOPIC, Event::with_data(format!("during {i}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let last = seen.last().unwrap().id.clone().unwrap();
    let mut client = b.subscribe(TOPIC, Some(&id(&last))).await.unwrap();
    assert!(
        matches!(client.resume(), NodeResume::Broker { replayed } if replayed >= 20),
        "{:?}",
        client.resume()
    );
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let stream = redis.stream_ids("ssewire:{news}");
    seen.extend(take_until(&mut client, stream.last().unwrap()).await);
    assert_eq!(ids(&seen), stream);
    assert_eq!(b.stats().resumed_broker, 1);
}

/// An id the node still holds is replayed from memory (after the epoch check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn resume_locally() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let a = node(&redis.url());
    let mut keeper = a.subscribe(TOPIC, None).await.unwrap();
    let mut published = Vec::new();
    for i in 0..5 {
        published.push(
            a.publish(TOPIC, Event::with_data(format!("{i}")))
                .await
                .unwrap()
                .to_string(),
        );
    }
    take_until(&mut keeper, &published[4]).await;
    let mut client = a.subscribe(TOPIC, Some(&id(&published[1]))).await.unwrap();
    assert_eq!(client.resume(), NodeResume::Local { replayed: 3 });
    assert_eq!(ids(&take(&mut client, 3).await), published[2..]);
    assert_eq!(a.stats().resumed_local, 1);
}

/// Ids that cannot be found exactly: garbage, another topic's, one that sorts inside
/// the stream but was never issued, and one further back than `max_replay`. Each
/// gets exactly one `history-lost`, then live events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn unknown_ids_are_history_lost() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let a = node(&redis.url());
    let b = node_with(
        &redis.url(),
        HubConfig::new(),
        NodeConfig::new().with_max_replay(5),
    );
    let other = a
        .publish("other", Event::with_data("elsewhere"))
        .await
        .unwrap();
    let mut ids_here = Vec::new();
    for i in 0..10 {
        ids_here.push(
            a.publish(TOPIC, Event::with_data(format!("{i}")))
                .await
                .unwrap()
                .to_string(),
        );
    }
    let (ms, seq) = ids_here[3].split_once('-').unwrap();
    let never_issued = format!("{ms}-{}", seq.parse::<u64>().unwrap() + 1000);
    let wrong = [
        "nonsense".to_owned(),
        other.to_string(),
        never_issued,
        "0-0".to_owned(),
        ids_here[0].clone(), // 9 events behind, max_replay is 5
    ];
    for wrong in &wrong {
        let mut client = b.subscribe(TOPIC, Some(&id(wrong))).await.unwrap();
        assert_eq!(client.resume(), NodeResume::HistoryLost, "{wrong}");
        let published = b.publish(TOPIC, Event::with_data("live")).await.unwrap();
        let got = take_until(&mut client, &published.to_string()).await;
        assert!(got[0].is_history_lost(), "{wrong}: {got:?}");
        assert_eq!(got.iter().filter(|e| e.is_history_lost()).count(), 1);
        assert_eq!(got.last().unwrap().data, "live");
    }
    // Within max_replay it resumes.
    let client = b.subscribe(TOPIC, Some(&id(&ids_here[9]))).await.unwrap();
    assert!(matches!(
        client.resume(),
        NodeResume::Broker { replayed: 5 }
    ));
    drop(client);
    let client = b.subscribe(TOPIC, Some(&id(&ids_here[8]))).await.unwrap();
    assert_eq!(
        client.resume(),
        NodeResume::HistoryLost,
        "6 behind, max_replay 5"
    );
    let client = b.subscribe(TOPIC, Some(&id(&ids_here[9]))).await.unwrap();
    assert!(matches!(client.resume(), NodeResume::Broker { .. }));
}

/// 10,000 topics of one subscriber each: the node still uses two Redis connections
/// (commands + one tail), and a topic followed while the tail's `XREAD BLOCK` is in
/// flight does not wait for the block (60 s here) to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn many_topics_two_connections() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let broker = ssewire::broker::RedisBroker::new(
        ssewire::broker::RedisConfig::new(redis.url()).with_block(Duration::from_secs(60)),
    )
    .unwrap();
    let node = ssewire::broker::Node::new(broker, HubConfig::new());
    let topics = 10_000;
    let subscribes = (0..topics).map(|t| {
        let node = node.clone();
        async move { node.subscribe(&format!("t{t}"), None).await.unwrap() }
    });
    let mut subscribers = futures_util::future::join_all(subscribes).await;
    node.publish("t0", Event::with_data("warm up"))
        .await
        .unwrap();
    take(&mut subscribers[0], 1).await;
    // The tail is now blocked on 10,000 streams; follow one more and publish at once.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut newcomer = node.subscribe("newcomer", None).await.unwrap();
    // `subscribe` returns once the tail started the stream: with a 60 s block, only
    // the `CLIENT UNBLOCK` makes this quick (the whole test is bounded by `take`'s 15 s).
    let published = node
        .publish("newcomer", Event::with_data("hi"))
        .await
        .unwrap();
    let got = take_until(&mut newcomer, &published.to_string()).await;
    assert_eq!(got.last().unwrap().data, "hi");
    for t in [1, topics as usize / 2, topics as usize - 1] {
        let id = node
            .publish(&format!("t{t}"), Event::with_data("x"))
            .await
            .unwrap();
        take_until(&mut subscribers[t], &id.to_string()).await;
    }
    let clients = redis.cmd(&["CLIENT", "LIST"]).text().to_owned();
    // Everyone but this test's own connection (which runs CLIENT LIST).
    let node_connections = clients.lines().count() - 1;
    assert_eq!(node_connections, 2, "{clients}");
    assert!(node.broker().stats().unblocks >= 1);

    // With 4 tail connections: 5 connections, every topic still delivered.
    let broker = ssewire::broker::RedisBroker::new(
        ssewire::broker::RedisConfig::new(redis.url()).with_tail_connections(4),
    )
    .unwrap();
    let sharded = ssewire::broker::Node::new(broker, HubConfig::new());
    let mut subscribers = Vec::new();
    for t in 0..40 {
        subscribers.push(sharded.subscribe(&format!("s{t}"), None).await.unwrap());
    }
    for (t, subscriber) in subscribers.iter_mut().enumerate() {
        let id = sharded
            .publish(&format!("s{t}"), Event::with_data("x"))
            .await
            .unwrap();
        take_until(subscriber, &id.to_string()).await;
    }
    let clients = redis.cmd(&["CLIENT", "LIST"]).text().to_owned();
    assert_eq!(clients.lines().count() - 1, 2 + 5, "{clients}");
}

/// A node tails a topic only while it has local subscribers (plus the linger, 200 ms
/// in these tests), and follows it again when a subscriber comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn topics_are_unfollowed_after_linger() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let a = node(&redis.url());
    let first = a.subscribe(TOPIC, None).await.unwrap();
    let second = a.subscribe(TOPIC, None).await.unwrap();
    assert_eq!((a.stats().followed, a.broker().stats().streams), (1, 1));
    drop(first);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(a.stats().followed, 1, "one subscriber is left");
    drop(second);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while a.broker().stats().streams > 0 || a.stats().followed > 0 {
        assert!(std::time::Instant::now() < deadline, "{:?}", a.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.hub().get(TOPIC).is_none(), "the local topic is gone too");
    let mut again = a.subscribe(TOPIC, None).await.unwrap();
    let id = a.publish(TOPIC, Event::with_data("back")).await.unwrap();
    assert_eq!(take_until(&mut again, &id.to_string()).await.len(), 1);
}

/// Many clients hopping between three nodes (each hop a resumption with the last id,
/// sometimes after a pause) while three publishers publish: every client ends with
/// exactly the stream, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server (CI runs it with --ignored)"]
async fn roaming_clients_under_load() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start();
    let nodes = [node(&redis.url()), node(&redis.url()), node(&redis.url())];
    let per_publisher = 150;
    let mut clients = Vec::new();
    for c in 0..12usize {
        let nodes = nodes.clone();
        let first = nodes[c % 3].subscribe(TOPIC, None).await.unwrap();
        clients.push(tokio::spawn(async move {
            let mut subscriber = first;
            let mut seen: Vec<Received> = Vec::new();
            let mut hop = c;
            while seen.len() < 3 * per_publisher {
                let want = (3 + c % 7).min(3 * per_publisher - seen.len());
                seen.extend(take(&mut subscriber, want).await);
                drop(subscriber);
                if c % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                hop += 1;
                let last = id(seen.last().unwrap().id.as_deref().unwrap());
                subscriber = nodes[hop % 3].subscribe(TOPIC, Some(&last)).await.unwrap();
            }
            ids(&seen)
        }));
    }
    let publishers: Vec<_> = nodes
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, node)| {
            tokio::spawn(async move {
                for i in 0..per_publisher {
                    node.publish(TOPIC, Event::with_data(format!("{n}:{i}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let stream = redis.stream_ids("ssewire:{news}");
    for client in clients {
        assert_eq!(client.await.unwrap(), stream);
    }
    let resumed: u64 = nodes
        .iter()
        .map(|n| n.stats().resumed_local + n.stats().resumed_broker)
        .sum();
    assert!(resumed > 100, "{resumed} resumptions");
}
