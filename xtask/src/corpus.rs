//! A deterministic corpus of service crates shaped like real ones: most code is domain logic,
//! data types and persistence; a minority is handlers, routers, clients and background jobs,
//! with loops of every shape (retries, polling, draining, pacing, error propagation).

use std::fmt::Write as _;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RESOURCES: &[&str] = &[
    "order",
    "payment",
    "invoice",
    "user",
    "account",
    "shipment",
    "cart",
    "product",
    "inventory",
    "refund",
    "subscription",
    "notification",
    "webhook",
    "review",
    "coupon",
    "tenant",
    "session",
    "report",
    "export",
    "audit",
    "ledger",
    "quote",
    "booking",
    "ticket",
];
const FIELDS: &[(&str, &str)] = &[
    ("id", "u64"),
    ("tenant_id", "u64"),
    ("amount_cents", "i64"),
    ("currency", "String"),
    ("status", "Status"),
    ("created_at", "i64"),
    ("updated_at", "i64"),
    ("email", "String"),
    ("name", "String"),
    ("quantity", "u32"),
    ("sku", "String"),
    ("note", "Option<String>"),
    ("version", "u64"),
    ("region", "String"),
    ("priority", "u8"),
];
const CLIENTS: &[&str] = &[
    "psp",
    "mailer",
    "crm",
    "warehouse",
    "tax",
    "fraud",
    "search",
    "sms",
];
const JOBS: &[&str] = &[
    "reconcile",
    "sync",
    "cleanup",
    "digest",
    "reindex",
    "settle",
    "expire",
];

