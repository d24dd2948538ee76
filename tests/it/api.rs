//! The JSON API over a real socket: accounts, tokens, keys, buckets, admin.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestServer, client_for, code_status, unique};

pub(crate) struct Api {
    base: String,
    http: Client,
}

impl Api {
    pub(crate) fn new(srv: &TestServer) -> Self {
        Self {
            base: format!("{}/v1", srv.url()),
            http: Client::new(),
        }
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn register(&self, email: &str) {
        let (s, b) = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": email, "password": "password123"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// Registers and logs in a fresh user; returns (email, access, refresh).
    pub(crate) async fn user(&self) -> (String, String, String) {
        let email = format!("{}@example.com", unique("api"));
        self.register(&email).await;
        let (s, b) = self.login(&email, "password123").await;
        assert_eq!(s, StatusCode::OK, "{b}");
        (
            email,
            b["access_token"].as_str().unwrap().to_owned(),
            b["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

pub(crate) fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn register_login_me_and_errors() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let email = format!("{}@example.com", unique("reg"));
    api.register(&email).await;
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": email.to_uppercase(), "password": "password123"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "email_taken"));
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "not-an-email", "password": "password123"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "x@example.com", "password": "short"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "x@example.com"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "invalid_json"));

    // A wrong password and an unknown email answer identically.
    let wrong = api.login(&email, "wrong-password").await;
    let unknown = api.login("nobody@example.com", "password123").await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
    assert_eq!(code(&wrong.1), "invalid_credentials");

    let (s, tokens) = api.login(&email, "password123").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let (s, me) = api.call(Method::GET, "/me", Some(access), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["is_admin"], false);

    let (s, b) = api.call(Method::GET, "/me", None, None).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let mut tampered = access.to_owned();
    tampered.replace_range(tampered.len() - 3.., "AAA");
    let (s, _) = api.call(Method::GET, "/me", Some(&tampered), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // alg: none with the same claims.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = access.split('.').nth(1).unwrap();
    let none = format!("{}.{claims}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#));
    let (s, _) = api.call(Method::GET, "/me", Some(&none), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn access_tokens_expire() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_AUTH_ACCESS_TOKEN_TTL", "1s")]).await;
    let api = Api::new(&srv);
    let (_, access, _) = api.user().await;
    assert_eq!(
        api.call(Method::GET, "/me", Some(&access), None).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, b) = api.call(Method::GET, "/me", Some(&access), None).await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token expired"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let (_, _, first) = api.user().await;
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": first})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let second = b["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(
        api.call(Method::GET, "/me", b["access_token"].as_str(), None).await.0,
        StatusCode::OK
    );

    // The rotated token comes back: someone replayed it. Both it and its successor die.
    let (s, b) = api
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": first})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "invalid_refresh_token"));
    let (s, _) = api
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": second})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Logout revokes a session.
    let (_, _, r) = api.user().await;
    let (s, _) = api
        .call(Method::POST, "/auth/logout", None, Some(json!({"refresh_token": r})))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api
        .call(Method::POST, "/auth/refresh", None, Some(json!({"refresh_token": r})))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let stored: i64 = sqlx::query_scalar("select count(*) from refresh_tokens where token_hmac = $1")
        .bind(r.as_bytes())
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "refresh tokens are stored only as HMACs");
}

#[tokio::test]
async fn failed_logins_are_throttled_across_the_account() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_LOGIN_MAX_FAILURES", "3")]).await;
    let api = Api::new(&srv);
    let (email, _, _) = api.user().await;
    for _ in 0..3 {
        assert_eq!(api.login(&email, "wrong-password").await.0, StatusCode::UNAUTHORIZED);
    }
    let (s, b) = api.login(&email, "password123").await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
}

/// A login from a client address, as a trusted load balancer forwards it.
async fn login_from(api: &Api, addr: &str, email: &str, password: &str) -> (StatusCode, Value) {
    let resp = api
        .http
        .post(format!("{}/auth/login", api.base))
        .header("x-forwarded-for", addr)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// OWASP: throttle the attacker, not the crowd. Behind one address (a NAT, a proxy), a
/// brute force against one account is stopped while the other accounts there still log in;
/// spraying many accounts from that address is stopped too, except for accounts known to
/// log in from it; one account guessed from many addresses is stopped across them.
#[tokio::test]
async fn login_throttling_stops_the_attacker_not_the_crowd() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_LOGIN_MAX_FAILURES", "3"),
            ("GODRIVE_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await;
    let api = Api::new(&srv);
    let office = "198.51.100.7";
    let (victim, colleague, regular) = (
        format!("{}@example.com", unique("victim")),
        format!("{}@example.com", unique("colleague")),
        format!("{}@example.com", unique("regular")),
    );
    for e in [&victim, &colleague, &regular] {
        api.register(e).await;
    }
    // The regular logs in from the office every day.
    assert_eq!(
        login_from(&api, office, &regular, "password123").await.0,
        StatusCode::OK
    );

    // Guessing the victim's password from the office: stopped after 3...
    for _ in 0..3 {
        assert_eq!(
            login_from(&api, office, &victim, "guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (s, b) = login_from(&api, office, &victim, "password123").await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
    // ...while a colleague behind the same address logs in,
    assert_eq!(
        login_from(&api, office, &colleague, "password123").await.0,
        StatusCode::OK
    );
    // and the victim from home too.
    assert_eq!(
        login_from(&api, "203.0.113.50", &victim, "password123").await.0,
        StatusCode::OK
    );

    // Spraying from the office across many accounts (ten times the limit): accounts not
    // known at the office are refused there, the regular still gets in.
    let mut refused_at = None;
    for i in 0..40 {
        let (s, _) = login_from(&api, office, &format!("spray{i}@example.com"), "Winter2026!").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(i);
            break;
        }
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // 30 failures from the office in all, the 3 against the victim included.
    assert_eq!(refused_at, Some(27), "spraying was not stopped at ten times the limit");
    let newcomer = format!("{}@example.com", unique("newcomer"));
    api.register(&newcomer).await;
    let (s, b) = login_from(&api, office, &newcomer, "password123").await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
    assert_eq!(
        login_from(&api, office, &regular, "password123").await.0,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&api, "203.0.113.51", &newcomer, "password123").await.0,
        StatusCode::OK
    );

    // One account guessed from many addresses: stopped everywhere after ten times the limit.
    for i in 0..30 {
        let (s, _) = login_from(&api, &format!("192.0.2.{}", i + 1), &colleague, "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (s, _) = login_from(&api, "192.0.2.200", &colleague, "password123").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

/// `X-Forwarded-For` counts only from a peer in `GODRIVE_TRUSTED_PROXIES`: from anyone else
/// it is ignored, so a client cannot pick the address its failures are counted under.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_LOGIN_MAX_FAILURES", "3")]).await;
    let api = Api::new(&srv);
    let email = format!("{}@example.com", unique("xff"));
    api.register(&email).await;
    // Each attempt claims a new address; all are counted under the socket's (127.0.0.1).
    for i in 0..3 {
        let (s, _) = login_from(&api, &format!("192.0.2.{i}"), &email, "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, b) = login_from(&api, "192.0.2.99", &email, "password123").await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
}

/// Registration costs a bcrypt hash: it is throttled per client address.
#[tokio::test]
async fn registration_is_throttled_per_client_address() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_REGISTER_MAX_PER_HOUR", "3"),
            ("GODRIVE_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let api = Api::new(&srv);
    let register_from = |addr: &'static str| {
        let (http, base) = (api.http.clone(), api.base.clone());
        async move {
            let resp = http
                .post(format!("{base}/auth/register"))
                .header("x-forwarded-for", addr)
                .json(&json!({"email": format!("{}@example.com", unique("many")), "password": "password123"}))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for _ in 0..3 {
        assert_eq!(register_from("198.51.100.1").await.0, StatusCode::CREATED);
    }
    let (s, b) = register_from("198.51.100.1").await;
    assert_eq!((s, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
    assert_eq!(register_from("198.51.100.2").await.0, StatusCode::CREATED);
}

/// Passwords are never silently truncated (bcrypt reads 72 bytes); emails have one form
/// (NFKC, trimmed, lower-cased), so a look-alike cannot sit beside an existing account, and
/// invisible characters are refused. Bad input is a 400, never a 500.
#[tokio::test]
async fn passwords_are_not_truncated_and_emails_have_one_form() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let reg = |email: String, password: String| {
        let api = &api;
        async move {
            api.call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await
        }
    };
    let local = unique("admin");
    let email = format!("{local}@example.com");
    let long = "x".repeat(73);
    let (s, b) = reg(email.clone(), long.clone()).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
    // 72 bytes is the most, counted in bytes: 24 euro signs are 72, 25 are 75.
    let (s, b) = reg(email.clone(), "€".repeat(25)).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
    let exact = "€".repeat(24);
    let (s, b) = reg(email.clone(), exact.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["email"], email);
    assert_eq!(api.login(&email, &exact).await.0, StatusCode::OK);

    // The fullwidth twin, an uppercase and padded twin: the same account.
    let fullwidth: String = local
        .chars()
        .map(|c| match c {
            'a'..='z' => char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap(),
            other => other,
        })
        .collect();
    for twin in [
        format!("{fullwidth}@example.com"),
        format!("  {}@EXAMPLE.com ", local.to_uppercase()),
    ] {
        let (s, b) = reg(twin.clone(), "password123".into()).await;
        assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "email_taken"), "{twin}: {b}");
        assert_eq!(api.login(&twin, &exact).await.0, StatusCode::OK, "{twin}");
    }
    for hidden in [
        format!("{local}\u{200B}@example.com"),
        format!("\u{FEFF}{local}@example.com"),
        format!("{local}\u{0000}@example.com"),
        format!("{local}\u{0007}@example.com"),
        format!("{local}@exa\u{00AD}mple.com"),
    ] {
        let (s, b) = reg(hidden.clone(), "password123".into()).await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "validation_error"),
            "{hidden:?}: {b}"
        );
        let (s, b) = api.login(&hidden, "password123").await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "validation_error"),
            "{hidden:?}: {b}"
        );
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from users where lower(email) like $1")
        .bind(format!("%{local}%"))
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// A hash made before the 72-byte rule (a longer password, as bcrypt truncated it) still
/// logs in.
#[tokio::test]
async fn hashes_made_before_the_password_rule_keep_working() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let email = format!("{}@example.com", unique("old"));
    let old_password = "p".repeat(100);
    let hash = godrive::accounts::crypto::hash_password(&old_password, 4).unwrap();
    godrive::db::users::create(&srv.state.db, &email, &hash, false, None)
        .await
        .unwrap();
    assert_eq!(api.login(&email, &old_password).await.0, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_shown_once_work_for_s3_and_die_when_deleted() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let (_, access, _) = api.user().await;
    let (s, key) = api
        .call(Method::POST, "/keys", Some(&access), Some(json!({"name": "laptop"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (id, key_id, secret) = (
        key["id"].as_str().unwrap().to_owned(),
        key["access_key_id"].as_str().unwrap().to_owned(),
        key["secret_access_key"].as_str().unwrap().to_owned(),
    );
    let (_, list) = api.call(Method::GET, "/keys", Some(&access), None).await;
    let item = &list["items"][0];
    assert_eq!(item["access_key_id"], key_id.as_str());
    assert!(item.get("secret_access_key").is_none());
    assert!(item["last_used_at"].is_null());

    // The aws cli can use it right away (run off the runtime that serves it).
    let (url, kid, sec) = (srv.url(), key_id.clone(), secret.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("aws")
            .args(["--endpoint-url", &url, "s3", "mb", &format!("s3://{}", unique("cli"))])
            .env("AWS_ACCESS_KEY_ID", kid)
            .env("AWS_SECRET_ACCESS_KEY", sec)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut used = false;
    for _ in 0..50 {
        let (_, list) = api.call(Method::GET, "/keys", Some(&access), None).await;
        if !list["items"][0]["last_used_at"].is_null() {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(used, "last_used_at is set after an S3 request");

    // Someone else cannot delete it; its owner can, and S3 refuses it at once.
    let (_, other, _) = api.user().await;
    let (s, _) = api
        .call(Method::DELETE, &format!("/keys/{id}"), Some(&other), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .call(Method::DELETE, &format!("/keys/{id}"), Some(&access), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let s3 = client_for(&srv.url(), &key_id, &secret);
    assert_eq!(
        code_status(s3.list_buckets().send().await),
        ("InvalidAccessKeyId".into(), 403)
    );
}

#[tokio::test]
async fn buckets_are_private_and_deleting_one_removes_its_objects() {
    let srv = TestServer::start(Backend::Fs).await;
    let api = Api::new(&srv);
    let (_, access, _) = api.user().await;
    let name = unique("jsonb");
    let (s, b) = api
        .call(Method::POST, "/buckets", Some(&access), Some(json!({"name": name})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    let (s, b) = api
        .call(Method::POST, "/buckets", Some(&access), Some(json!({"name": name})))
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "bucket_name_taken"));
    let (s, b) = api
        .call(
            Method::POST,
            "/buckets",
            Some(&access),
            Some(json!({"name": "Bad_Name"})),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));
    let (_, list) = api.call(Method::GET, "/buckets", Some(&access), None).await;
    assert_eq!(list["items"][0]["name"], name.as_str());
    assert_eq!(
        api.call(Method::GET, &format!("/buckets/{id}"), Some(&access), None)
            .await
            .0,
        StatusCode::OK
    );

    let (_, other, _) = api.user().await;
    for method in [Method::GET, Method::DELETE] {
        let (s, b) = api.call(method, &format!("/buckets/{id}"), Some(&other), None).await;
        assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
    }
    assert_eq!(
        api.call(Method::GET, "/buckets/not-a-uuid", Some(&access), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Objects put through S3 go with the bucket, bytes included.
    let (_, key) = api
        .call(Method::POST, "/keys", Some(&access), Some(json!({"name": "s3"})))
        .await;
    let s3 = client_for(
        &srv.url(),
        key["access_key_id"].as_str().unwrap(),
        key["secret_access_key"].as_str().unwrap(),
    );
    s3.put_object()
        .bucket(&name)
        .key("a")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    s3.create_multipart_upload()
        .bucket(&name)
        .key("m")
        .send()
        .await
        .unwrap();
    let (s, _) = api
        .call(Method::DELETE, &format!("/buckets/{id}"), Some(&access), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(code_status(s3.head_bucket().bucket(&name).send().await).1, 404);
    assert_eq!(srv.object_rows().await, 0);
    assert_eq!(srv.open_uploads().await, (0, 0));
    srv.assert_no_orphans().await;
}

#[tokio::test]
async fn admin_routes_and_disabling_a_user_everywhere() {
    let srv = TestServer::start_with(
        Backend::Fs,
        &[
            ("GODRIVE_ADMIN_EMAIL", "root@example.com"),
            ("GODRIVE_ADMIN_PASSWORD", "admin-password"),
        ],
    )
    .await;
    let api = Api::new(&srv);
    let (s, b) = api.login("root@example.com", "admin-password").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let admin = b["access_token"].as_str().unwrap().to_owned();
    let (email, user, _) = api.user().await;

    let (s, b) = api.call(Method::GET, "/admin/users", Some(&user), None).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, b) = api.call(Method::GET, "/admin/users", None, None).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    let (s, page) = api.call(Method::GET, "/admin/users?limit=1", Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, next) = api
        .call(
            Method::GET,
            &format!("/admin/users?limit=10&cursor={cursor}"),
            Some(&admin),
            None,
        )
        .await;
    let emails: Vec<_> = next["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&email.as_str()), "{emails:?}");
    let user_id = next["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, one) = api
        .call(Method::GET, &format!("/admin/users/{user_id}"), Some(&admin), None)
        .await;
    assert_eq!((s, one["email"].as_str()), (StatusCode::OK, Some(email.as_str())));

    let (_, key) = api
        .call(Method::POST, "/keys", Some(&user), Some(json!({"name": "s3"})))
        .await;
    let s3 = client_for(
        &srv.url(),
        key["access_key_id"].as_str().unwrap(),
        key["secret_access_key"].as_str().unwrap(),
    );
    s3.list_buckets().send().await.unwrap();

    let (s, b) = api
        .call(
            Method::PATCH,
            &format!("/admin/users/{user_id}"),
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!((s, b["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, b) = api.call(Method::GET, "/me", Some(&user), None).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "account_disabled"));
    assert_eq!(
        code_status(s3.list_buckets().send().await),
        ("InvalidAccessKeyId".into(), 403)
    );

    let (s, _) = api
        .call(
            Method::PATCH,
            &format!("/admin/users/{user_id}"),
            Some(&admin),
            Some(json!({"disabled": false, "is_admin": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        api.call(Method::GET, "/admin/users", Some(&user), None).await.0,
        StatusCode::OK
    );
    s3.list_buckets().send().await.unwrap();
    let (s, _) = api
        .call(
            Method::PATCH,
            &format!("/admin/users/{}", uuid::Uuid::new_v4()),
            Some(&admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let srv = TestServer::start_with(Backend::Fs, &[("ALLOW_CORS_ORIGINS", "http://app.example")]).await;
    let http = Client::new();
    let preflight = |origin: &'static str| {
        http.request(Method::OPTIONS, format!("{}/v1/auth/login", srv.url()))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("http://app.example").await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").unwrap(),
        "http://app.example"
    );
    let other = preflight("http://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// The served document is generated from the routes; every operation in it is routed (no
/// "route not found"), and `docs/openapi.json` is the same document (regenerate it with
/// `UPDATE_OPENAPI=1 cargo test openapi`).
#[tokio::test]
async fn openapi_document_matches_the_routes_and_the_committed_copy() {
    let srv = TestServer::start(Backend::Fs).await;
    let http = Client::new();
    let doc: Value = http
        .get(format!("{}/v1/openapi.json", srv.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/keys",
        "/v1/keys/{id}",
        "/v1/buckets",
        "/v1/buckets/{id}",
        "/v1/buckets/{bucket_id}/files",
        "/v1/buckets/{bucket_id}/files/{file_id}",
        "/v1/buckets/{bucket_id}/files/{file_id}/content",
        "/v1/admin/users",
        "/v1/admin/users/{id}",
        "/v1/health/live",
        "/v1/health/ready",
    ] {
        assert!(paths.contains_key(expected), "{expected} missing from the document");
    }
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::new_v4().to_string()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            operations += 1;
            let resp = http
                .request(m, format!("{}{concrete}", srv.url()))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == StatusCode::NOT_FOUND && body["error"]["message"] == "route not found"),
                "{method} {path} is documented but not routed"
            );
            assert!(!status.is_server_error(), "{method} {path} answered {status}");
        }
    }
    assert!(operations >= 20, "{operations}");

    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let generated = serde_json::to_string_pretty(&godrive::api::openapi()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(committed).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test openapi"
    );
    let served: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(served, doc);
}
