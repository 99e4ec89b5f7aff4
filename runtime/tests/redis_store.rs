//! RedisStore against a real redis-server (no mocks): exactly-once under concurrent
//! duplicates, replay and mismatch, lease takeover with fencing, retention, tenants.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stores_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idemgate::idempotency::{
    self, Begin, Fingerprint, IdempotencyStore, Options, Outcome, RedisStore, RedisStoreConfig,
    ScopedKey,
};
use idemgate::{Error, StoreError};
use stores_support::unique;

fn store(url: &str) -> RedisStore {
    RedisStore::open(url, RedisStoreConfig::default()).expect("valid url")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_under_100_concurrent_duplicates() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    // two stores, two connection managers: two "processes" sharing one Redis
    let stores: [Arc<dyn IdempotencyStore>; 2] = [Arc::new(store(&url)), Arc::new(store(&url))];
    let tenant = unique("tenant");
    let runs = Arc::new(AtomicU32::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = stores[i % 2].clone();
        let (runs, barrier, tenant) = (runs.clone(), barrier.clone(), tenant.clone());
        let opts = if i % 3 == 0 {
            Options {
                wait: Some(Duration::from_secs(10)),
                ..Options::new()
            }
        } else {
            Options::new()
        };
        tasks.push(tokio::spawn(async move {
            let key = ScopedKey::new(&tenant, "charge", "order-1").unwrap();
            barrier.wait().await;
            idempotency::run::<u32, Error, _, _>(
                &*store,
                &key,
                Fingerprint::of(b"{\"amount\":5}"),
                &opts,
                || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(42)
                },
            )
            .await
        }));
    }
    let (mut executed, mut replayed, mut in_flight) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Outcome::Executed(42)) => executed += 1,
            Ok(Outcome::Replayed(42)) => replayed += 1,
            Err(Error::InFlight) => in_flight += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "exactly one execution");
    assert_eq!(executed, 1);
    assert_eq!(executed + replayed + in_flight, 100);
    assert!(
        replayed >= 33,
        "every waiter got the stored result ({replayed})"
    );
}