fn camel(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

struct Gen {
    rng: StdRng,
}

impl Gen {
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn n(&mut self, lo: u32, hi: u32) -> u32 {
        self.rng.random_range(lo..hi)
    }

    fn fields(&mut self) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = FIELDS
            .iter()
            .copied()
            .filter(|_| self.rng.random_bool(0.5))
            .collect();
        if v.is_empty() {
            v.push(FIELDS[0]);
        }
        v
    }

    /// A domain module: types, state machine, business rules, conversions, tests.
    fn domain(&mut self, res: &str) -> String {
        let ty = camel(res);
        let fields = self.fields();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "//! The {res} aggregate: data, invariants and state transitions.\n"
        );
        s.push_str("use std::collections::{BTreeMap, HashMap};\nuse std::fmt;\n\nuse serde::{Deserialize, Serialize};\n\n");
        s.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\npub enum Status {\n    Draft,\n    Pending,\n    Active,\n    Suspended,\n    Closed,\n}\n\n");
        let _ = writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub struct {ty} {{"
        );
        for (f, t) in &fields {
            let _ = writeln!(s, "    pub {f}: {t},");
        }
        s.push_str("    pub lines: Vec<Line>,\n    pub tags: BTreeMap<String, String>,\n}\n\n");
        s.push_str("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]\npub struct Line {\n    pub sku: String,\n    pub quantity: u32,\n    pub unit_cents: i64,\n    pub discount_bps: u32,\n}\n\n");
        let _ = writeln!(s, "#[derive(Debug, thiserror::Error)]\npub enum {ty}Error {{\n    #[error(\"invalid transition from {{from:?}} to {{to:?}}\")]\n    Transition {{ from: Status, to: Status }},\n    #[error(\"line {{0}} is invalid: {{1}}\")]\n    Line(usize, String),\n    #[error(\"limit exceeded: {{0}}\")]\n    Limit(i64),\n}}\n");
        let _ = writeln!(s, "impl {ty} {{");
        for k in 0..self.n(6, 14) {
            match self.n(0, 6) {
                0 => {
                    let _ = writeln!(s, "    pub fn total_cents_{k}(&self) -> i64 {{\n        self.lines\n            .iter()\n            .map(|l| {{\n                let gross = l.unit_cents * i64::from(l.quantity);\n                gross - gross * i64::from(l.discount_bps) / 10_000\n            }})\n            .sum()\n    }}\n");
                }
                1 => {
                    let _ = writeln!(s, "    pub fn transition_{k}(&mut self, to: Status) -> Result<(), {ty}Error> {{\n        let from = self.status();\n        let ok = matches!(\n            (from, to),\n            (Status::Draft, Status::Pending)\n                | (Status::Pending, Status::Active)\n                | (Status::Active, Status::Suspended)\n                | (Status::Suspended, Status::Active)\n                | (_, Status::Closed)\n        );\n        if !ok {{\n            return Err({ty}Error::Transition {{ from, to }});\n        }}\n        self.tags.insert(\"status\".to_string(), format!(\"{{to:?}}\"));\n        Ok(())\n    }}\n");
                }
                2 => {
                    let _ = writeln!(s, "    pub fn validate_{k}(&self) -> Result<(), {ty}Error> {{\n        for (i, line) in self.lines.iter().enumerate() {{\n            if line.quantity == 0 {{\n                return Err({ty}Error::Line(i, \"zero quantity\".into()));\n            }}\n            if line.sku.trim().is_empty() {{\n                return Err({ty}Error::Line(i, \"missing sku\".into()));\n            }}\n            if line.discount_bps > 10_000 {{\n                return Err({ty}Error::Line(i, format!(\"discount {{}} bps\", line.discount_bps)));\n            }}\n        }}\n        Ok(())\n    }}\n");
                }
                3 => {
                    let _ = writeln!(s, "    pub fn group_by_sku_{k}(&self) -> HashMap<&str, u32> {{\n        let mut out: HashMap<&str, u32> = HashMap::new();\n        for line in &self.lines {{\n            *out.entry(line.sku.as_str()).or_default() += line.quantity;\n        }}\n        out\n    }}\n");
                }
                4 => {
                    let _ = writeln!(s, "    pub fn status(&self) -> Status {{\n        match self.tags.get(\"status\").map(String::as_str) {{\n            Some(\"Pending\") => Status::Pending,\n            Some(\"Active\") => Status::Active,\n            Some(\"Suspended\") => Status::Suspended,\n            Some(\"Closed\") => Status::Closed,\n            _ => Status::Draft,\n        }}\n    }}\n");
                }
                _ => {
                    let _ = writeln!(s, "    pub fn apply_limit_{k}(&self, limit: i64) -> Result<i64, {ty}Error> {{\n        let mut running = 0i64;\n        for line in self.lines.iter().filter(|l| l.quantity > 0) {{\n            running = running.saturating_add(line.unit_cents * i64::from(line.quantity));\n            if running > limit {{\n                return Err({ty}Error::Limit(running));\n            }}\n        }}\n        Ok(limit - running)\n    }}\n");
                }
            }
        }
        s.push_str("}\n\n");
        let _ = writeln!(s, "impl fmt::Display for {ty} {{\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{\n        write!(f, \"{res}(\")?;\n        for (i, line) in self.lines.iter().enumerate() {{\n            if i > 0 {{\n                f.write_str(\", \")?;\n            }}\n            write!(f, \"{{}}x{{}}\", line.quantity, line.sku)?;\n        }}\n        f.write_str(\")\")\n    }}\n}}\n");
        for k in 0..self.n(3, 8) {
            let _ = writeln!(s, "pub fn summarize_{k}(items: &[{ty}]) -> BTreeMap<String, (usize, i64)> {{\n    let mut out = BTreeMap::new();\n    for item in items {{\n        let key = item.tags.get(\"region\").cloned().unwrap_or_else(|| \"unknown\".to_string());\n        let entry = out.entry(key).or_insert((0usize, 0i64));\n        entry.0 += 1;\n        entry.1 += item.lines.iter().map(|l| l.unit_cents).sum::<i64>();\n    }}\n    out\n}}\n");
        }
        let _ = writeln!(s, "#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    fn sample() -> Vec<Line> {{\n        (1..=3)\n            .map(|i| Line {{ sku: format!(\"sku-{{i}}\"), quantity: i, unit_cents: 100 * i64::from(i), discount_bps: 0 }})\n            .collect()\n    }}\n\n    #[test]\n    fn lines_are_valid() {{\n        let lines = sample();\n        assert_eq!(lines.len(), 3);\n        assert!(lines.iter().all(|l| l.quantity > 0));\n    }}\n}}");
        s
    }

    /// Persistence: loops that propagate errors with `?`, row mapping.
    fn repo(&mut self, res: &str) -> String {
        let ty = camel(res);
        let mut s = String::new();
        let _ = writeln!(s, "//! Storage of {res}s.\n\nuse crate::domain::{res}::{{{ty}, Line}};\nuse sqlx::{{PgPool, Row}};\n");
        let _ = writeln!(
            s,
            "pub struct {ty}Repo {{\n    pool: PgPool,\n}}\n\nimpl {ty}Repo {{"
        );
        let _ = writeln!(
            s,
            "    pub fn new(pool: PgPool) -> Self {{\n        Self {{ pool }}\n    }}\n"
        );
        for k in 0..self.n(5, 11) {
            match self.n(0, 4) {
                0 => {
                    let _ = writeln!(s, "    pub async fn insert_all_{k}(&self, items: &[{ty}]) -> Result<u64, sqlx::Error> {{\n        let mut tx = self.pool.begin().await?;\n        let mut n = 0;\n        for item in items {{\n            sqlx::query(\"INSERT INTO {res}s (id, body) VALUES ($1, $2)\")\n                .bind(item.lines.len() as i64)\n                .bind(serde_json::to_string(item).unwrap_or_default())\n                .execute(&mut *tx)\n                .await?;\n            n += 1;\n        }}\n        tx.commit().await?;\n        Ok(n)\n    }}\n");
                }
                1 => {
                    let _ = writeln!(s, "    pub async fn lines_{k}(&self, id: i64) -> Result<Vec<Line>, sqlx::Error> {{\n        let rows = sqlx::query(\"SELECT sku, quantity, unit_cents FROM {res}_lines WHERE {res}_id = $1\")\n            .bind(id)\n            .fetch_all(&self.pool)\n            .await?;\n        let mut out = Vec::with_capacity(rows.len());\n        for row in rows {{\n            out.push(Line {{\n                sku: row.try_get(\"sku\")?,\n                quantity: row.try_get::<i32, _>(\"quantity\")? as u32,\n                unit_cents: row.try_get(\"unit_cents\")?,\n                discount_bps: 0,\n            }});\n        }}\n        Ok(out)\n    }}\n");
                }
                2 => {
                    let _ = writeln!(s, "    pub async fn count_{k}(&self, tenant: i64) -> Result<i64, sqlx::Error> {{\n        let row = sqlx::query(\"SELECT count(*) AS n FROM {res}s WHERE tenant_id = $1\")\n            .bind(tenant)\n            .fetch_one(&self.pool)\n            .await?;\n        row.try_get(\"n\")\n    }}\n");
                }
                _ => {
                    let _ = writeln!(s, "    pub async fn stream_ids_{k}(&self) -> Result<Vec<i64>, sqlx::Error> {{\n        use futures::TryStreamExt;\n        let mut rows = sqlx::query(\"SELECT id FROM {res}s\").fetch(&self.pool);\n        let mut ids = Vec::new();\n        while let Some(row) = rows.try_next().await? {{\n            ids.push(row.try_get(\"id\")?);\n        }}\n        Ok(ids)\n    }}\n");
                }
            }
        }
        s.push_str("}\n");
        s
    }

    /// Handlers and the resource's router.
    fn api(&mut self, res: &str) -> String {
        let ty = camel(res);
        let mut s = String::new();
        let _ = writeln!(s, "//! HTTP handlers for {res}s.\n\nuse axum::extract::{{Json, Path, State}};\nuse axum::http::StatusCode;\nuse axum::routing::{{get, post}};\nuse axum::Router;\nuse idemgate::idempotent;\n\nuse crate::domain::{res}::{ty};\nuse crate::AppState;\n");
        let _ = writeln!(s, "#[derive(Debug, serde::Deserialize)]\npub struct New{ty} {{\n    pub tenant_id: u64,\n    pub note: Option<String>,\n    pub lines: Vec<(String, u32, i64)>,\n}}\n");
        let _ = writeln!(s, "fn to_domain(input: New{ty}) -> {ty} {{\n    let lines = input\n        .lines\n        .into_iter()\n        .map(|(sku, quantity, unit_cents)| crate::domain::{res}::Line {{ sku, quantity, unit_cents, discount_bps: 0 }})\n        .collect();\n    {ty} {{ lines, tags: Default::default(), ..todo!() }}\n}}\n");
        let idem = self.chance(0.6);
        if idem {
            s.push_str("#[idempotent(key = header(\"Idempotency-Key\"), ttl = \"24h\")]\n");
        }
        let _ = writeln!(s, "pub async fn create(State(state): State<AppState>, Json(input): Json<New{ty}>) -> Result<(StatusCode, Json<u64>), StatusCode> {{\n    let item = to_domain(input);\n    item.validate_0().map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;\n    let id = state.{res}s.insert_all_0(std::slice::from_ref(&item)).await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;\n    Ok((StatusCode::CREATED, Json(id)))\n}}\n");
        let _ = writeln!(s, "pub async fn show(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<usize>, StatusCode> {{\n    let lines = state.{res}s.lines_0(id).await.map_err(|_| StatusCode::NOT_FOUND)?;\n    Ok(Json(lines.len()))\n}}\n");
        let _ = writeln!(s, "pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<i64>>, StatusCode> {{\n    let ids = state.{res}s.stream_ids_0().await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;\n    Ok(Json(ids.into_iter().take(100).collect()))\n}}\n");
        if self.chance(0.7) {
            s.push_str("#[idempotent(conditional)]\n");
        }
        let _ = writeln!(s, "pub async fn update(State(state): State<AppState>, Path(id): Path<i64>, Json(input): Json<New{ty}>) -> StatusCode {{\n    let item = to_domain(input);\n    match item.validate_0() {{\n        Ok(()) => {{\n            let _ = (state, id);\n            StatusCode::NO_CONTENT\n        }}\n        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,\n    }}\n}}\n");
        let _ = writeln!(s, "pub fn router() -> Router<AppState> {{\n    Router::new()\n        .route(\"/{res}s\", get(list).post(create))\n        .route(\"/{res}s/:id\", get(show).patch(update))\n}}");
        s
    }

    /// An HTTP client: outbound calls, some keyed, some hand-rolled retries, some policies.
    fn client(&mut self, name: &str) -> String {
        let ty = camel(name);
        let mut s = String::new();
        let _ = writeln!(s, "//! Client of the {name} service.\n\nuse std::time::Duration;\n\nuse idemgate::retry_policy;\nuse serde::{{Deserialize, Serialize}};\n\n#[derive(Debug, thiserror::Error)]\npub enum {ty}Error {{\n    #[error(\"http: {{0}}\")]\n    Http(#[from] reqwest::Error),\n    #[error(\"rejected: {{0}}\")]\n    Rejected(String),\n}}\n\n#[derive(Debug, Serialize, Deserialize)]\npub struct Envelope {{\n    pub id: String,\n    pub body: serde_json::Value,\n}}\n\npub struct {ty}Client {{\n    http: reqwest::Client,\n    base: String,\n}}\n");
        let _ = writeln!(s, "impl {ty}Client {{\n    pub fn new(base: impl Into<String>) -> Self {{\n        Self {{ http: reqwest::Client::new(), base: base.into() }}\n    }}\n");
        for k in 0..self.n(3, 7) {
            match self.n(0, 6) {
                0 => {
                    let _ = writeln!(s, "    pub async fn send_{k}(&self, e: &Envelope) -> Result<(), {ty}Error> {{\n        self.http\n            .post(format!(\"{{}}/v1/messages\", self.base))\n            .header(\"Idempotency-Key\", format!(\"{name}:{{}}\", e.id))\n            .json(e)\n            .send()\n            .await?\n            .error_for_status()?;\n        Ok(())\n    }}\n");
                }
                1 => {
                    let _ = writeln!(s, "    pub async fn fetch_{k}(&self, id: &str) -> Result<Envelope, {ty}Error> {{\n        let mut attempts = 0;\n        loop {{\n            match self.http.get(format!(\"{{}}/v1/items/{{id}}\", self.base)).send().await {{\n                Ok(resp) => return Ok(resp.json().await?),\n                Err(e) if attempts < 3 => {{\n                    attempts += 1;\n                    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(attempts))).await;\n                    let _ = e;\n                }}\n                Err(e) => return Err(e.into()),\n            }}\n        }}\n    }}\n");
                }
                2 => {
                    let _ = writeln!(s, "    #[retry_policy(max_attempts = 4, base = \"200ms\", cap = \"5s\", max_elapsed = \"10s\", budget = \"{name}\")]\n    pub async fn lookup_{k}(&self, id: &str) -> Result<Envelope, {ty}Error> {{\n        Ok(self.http.get(format!(\"{{}}/v1/items/{{id}}\", self.base)).send().await?.json().await?)\n    }}\n");
                }
                3 => {
                    let _ = writeln!(s, "    pub async fn wait_ready_{k}(&self, id: &str) -> Result<Envelope, {ty}Error> {{\n        loop {{\n            let e: Envelope = self.http.get(format!(\"{{}}/v1/jobs/{{id}}\", self.base)).send().await?.json().await?;\n            if e.body.get(\"done\").and_then(|d| d.as_bool()).unwrap_or(false) {{\n                return Ok(e);\n            }}\n            tokio::time::sleep(Duration::from_secs(1)).await;\n        }}\n    }}\n");
                }
                4 => {
                    let _ = writeln!(s, "    pub async fn push_batch_{k}(&self, batch: &[Envelope]) -> Result<usize, {ty}Error> {{\n        let mut sent = 0;\n        for e in batch {{\n            self.http.put(format!(\"{{}}/v1/items/{{}}\", self.base, e.id)).json(e).send().await?;\n            sent += 1;\n            tokio::time::sleep(Duration::from_millis(20)).await;\n        }}\n        Ok(sent)\n    }}\n");
                }
                _ => {
                    let _ = writeln!(s, "    pub fn decode_{k}(raw: &str) -> Result<Vec<Envelope>, {ty}Error> {{\n        let mut out = Vec::new();\n        for (n, line) in raw.lines().enumerate() {{\n            let line = line.trim();\n            if line.is_empty() || line.starts_with('#') {{\n                continue;\n            }}\n            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {ty}Error::Rejected(format!(\"line {{n}}: {{e}}\")))?;\n            out.push(Envelope {{ id: n.to_string(), body: v }});\n        }}\n        Ok(out)\n    }}\n");
                }
            }
        }
        s.push_str("}\n");
        s
    }

    /// A background job: intervals, channels, polling.
    fn job(&mut self, name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "//! Background job: {name}.\n\nuse std::time::Duration;\n\nuse tokio::sync::mpsc;\n"
        );
        let _ = writeln!(s, "pub async fn run_{name}(mut rx: mpsc::Receiver<u64>, state: crate::AppState) {{\n    let mut interval = tokio::time::interval(Duration::from_secs(30));\n    loop {{\n        tokio::select! {{\n            _ = interval.tick() => {{\n                if let Err(e) = tick(&state).await {{\n                    tracing::warn!(error = %e, \"{name} tick failed\");\n                }}\n            }}\n            Some(id) = rx.recv() => handle(&state, id).await,\n        }}\n    }}\n}}\n");
        let _ = writeln!(s, "async fn tick(state: &crate::AppState) -> Result<(), anyhow::Error> {{\n    let ids = state.orders.stream_ids_0().await?;\n    for chunk in ids.chunks(100) {{\n        for id in chunk {{\n            state.audit(*id).await?;\n        }}\n    }}\n    Ok(())\n}}\n");
        let _ = writeln!(s, "async fn handle(state: &crate::AppState, id: u64) {{\n    let mut backlog = vec![id];\n    while let Some(next) = backlog.pop() {{\n        match state.expand(next).await {{\n            Ok(children) => backlog.extend(children),\n            Err(e) => tracing::error!(%e, next, \"expand failed\"),\n        }}\n    }}\n}}\n");
        if self.chance(0.5) {
            let _ = writeln!(s, "pub async fn connect_{name}(url: &str) -> Connection {{\n    loop {{\n        if let Ok(conn) = Connection::open(url).await {{\n            return conn;\n        }}\n        tokio::time::sleep(Duration::from_secs(2)).await;\n    }}\n}}\n");
        }
        s
    }

    fn main_rs(&mut self, resources: &[&str], clients: &[&str], jobs: &[&str]) -> String {
        let mut s = String::new();
        s.push_str("//! A service of the fleet.\n\nmod api;\nmod clients;\nmod domain;\nmod jobs;\nmod repo;\n\nuse axum::Router;\nuse idemgate::axum::IdempotencyLayer;\n\n#[derive(Clone)]\npub struct AppState {\n");
        for r in resources {
            let _ = writeln!(
                s,
                "    pub {r}s: std::sync::Arc<repo::{r}::{}Repo>,",
                camel(r)
            );
        }
        s.push_str("}\n\nimpl AppState {\n    pub async fn audit(&self, id: u64) -> Result<(), anyhow::Error> {\n        let _ = id;\n        Ok(())\n    }\n\n    pub async fn expand(&self, id: u64) -> Result<Vec<u64>, anyhow::Error> {\n        Ok((0..id % 3).collect())\n    }\n}\n\n");
        s.push_str("fn app(state: AppState) -> Router {\n    Router::new()\n");
        for (i, r) in resources.iter().enumerate() {
            if i % 4 == 3 {
                let _ = writeln!(
                    s,
                    "        .nest(\"/v1\", api::{r}::router().layer(IdempotencyLayer::default()))"
                );
            } else {
                let _ = writeln!(s, "        .nest(\"/v1\", api::{r}::router())");
            }
        }
        s.push_str("        .with_state(state)\n}\n\n#[tokio::main]\nasync fn main() -> anyhow::Result<()> {\n    let listener = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await?;\n");
        let _ = writeln!(
            s,
            "    let _clients = ({});",
            clients
                .iter()
                .map(|c| format!("clients::{c}::{}Client::new(\"http://{c}\")", camel(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            s,
            "    let _jobs = [{}];",
            jobs.iter()
                .map(|j| format!("\"{j}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        s.push_str("    axum::serve(listener, app(todo!())).await?;\n    Ok(())\n}\n");
        s
    }
}

fn mod_rs(names: &[&str]) -> String {
    names.iter().map(|n| format!("pub mod {n};\n")).collect()
}

/// Writes crates into `dir` until `target_bytes` are written. Returns (files, bytes).
pub fn generate(dir: &Path, target_bytes: u64, seed: u64) -> std::io::Result<(usize, u64)> {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
    };
    let mut files = 0usize;
    let mut bytes = 0u64;
    let mut crate_no = 0;
    while bytes < target_bytes {
        let root = dir.join(format!("svc_{crate_no:04}")).join("src");
        crate_no += 1;
        let mut resources: Vec<&str> = RESOURCES
            .iter()
            .copied()
            .filter(|_| g.chance(0.4))
            .collect();
        if resources.is_empty() {
            resources.push("order");
        }
        if !resources.contains(&"order") {
            resources.push("order");
        }
        let clients: Vec<&str> = CLIENTS.iter().copied().filter(|_| g.chance(0.5)).collect();
        let jobs: Vec<&str> = JOBS.iter().copied().filter(|_| g.chance(0.4)).collect();
        let mut out: Vec<(std::path::PathBuf, String)> = vec![
            (root.join("main.rs"), g.main_rs(&resources, &clients, &jobs)),
            (root.join("api/mod.rs"), mod_rs(&resources)),
            (root.join("domain/mod.rs"), mod_rs(&resources)),
            (root.join("repo/mod.rs"), mod_rs(&resources)),
            (root.join("clients/mod.rs"), mod_rs(&clients)),
            (root.join("jobs/mod.rs"), mod_rs(&jobs)),
        ];
        for r in &resources {
            out.push((root.join(format!("api/{r}.rs")), g.api(r)));
            out.push((root.join(format!("domain/{r}.rs")), g.domain(r)));
            out.push((root.join(format!("repo/{r}.rs")), g.repo(r)));
        }
        for c in &clients {
            out.push((root.join(format!("clients/{c}.rs")), g.client(c)));
        }
        for j in &jobs {
            out.push((root.join(format!("jobs/{j}.rs")), g.job(j)));
        }
        // a few extra domain-heavy modules per crate
        let extra = g.n(2, 6);
        for k in 0..extra {
            let r = g.pick(RESOURCES);
            let name = format!("domain/{r}_rules_{k}.rs");
            out.push((root.join(name), g.domain(r)));
        }
        let mut domain_mod = mod_rs(&resources);
        for (p, _) in &out {
            if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                if stem.contains("_rules_") {
                    let _ = writeln!(domain_mod, "pub mod {stem};");
                }
            }
        }
        if let Some(slot) = out.iter_mut().find(|(p, _)| p.ends_with("domain/mod.rs")) {
            slot.1 = domain_mod;
        }
        for (p, text) in out {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            bytes += text.len() as u64;
            files += 1;
            std::fs::write(p, text)?;
        }
    }
    Ok((files, bytes))
}
