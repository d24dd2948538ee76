//! The `godrive` binary as operators run it: one database and one data directory shared by
//! any number of `godrive serve` processes and the bootstrap commands.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{base_env, drop_database};

pub const BIN: &str = env!("CARGO_BIN_EXE_godrive");

/// A database and a data directory, dropped with it.
pub struct Deployment {
    pub db: String,
    pub data: tempfile::TempDir,
    /// Settings over the defaults (another PostgreSQL, say).
    pub env: Vec<(String, String)>,
}

/// A running `godrive serve`; stopped with SIGTERM when dropped.
pub struct Instance {
    child: std::process::Child,
    pub port: u16,
}

impl Instance {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, as a crash: nothing is flushed or finished.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, without waiting: the server drains in-flight requests and exits.
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }

    /// Whether the process exits within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Deployment {
    pub fn new(prefix: &str) -> Self {
        Self {
            db: format!("godrive_it_{prefix}_{}", uuid::Uuid::new_v4().simple()),
            data: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// `godrive` with this deployment's settings and no others from the environment.
    pub fn command(&self, port: u16) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(base_env(&self.db))
            .env("GODRIVE_DATA_DIR", self.data.path())
            .env("GODRIVE_API_PORT", port.to_string())
            .env("GODRIVE_BIND_ADDR", "127.0.0.1")
            // Several instances run at once: each takes any free metrics port.
            .env("GODRIVE_METRICS_ADDR", "127.0.0.1:0")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs a command to completion (off the async runtime) and returns its stdout; panics
    /// with its output if it fails.
    pub async fn run(&self, args: &[&str]) -> String {
        let mut c = self.command(0);
        c.args(args);
        let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "godrive {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Starts `godrive serve` on a free port and waits until it is ready.
    pub async fn serve(&self) -> Instance {
        self.serve_with(&[], None).await
    }

    /// The same, with JSON logs at `level` (stdout and stderr) written to `log`.
    pub async fn serve_logged(&self, log: &std::path::Path, level: &str) -> Instance {
        let env = [("GODRIVE_LOG_FORMAT", "json"), ("GODRIVE_LOG_LEVEL", level)];
        self.serve_with(&env, Some(log)).await
    }

    /// Starts `godrive serve` with extra settings, its output written to `log` if given.
    pub async fn serve_with(&self, env: &[(&str, &str)], log: Option<&std::path::Path>) -> Instance {
        let port = free_port();
        let (stdout, stderr) = match log {
            Some(path) => {
                let f = std::fs::File::create(path).unwrap();
                (Stdio::from(f.try_clone().unwrap()), Stdio::from(f))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = self
            .command(port)
            .envs(env.iter().copied())
            .arg("serve")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let instance = Instance { child, port };
        let ready = format!("{}/v1/health/ready", instance.url());
        if crate::common::becomes_ready(&ready, 150).await {
            return instance;
        }
        let log = log
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default();
        panic!("godrive serve on port {port} did not become ready\n{log}");
    }

    /// Creates a user and an access key with the CLI; returns (access key id, secret).
    pub async fn user_with_key(&self, email: &str) -> (String, String) {
        self.run(&["user", "create", "--email", email, "--password", "process-test-pw"])
            .await;
        credentials_in(&self.run(&["key", "create", "--user", email]).await)
    }

    /// A connection pool to the deployment's database, for checks.
    pub async fn pool(&self) -> sqlx::PgPool {
        let mut env = base_env(&self.db);
        env.extend(self.env.iter().cloned());
        let config = godrive::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        godrive::db::connect(&config.database).await.unwrap()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        drop_database(self.db.clone());
    }
}

/// The access key id and secret in what `godrive key create` printed.
pub fn credentials_in(text: &str) -> (String, String) {
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {text}"))
            .to_owned()
    };
    (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
}