#[tokio::test]
async fn replay_then_mismatch() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let a = store(&url);
    let b = store(&url);
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let runs = AtomicU32::new(0);
    async fn go(
        s: &RedisStore,
        key: &ScopedKey,
        runs: &AtomicU32,
        body: &[u8],
    ) -> Result<Outcome<String>, Error> {
        idempotency::run::<String, Error, _, _>(
            s,
            key,
            Fingerprint::of(body),
            &Options::new(),
            || async { Ok(format!("receipt-{}", runs.fetch_add(1, Ordering::SeqCst))) },
        )
        .await
    }
    assert_eq!(
        go(&a, &key, &runs, b"x").await.unwrap(),
        Outcome::Executed("receipt-0".into())
    );
    // another process (store) replays the stored value
    assert_eq!(
        go(&b, &key, &runs, b"x").await.unwrap(),
        Outcome::Replayed("receipt-0".into())
    );
    assert!(matches!(
        go(&b, &key, &runs, b"y").await,
        Err(Error::Mismatch)
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// The record is one string with the fingerprint at a fixed offset and the result after the
/// header's newline: fingerprints holding newline and space bytes, and results holding
/// newlines, NUL and non-UTF-8 bytes, come back exactly; an empty result too.
#[tokio::test]
async fn binary_fingerprints_and_results_round_trip() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let tenant = unique("tenant");
    let lease = Duration::from_secs(60);
    // a fingerprint whose bytes include the record's separators
    let fp = (0u32..)
        .map(|i| Fingerprint::of(&i.to_le_bytes()))
        .find(|f| f.as_bytes().contains(&b'\n') && f.as_bytes().contains(&b' '))
        .unwrap();
    let other = Fingerprint::of(b"other");
    for (i, result) in [
        b"line 1\nline 2\n".to_vec(),
        vec![0, 0xff, b'\n', b' ', 0x80, b'd'],
        Vec::new(),
    ]
    .into_iter()
    .enumerate()
    {
        let key = ScopedKey::new(&tenant, "charge", &format!("k{i}")).unwrap();
        let Begin::Proceed(l) = s.begin(&key, fp, lease).await.unwrap() else {
            panic!("fresh key")
        };
        assert_eq!(s.begin(&key, fp, lease).await.unwrap(), Begin::InFlight);
        assert_eq!(s.begin(&key, other, lease).await.unwrap(), Begin::Mismatch);
        s.complete(&key, &l, result.clone(), lease).await.unwrap();
        assert_eq!(
            s.begin(&key, fp, lease).await.unwrap(),
            Begin::Replay(result)
        );
        assert_eq!(s.begin(&key, other, lease).await.unwrap(), Begin::Mismatch);
        assert!(matches!(
            s.complete(&key, &l, b"again".to_vec(), lease).await,
            Err(StoreError::Fenced)
        ));
        assert!(matches!(s.release(&key, &l).await, Err(StoreError::Fenced)));
    }
}

/// A token that is a prefix of the record's token (7 of 71) is not the record's token.
#[tokio::test]
async fn a_token_prefix_is_fenced() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let tenant = unique("tenant");
    let fp = Fingerprint::of(b"");
    let lease = Duration::from_secs(60);
    // eleven claims first: the tenant's counter hands this key a two-digit token
    for i in 0..11 {
        let other = ScopedKey::new(&tenant, "charge", &format!("o{i}")).unwrap();
        s.begin(&other, fp, lease).await.unwrap();
    }
    let key = ScopedKey::new(&tenant, "charge", "k").unwrap();
    let Begin::Proceed(l) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!("fresh key")
    };
    let digits = l.token().to_string();
    assert!(digits.len() >= 2, "token {digits}");
    for wrong in [
        digits[..digits.len() - 1].parse().unwrap_or(0),
        l.token() * 10,
        l.token() + 1,
    ] {
        let stale = idemgate::idempotency::Lease::new(wrong);
        assert!(matches!(
            s.complete(&key, &stale, b"x".to_vec(), lease).await,
            Err(StoreError::Fenced)
        ));
        assert!(matches!(
            s.release(&key, &stale).await,
            Err(StoreError::Fenced)
        ));
    }
    s.complete(&key, &l, b"ok".to_vec(), lease).await.unwrap();
    assert_eq!(
        s.begin(&key, fp, lease).await.unwrap(),
        Begin::Replay(b"ok".to_vec())
    );
}

#[tokio::test]
async fn failures_release_the_key() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let r = idempotency::run::<u32, Error, _, _>(
        &s,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        || async { Err(Error::InFlight) },
    )
    .await;
    assert!(r.is_err());
    let r = idempotency::run::<u32, Error, _, _>(
        &s,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        || async { Ok(7) },
    )
    .await;
    assert_eq!(r.unwrap(), Outcome::Executed(7));
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_the_stale_executor_fenced() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let fp = Fingerprint::of(b"body");
    let lease = Duration::from_millis(300);
    let Begin::Proceed(old) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!("first begin proceeds")
    };
    assert_eq!(s.begin(&key, fp, lease).await.unwrap(), Begin::InFlight);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let Begin::Proceed(new) = s.begin(&key, fp, Duration::from_secs(60)).await.unwrap() else {
        panic!("takeover after the lease ran out")
    };
    assert!(new.token() > old.token(), "{new:?} > {old:?}");
    let keep = Duration::from_secs(60);
    assert!(matches!(
        s.complete(&key, &old, b"stale".to_vec(), keep).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        s.release(&key, &old).await,
        Err(StoreError::Fenced)
    ));
    s.complete(&key, &new, b"fresh".to_vec(), keep)
        .await
        .unwrap();
    assert_eq!(
        s.begin(&key, fp, lease).await.unwrap(),
        Begin::Replay(b"fresh".to_vec())
    );
    assert!(matches!(
        s.complete(&key, &old, b"stale".to_vec(), keep).await,
        Err(StoreError::Fenced)
    ));
    assert!(
        matches!(
            s.complete(&key, &new, b"again".to_vec(), keep).await,
            Err(StoreError::Fenced)
        ),
        "a completed record is never overwritten"
    );
    assert_eq!(
        s.begin(&key, fp, lease).await.unwrap(),
        Begin::Replay(b"fresh".to_vec())
    );
}

