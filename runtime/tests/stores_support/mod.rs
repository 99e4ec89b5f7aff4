//! Real Redis and PostgreSQL servers for the store tests: the machine's running services when
//! they answer, else private instances started in a temp dir on a free port. Tests that kill a
//! server always start their own. Without a server binary a test is skipped with a printed
//! reason — or, with `CI=true`, fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A name no other test (process) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let extra = [
        "/usr/lib/postgresql/17/bin",
        "/usr/lib/postgresql/16/bin",
        "/usr/lib/postgresql/15/bin",
    ];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// No server for this test: fail under CI, else say so and skip.
pub fn unavailable(what: &str, why: &str) {
    let msg = format!("{what} is not available ({why})");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true: {msg}");
    }
    // Straight to stderr: the test harness captures eprintln! of passing tests, and a skip
    // must never be silent.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {msg}; run scripts/test to set servers up"
    );
}

// ---------------------------------------------------------------- Redis

pub struct PrivateRedis {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    persistent: bool,
}

impl PrivateRedis {
    /// Starts a private `redis-server`; `None` (after [`unavailable`]) without the binary.
    pub fn start() -> Option<Self> {
        Self::start_with(false)
    }

    /// Like [`start`](Self::start), with an fsync-always append-only file, so records survive
    /// a SIGKILL and a restart (how a fleet's idempotency Redis should run).
    pub fn start_persistent() -> Option<Self> {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Option<Self> {
        let Some(bin) = which("redis-server") else {
            unavailable("redis-server", "not on PATH");
            return None;
        };
        let mut r = PrivateRedis {
            port: free_port(),
            dir: temp_dir("idemgate-redis"),
            child: None,
            persistent,
        };
        r.spawn(&bin);
        Some(r)
    }

    fn spawn(&mut self, bin: &std::path::Path) {
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--daemonize", "no"])
            .args(if self.persistent {
                ["--appendonly", "yes", "--appendfsync", "always"]
            } else {
                ["--appendonly", "no", "--appendfsync", "no"]
            })
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers(self.port) {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port (empty: it keeps nothing on disk).
    pub fn restart(&mut self) {
        self.kill();
        let bin = which("redis-server").expect("redis-server");
        self.spawn(&bin);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis for a test that does not kill it: `IDEMGATE_TEST_REDIS_URL`, the machine's
/// 127.0.0.1:6379, or a private one (kept alive by the returned guard).
pub fn redis() -> Option<(String, Option<PrivateRedis>)> {
    if let Ok(url) = std::env::var("IDEMGATE_TEST_REDIS_URL") {
        return Some((url, None));
    }
    if answers(6379) {
        return Some(("redis://127.0.0.1:6379/".into(), None));
    }
    let private = PrivateRedis::start()?;
    Some((private.url(), Some(private)))
}

// ---------------------------------------------------------------- PostgreSQL

pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    running: bool,
}

fn as_postgres_user(cmd: &mut Command) -> Command {
    // initdb and postgres refuse to run as root.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root {
        return std::mem::replace(cmd, Command::new("true"));
    }
    let mut wrapped = Command::new("runuser");
    wrapped.args(["-u", "postgres", "--"]);
    wrapped.arg(cmd.get_program());
    wrapped.args(cmd.get_args());
    wrapped
}

impl PrivatePostgres {
    /// `initdb` + `pg_ctl start` in a temp dir; `None` (after [`unavailable`]) without them.
    pub fn start() -> Option<Self> {
        let (Some(initdb), Some(_)) = (which("initdb"), which("pg_ctl")) else {
            unavailable("PostgreSQL (initdb, pg_ctl)", "not on PATH");
            return None;
        };
        let dir = temp_dir("idemgate-pg");
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        let data = dir.join("data");
        let out = as_postgres_user(
            Command::new(&initdb)
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&data),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = PrivatePostgres {
            port: free_port(),
            dir,
            running: false,
        };
        pg.pg_ctl_start();
        Some(pg)
    }

    fn pg_ctl_start(&mut self) {
        let pg_ctl = which("pg_ctl").expect("pg_ctl");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -F -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let out = as_postgres_user(
            Command::new(pg_ctl)
                .args(["start", "-w", "-t", "30", "-D"])
                .arg(self.dir.join("data"))
                .arg("-l")
                .arg(self.dir.join("log"))
                .args(["-o", &opts]),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.running = true;
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// An abrupt stop (`pg_ctl stop -m immediate`: SIGQUIT, no checkpoint, crash recovery on
    /// the next start); open connections break at once.
    pub fn kill(&mut self) {
        if !self.running {
            return;
        }
        let pg_ctl = which("pg_ctl").expect("pg_ctl");
        let _ = as_postgres_user(
            Command::new(pg_ctl)
                .args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(self.dir.join("data")),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
        self.running = false;
    }

    pub fn restart(&mut self) {
        self.kill();
        self.pg_ctl_start();
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            if let Some(pg_ctl) = which("pg_ctl") {
                let _ = as_postgres_user(
                    Command::new(pg_ctl)
                        .args(["stop", "-m", "immediate", "-D"])
                        .arg(self.dir.join("data")),
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL for a test that does not kill it: `IDEMGATE_TEST_DATABASE_URL`, the machine's
/// 127.0.0.1:5432 (database `test`), or a private one (kept alive by the returned guard).
pub fn postgres() -> Option<(String, Option<PrivatePostgres>)> {
    if let Ok(url) = std::env::var("IDEMGATE_TEST_DATABASE_URL") {
        return Some((url, None));
    }
    if answers(5432) {
        return Some(("postgres://postgres@127.0.0.1:5432/test".into(), None));
    }
    let private = PrivatePostgres::start()?;
    Some((private.url(), Some(private)))
}
