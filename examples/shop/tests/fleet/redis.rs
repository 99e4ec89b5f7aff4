//! Two service processes (`shop` or `shop-actix`: the including test sets `BIN`) sharing one Redis
//! (IDEMGATE_REDIS_URL): 100 concurrent duplicates spread across both create exactly one order; the
//! other process replays it; the same key with another body gets 422 there; another tenant's same
//! key is another order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::stores_support;

mod process;
use process::{count_orders, order, Shop};

fn start_shop(redis_url: &str) -> Shop {
    process::start(
        "IDEMGATE_REDIS_URL",
        redis_url,
        stores_support::free_port(),
        300,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_one_redis_exactly_one_order() {
    let Some((url, _guard)) = stores_support::redis() else {
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
    let total = count_orders(&client, &shops[0].base, &tenant).await
        + count_orders(&client, &shops[1].base, &tenant).await;
    assert_eq!(total, 1, "exactly one order in the fleet");

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
}