#[tokio::test]
async fn results_expire_after_retention_and_tokens_keep_growing() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let fp = Fingerprint::of(b"");
    let lease = Duration::from_secs(60);
    let Begin::Proceed(first) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!()
    };
    s.complete(&key, &first, b"1".to_vec(), Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(
        s.begin(&key, fp, lease).await.unwrap(),
        Begin::Replay(b"1".to_vec())
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let Begin::Proceed(second) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!("retention over: executes again")
    };
    assert!(
        second.token() > first.token(),
        "tokens grow across record lifetimes"
    );
    assert!(matches!(
        s.complete(&key, &first, b"old".to_vec(), lease).await,
        Err(StoreError::Fenced)
    ));
}

#[tokio::test]
async fn tenants_never_collide() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let base = unique("t");
    let tenants = [
        base.clone(),
        format!("{base}:x"),
        format!("{{{base}}}"),
        format!("{base}}}"),
        String::new(),
    ];
    let fp = Fingerprint::of(b"");
    let lease = Duration::from_secs(60);
    let client_key = unique("order");
    for (i, t) in tenants.iter().enumerate() {
        let key = ScopedKey::new(t, "charge", &client_key).unwrap();
        let Begin::Proceed(l) = s.begin(&key, fp, lease).await.unwrap() else {
            panic!("tenant {t:?} must not see another tenant's record")
        };
        s.complete(&key, &l, i.to_string().into_bytes(), lease)
            .await
            .unwrap();
    }
    for (i, t) in tenants.iter().enumerate() {
        let key = ScopedKey::new(t, "charge", &client_key).unwrap();
        assert_eq!(
            s.begin(&key, fp, lease).await.unwrap(),
            Begin::Replay(i.to_string().into_bytes()),
            "tenant {t:?}"
        );
    }
    // one hash tag per tenant: the record and the fence counter share a Cluster slot
    let k = ScopedKey::new("acme", "charge", "o-1").unwrap();
    assert!(s.record_key(&k).starts_with("idemgate:{acme}"));
}

#[tokio::test]
async fn connection_refused_fails_closed() {
    let port = stores_support::free_port();
    let s = RedisStore::open(
        &format!("redis://127.0.0.1:{port}/"),
        RedisStoreConfig::default(),
    )
    .unwrap();
    let runs = AtomicU32::new(0);
    let key = ScopedKey::new("t", "charge", "k").unwrap();
    let started = std::time::Instant::now();
    let r = idempotency::run::<u32, Error, _, _>(
        &s,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(1)
        },
    )
    .await;
    assert!(
        matches!(r, Err(Error::Store(StoreError::Unavailable(_)))),
        "{r:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the operation must not run");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the timeout"
    );
}

#[tokio::test]
async fn a_dropped_execution_releases_its_key_at_once() {
    let Some((url, _guard)) = stores_support::redis() else {
        return;
    };
    let s = store(&url);
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let started = tokio::sync::Notify::new();
    let opts = Options::new();
    let abandoned =
        idempotency::run::<u32, Error, _, _>(&s, &key, Fingerprint::of(b""), &opts, || async {
            started.notify_one();
            std::future::pending::<()>().await;
            Ok(0)
        });
    // the client disconnects while the operation runs
    tokio::select! {
        _ = abandoned => panic!("never finishes"),
        () = started.notified() => {}
    }
    // the released claim (detached release) lets the retry execute well before the 60 s lease
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let r = idempotency::run::<u32, Error, _, _>(
            &s,
            &key,
            Fingerprint::of(b""),
            &Options::new(),
            || async { Ok(1) },
        )
        .await;
        match r {
            Ok(Outcome::Executed(1)) => break,
            Err(Error::InFlight) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("{other:?}"),
        }
    }
}
