//! The JSON routes of the OpenAPI document, each parameter and body field in turn.

use super::*;

/// Bodies that are not the JSON a route takes.
fn malformed_json() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = [
        "",
        "{",
        "{\"a\":",
        "null",
        "[]",
        "\"str\"",
        "{} trailing",
        "{\"a\":\"\\u0000\"",
        "{\"a\":\"\\ud800\"}",
    ]
    .iter()
    .map(|s| ((*s).to_owned(), s.as_bytes().to_vec()))
    .collect();
    v.push(("invalid UTF-8".into(), b"{\"name\":\"\xff\xfe\"}".to_vec()));
    v.push(("raw NUL".into(), b"{\"name\":\"a\0b\"}".to_vec()));
    v.push((
        "10000 levels".into(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
    ));
    v.push((
        "3 MiB".into(),
        format!("{{\"name\":\"{}\"}}", "a".repeat(3 << 20)).into_bytes(),
    ));
    v
}

/// The routes whose JSON body holds an email and a password. Their rules belong to the
/// account work of issue 14 point 5; [`json_emails_never_answer_5xx`] fuzzes them.
const ACCOUNT_ROUTES: [&str; 2] = ["POST /auth/register", "POST /auth/login"];

/// A valid body for every JSON route that takes one; the fuzz changes one field at a time.
fn baseline_bodies(w: &World) -> BTreeMap<&'static str, Value> {
    [
        (
            "POST /auth/register",
            json!({"email": "fuzzer@example.com", "password": "password123"}),
        ),
        (
            "POST /auth/login",
            json!({"email": "fuzzer@example.com", "password": "password123"}),
        ),
        ("POST /auth/refresh", json!({"refresh_token": "not-a-token"})),
        ("POST /auth/logout", json!({"refresh_token": "not-a-token"})),
        ("POST /buckets", json!({"name": unique("fuzzjson")})),
        (
            "PUT /buckets/{id}/quota",
            json!({"max_bytes": null, "max_objects": null}),
        ),
        ("PUT /buckets/{id}/public", json!({"public": false})),
        ("PUT /buckets/{id}/lifecycle", json!({"rules": []})),
        ("PUT /buckets/{id}/versioning", json!({"status": "suspended"})),
        ("POST /keys", json!({"name": "fuzz key"})),
        (
            "POST /presign",
            json!({"bucket": w.bucket, "key": "keep", "method": "GET", "expires_in": 60}),
        ),
        ("PATCH /admin/users/{id}", json!({"is_admin": false, "disabled": false})),
        ("PUT /admin/users/{id}/quota", json!({"quota_bytes": null})),
        ("POST /buckets/{bucket_id}/uploads", json!({"key": "fuzz-upload"})),
        (
            "POST /buckets/{bucket_id}/uploads/{upload_id}/complete",
            json!({"parts": [{"number": 1, "etag": "00"}]}),
        ),
        (
            "PUT /admin/buckets/{id}/quota",
            json!({"max_bytes": null, "max_objects": null}),
        ),
    ]
    .into_iter()
    .collect()
}

/// `path` (from the document, without `/v1`) with real ids, except `hostile` in `param`.
fn fill(path: &str, w: &World, hostile: Option<(&str, &str)>) -> String {
    let mut out = Vec::new();
    for seg in path.split('/') {
        let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            out.push(seg.to_owned());
            continue;
        };
        if let Some((p, v)) = hostile
            && p == name
        {
            out.push(v.to_owned());
            continue;
        }
        let real = match (name, out.last().map(String::as_str)) {
            ("bucket_id", _) | ("id", Some("buckets")) => &w.bucket_id,
            ("file_id", _) => &w.file_id,
            ("version_id", _) => &w.version_id,
            ("upload_id", _) => &w.upload_id,
            ("number", _) => {
                out.push("1".to_owned());
                continue;
            }
            ("id", Some("keys")) => &w.key_id,
            ("id", Some("presign")) => &w.link_id,
            ("id", Some("users")) => &w.other_user,
            _ => panic!("no real value for {{{name}}} in {path}"),
        };
        out.push(real.clone());
    }
    format!("/v1{}", out.join("/"))
}

