//! Two service processes (`shop` or `shop-actix`: the including test sets `BIN`) sharing one
//! PostgreSQL (IDEMGATE_DATABASE_URL): orders are stored in the idempotency record's transaction,
//! so 100 concurrent duplicates spread across both create exactly one order row, both processes
//! list the same orders, either replays the 201 and answers 422 to another body; another tenant's
//! same key is another order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::stores_support;

use std::time::{Duration, Instant};

mod process;
use process::{count_orders, order, Shop};

fn start_shop(database_url: &str) -> Shop {
    start_shop_on(database_url, stores_support::free_port(), 300)
}

fn start_shop_on(database_url: &str, port: u16, latency_ms: u64) -> Shop {
    process::start("IDEMGATE_DATABASE_URL", database_url, port, latency_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_one_database_exactly_one_order() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let shops = [start_shop(&url), start_shop(&url)];
    let client = reqwest::Client::new();
    let tenant = stores_support::unique("acme");
    let body = r#"{"sku":"tea","qty":2}"#;

    let mut tasks = Vec::new();
    for i in 0..100 {
        let (client, base, tenant) = (client.clone(), shops[i % 2].base.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            order(&client, &base, &tenant, "order-1", body).await
        }));
    }
    let (mut created, mut conflicts, mut replays) = (0, 0, 0);
    let mut created_body = String::new();
    for t in tasks {
        match t.await.unwrap() {
            (201, false, b) => {
                created += 1;
                created_body = b;
            }
            (201, true, _) => replays += 1,
            (409, _, _) => conflicts += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1, "exactly one execution across both processes");
    assert_eq!(created + conflicts + replays, 100);
    for shop in &shops {
        assert_eq!(
            count_orders(&client, &shop.base, &tenant).await,
            1,
            "every process lists the one order"
        );
    }

    // both processes replay the stored 201, byte for byte
    for shop in &shops {
        let (status, replayed, text) = order(&client, &shop.base, &tenant, "order-1", body).await;
        assert_eq!((status, replayed), (201, true));
        assert_eq!(text, created_body);
        // the same key with another body: 422, in either process
        let (status, _, _) = order(
            &client,
            &shop.base,
            &tenant,
            "order-1",
            r#"{"sku":"tea","qty":3}"#,
        )
        .await;
        assert_eq!(status, 422);
    }
    // another tenant, same key: another order
    let other = format!("{tenant}-other");
    let (status, replayed, _) = order(&client, &shops[1].base, &other, "order-1", body).await;
    assert_eq!((status, replayed), (201, false));
    assert_eq!(count_orders(&client, &shops[0].base, &other).await, 1);
    assert_eq!(count_orders(&client, &shops[0].base, &tenant).await, 1);
}

/// A shop SIGKILLed while its order's transaction is open: nothing of it is committed; after
/// a restart the retry conflicts while the dead attempt's lease (60 s) runs, then executes
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_killed_mid_request_leaves_one_order_after_the_retry() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let port = stores_support::free_port();
    let mut shop = start_shop_on(&url, port, 2000);
    let client = reqwest::Client::new();
    let tenant = stores_support::unique("acme");
    let body = r#"{"sku":"tea","qty":1}"#;
    let in_flight = tokio::spawn({
        let (client, base, tenant) = (client.clone(), shop.base.clone(), tenant.clone());
        async move {
            client
                .post(format!("{base}/orders"))
                .header("X-Tenant", tenant)
                .header("Idempotency-Key", "order-1")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    shop.child.kill().unwrap(); // SIGKILL
    let _ = shop.child.wait();
    assert!(in_flight.await.unwrap().is_err(), "the connection died");

    let shop = start_shop_on(&url, port, 10);
    assert_eq!(count_orders(&client, &shop.base, &tenant).await, 0);
    let (status, _, _) = order(&client, &shop.base, &tenant, "order-1", body).await;
    assert_eq!(
        status, 409,
        "the dead attempt's claim holds until its lease ends"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let created = loop {
        let r = order(&client, &shop.base, &tenant, "order-1", body).await;
        // 409 while the dead claim's lease runs; a 503 (with Retry-After) when the store was
        // slower than its timeout on a loaded machine: both say "try again", as a client would
        if !matches!(r.0, 409 | 503) || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!((created.0, created.1), (201, false));
    let (status, replayed, text) = order(&client, &shop.base, &tenant, "order-1", body).await;
    assert_eq!((status, replayed, text), (201, true, created.2));
    assert_eq!(
        count_orders(&client, &shop.base, &tenant).await,
        1,
        "exactly one order"
    );
}