/// Every case for the JSON routes of the OpenAPI document, `only` the account routes or
/// all the others.
pub(super) fn json_cases(w: &World, accounts: bool) -> Vec<Case> {
    let doc = serde_json::to_value(godrive::api::openapi()).unwrap();
    let baselines = baseline_bodies(w);
    let bearer = Auth::Bearer(w.token.clone());
    let mut cases = Vec::new();
    let mut with_body = BTreeSet::new();
    for (full_path, item) in doc["paths"].as_object().unwrap() {
        let path = full_path.strip_prefix("/v1").unwrap();
        for (method, op) in item.as_object().unwrap() {
            let method: &'static str = match method.as_str() {
                "get" => "GET",
                "post" => "POST",
                "put" => "PUT",
                "patch" => "PATCH",
                "delete" => "DELETE",
                _ => continue,
            };
            let route = format!("{method} {path}");
            if ACCOUNT_ROUTES.contains(&route.as_str()) != accounts {
                continue;
            }
            let params: Vec<(String, String)> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                p["name"].as_str().unwrap().to_owned(),
                                p["in"].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let content = &op["requestBody"]["content"];
            let json_body = content.get("application/json").map(|c| {
                with_body.insert(route.clone());
                let baseline = baselines
                    .get(route.as_str())
                    .unwrap_or_else(|| panic!("{route} takes a JSON body: give it a baseline"))
                    .clone();
                let schema = c["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                let fields: BTreeSet<String> = doc["components"]["schemas"][schema]["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .chain(baseline.as_object().unwrap().keys().cloned())
                    .chain(["unknown_field".to_owned()])
                    .collect();
                (baseline, fields)
            });
            let with_json = |c: Case, body: &Value| {
                c.header("content-type", "application/json")
                    .body(serde_json::to_vec(body).unwrap())
            };
            let base = |label: String, target: String| {
                let c = Case::new(label, method, target, bearer.clone());
                match &json_body {
                    Some((b, _)) => with_json(c, b),
                    None => c,
                }
            };
            // Path parameters: each hostile value in place of each real id.
            for (name, _) in params.iter().filter(|(_, at)| at == "path") {
                for v in url_values() {
                    let target = fill(path, w, Some((name, &v)));
                    cases.push(base(format!("{route} {{{name}}}={v}"), target));
                }
            }
            // Nothing below runs a DELETE on the real resources.
            if method == "DELETE" {
                continue;
            }
            let real = fill(path, w, None);
            // Query parameters (an unknown one too), one at a time.
            let query: Vec<&str> = params
                .iter()
                .filter(|(_, at)| at == "query")
                .map(|(n, _)| n.as_str())
                .chain(["unknown"])
                .collect();
            for name in query {
                // A parameter no route reads gets a few values only.
                let values = if name == "unknown" {
                    vec![
                        "%00".to_owned(),
                        "%0D%0A".to_owned(),
                        "%FF".to_owned(),
                        "a".repeat(5000),
                    ]
                } else {
                    url_values()
                };
                for v in values {
                    cases.push(base(format!("{route} ?{name}={v}"), format!("{real}?{name}={v}")));
                }
            }
            for (name, _) in params.iter().filter(|(_, at)| at == "header") {
                for v in header_values() {
                    cases.push(base(format!("{route} {name}: {v}"), real.clone()).header(name, &v));
                }
            }
            if let Some((baseline, fields)) = &json_body {
                for field in fields {
                    for v in json_values() {
                        let mut body = baseline.clone();
                        body[field.as_str()] = v.clone();
                        let c = Case::new(format!("{route} {field}={v}"), method, real.clone(), bearer.clone());
                        cases.push(with_json(c, &body));
                    }
                }
                for (what, raw) in malformed_json() {
                    let label: String = what.chars().take(40).collect();
                    cases.push(
                        Case::new(format!("{route} body {label:?}"), method, real.clone(), bearer.clone())
                            .header("content-type", "application/json")
                            .body(raw),
                    );
                }
            }
            if content.get("multipart/form-data").is_some() {
                cases.extend(upload_cases(&route, &real, &bearer));
            }
        }
    }
    if !accounts {
        let expected: BTreeSet<String> = baselines
            .keys()
            .filter(|r| !ACCOUNT_ROUTES.contains(r))
            .map(|r| (*r).to_owned())
            .collect();
        assert_eq!(with_body, expected, "every JSON body route has a baseline");
    }
    cases
}

/// The JSON upload form: hostile keys, file names, part types and broken forms.
fn upload_cases(route: &str, target: &str, bearer: &Auth) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut push = |label: String, ctype: String, body: Vec<u8>| {
        cases.push(
            Case::new(format!("{route} {label}"), "POST", target, bearer.clone())
                .header("content-type", &ctype)
                .body(body),
        );
    };
    for v in json_values() {
        let text = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (ct, body) = form(&[("key", text.as_bytes())], Some(("f.txt", "text/plain", b"x")));
        push(format!("key={v}"), ct, body);
    }
    for name in ["a%00b", "..", "", "é.txt", "tab\there", "\u{7f}"] {
        let (ct, body) = form(&[], Some((name, "text/plain", b"x")));
        push(format!("filename={name:?}"), ct, body);
    }
    for ctype in ["", "garbage", "text/plain; charset=\u{7f}", "a/b; x=\"", "é/é"] {
        let (ct, body) = form(&[("key", b"typed")], Some(("f.txt", ctype, b"x")));
        push(format!("part type {ctype:?}"), ct, body);
    }
    let (ct, body) = form(&[("key", b"k")], None);
    push("no file".into(), ct.clone(), body);
    let (_, full) = form(&[("key", b"k")], Some(("f.txt", "text/plain", b"xyz")));
    push("truncated form".into(), ct.clone(), full[..full.len() / 2].to_vec());
    push("no boundary".into(), "multipart/form-data".into(), b"--x\r\n".to_vec());
    push("not a form".into(), "application/json".into(), b"{}".to_vec());
    push("garbage form".into(), ct, b"\0\0\0\r\n--\r\n".to_vec());
    cases
}
